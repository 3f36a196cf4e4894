/**
 * The entry schema: the ONE definition of what the document's root array holds and how an element is recognised.
 *
 * Every write pushes one entry `{ n, k, v, x, t, c, a, e }` into the root array {@link ENTRIES_ROOT} (short names:
 * they are repeated in every entry). The same array also holds history records (`versions/record.ts`, which carry an
 * author `a` but no namespace and key) and the compacted history base (`versions/base.ts`). Three readers need to tell
 * them apart, and do it here:
 * - the key-value store indexes {@link isStoredEntry} elements (complete, well-typed entries) and ignores the rest;
 * - the authorisation check (`security/writers.ts`) treats every element that {@link namesKey} as an entry (so a
 *   half-formed entry cannot dodge the author checks by a wrong field type), of any {@link asRecord} element;
 * - the client registry (`security/client-registry.ts`) binds client ids from {@link authorOf}.
 *
 * @module
 */
import type { JsonValue } from './json.js'

/** Name of the root `Y.Array` that holds every entry (and every history record). */
export const ENTRIES_ROOT = 'entries'

/** One write as stored in the document. Short field names: they are repeated in every entry. */
export interface StoredEntry {
  /** namespace */
  readonly n: string
  /** key */
  readonly k: string
  /** value (absent on a tombstone) */
  readonly v?: JsonValue
  /** 1 on a tombstone (the key was deleted) */
  readonly x?: 1
  /** hybrid timestamp: milliseconds */
  readonly t: number
  /** hybrid timestamp: counter */
  readonly c: number
  /** author: peer id of the writer */
  readonly a: string
  /** the author's writer epoch: the entry's Yjs client id is `clientIdFor(a, e)` (security, `security/writers.ts`) */
  readonly e?: number
  /**
   * 1 on a recorded entry: a history record (`versions/record.ts`), and after pruning the compacted base, reads its
   * value from this entry instead of holding a copy. Such an entry is NOT deleted when a newer write replaces it or
   * wins over it; history pruning deletes it once nothing refers to it (`versions/prune.ts`).
   */
  readonly h?: 1
}

/** Whether an entry may be deleted as soon as it is replaced or loses (it is not a recorded entry). */
export function collectable(e: StoredEntry): boolean {
  return e.h !== 1
}

/** Whether `e` is a complete, well-typed entry (the key-value store indexes exactly these). */
export function isStoredEntry(e: unknown): e is StoredEntry {
  if (e === null || typeof e !== 'object') return false
  const r = e as Record<string, unknown>
  return (
    typeof r.n === 'string' &&
    typeof r.k === 'string' &&
    typeof r.t === 'number' &&
    typeof r.c === 'number' &&
    typeof r.a === 'string' &&
    (r.x === 1 || 'v' in r)
  )
}

/** Whether a plain-object element names a namespace and a key: it claims to be an entry (authorisation's view). */
export function namesKey(r: Readonly<Record<string, unknown>>): boolean {
  return typeof r.n === 'string' && typeof r.k === 'string'
}

/** The element as a plain object (not an array), or `undefined`. */
export function asRecord(el: unknown): Readonly<Record<string, unknown>> | undefined {
  return el === null || typeof el !== 'object' || Array.isArray(el) ? undefined : (el as Record<string, unknown>)
}

/**
 * The author fields of an element (entry or history record): `a` when present (`undefined` when absent, any other
 * type as is, for the caller to refuse) and the epoch `e` when present.
 */
export function authorOf(r: Readonly<Record<string, unknown>>): {
  hasAuthor: boolean
  a: unknown
  hasEpoch: boolean
  e: unknown
} {
  return { hasAuthor: 'a' in r, a: r.a, hasEpoch: 'e' in r, e: r.e }
}
