/**
 * History records: one per local change set, pushed right after the entries it describes, in the SAME Yjs transaction
 * and the SAME root array (the key-value store's `entries`, which ignores elements that are not entries), so a record
 * and its writes travel (and are included in versions) together.
 *
 * Why the same array: Yjs can only merge deleted structs that are adjacent both in clock order and in the list. With
 * records in an array of their own, every write's entry and record would interleave in clock order across two lists,
 * so no deleted entry could ever merge with the next one and the document would grow by a struct per write forever.
 * In one array, an overwritten entry, its pruned record and the next write's entry are neighbours and collapse into one
 * deleted run.
 *
 * A record carries, per change, the key and the change's hybrid timestamp; the author and a message; and the writer's
 * state vector at the time (other clients only: the writer's own counter is implied by the record's Yjs id). The
 * values are NOT copied: the batch's entries sit right before the record (ids `clock - n` .. `clock - 1` for `n`
 * changes, in order) and are recorded entries (`h: 1`, see `doc/entry.ts`) that stay in the document while the record
 * (or, once pruned, the compacted base) refers to them, so each value is stored once. A reader takes each change's
 * value (or tombstone) from its entry after checking that the entry names the same key, timestamp and author. Records
 * of the previous format (`w`: every change with its value inline) are still read. So a record fully describes its
 * writes, and its version (the writer's state right after the change) is known on every peer. A version includes a
 * record iff `version[record.client] > record.clock`.
 *
 * An entry a record refers to can still go missing: a peer of the previous version (or a hostile member) deletes
 * entries when they are replaced. Such a record parses with `lost > 0`: it is listed, but its version is not available.
 *
 * @module
 */
import * as Y from 'yjs'
import { deepFreeze, type JsonValue } from '../config/value.js'
import { elementAt, forEachAlive } from '../config/yjs-elements.js'
import { isStoredEntry, type StoredEntry } from '../doc/entry.js'
import type { HlcTimestamp } from '../doc/hlc.js'
import type { KeyWrite } from '../doc/lww.js'

/** One change as stored: `[namespace, key, t, c]` for a delete, `[namespace, key, t, c, value]` for a set. */
export type StoredChange =
  | readonly [n: string, k: string, t: number, c: number]
  | readonly [n: string, k: string, t: number, c: number, v: JsonValue]

/** One change as stored by reference: `[namespace, key, t, c]`; the value (or tombstone) is in its entry. */
export type StoredRef = readonly [n: string, k: string, t: number, c: number]

/** Reads the live element with Yjs id `(client, clock)` of the root array (`undefined` when absent or deleted). */
export type ElementReader = (client: number, clock: number) => unknown

/** A history record as stored in the document. Short field names: one record per change set. */
export interface StoredRecord {
  /** author: peer id of the writer */
  readonly a: string
  /** hybrid timestamp of the record: milliseconds */
  readonly t: number
  /** hybrid timestamp of the record: counter */
  readonly c: number
  /** `Y.encodeStateVector` of the writer's document before the record, without the writer's own client */
  readonly s: Uint8Array
  /** the changes, values in the entries right before the record (this format) */
  readonly u?: readonly StoredRef[]
  /** the changes with their values inline (the previous format; read, no longer written) */
  readonly w?: readonly StoredChange[]
  /** message (absent when none) */
  readonly m?: string
}

/** A parsed history record. */
export interface HistoryRecord {
  /** Yjs client id of the record's struct. */
  readonly client: number
  /** Yjs clock of the record's struct. */
  readonly clock: number
  /** Peer id of the writer. */
  readonly author: string
  /** Hybrid timestamp, milliseconds (the time of the change set). */
  readonly t: number
  /** Hybrid timestamp, counter. */
  readonly c: number
  /** The message, if any. */
  readonly message: string | undefined
  /** The version right after this record on its writer: includes the record and everything its writer had seen. */
  readonly version: ReadonlyMap<number, number>
  /** The writes, in the order made. */
  readonly changes: readonly KeyWrite[]
  /** Whether the values live in the entries right before the record (`changes[i]` at clock `clock - n + i`). */
  readonly byRef: boolean
  /** Changes whose entry is gone (their `value` is unknown, shown as `undefined`); 0 normally. */
  readonly lost: number
}

/**
 * Builds the record of a local change set. `s` is `Y.encodeStateVector` of the writer's state vector without its own
 * client; `ts` is the record's timestamp (the last change's, or a fresh one for a change-less snapshot).
 */
export function buildRecord(
  entries: readonly StoredEntry[],
  author: string,
  ts: HlcTimestamp,
  s: Uint8Array,
  message: string | undefined,
): StoredRecord {
  const u: StoredRef[] = entries.map((e) => [e.n, e.k, e.t, e.c])
  return message === undefined
    ? { a: author, t: ts.ms, c: ts.c, s, u }
    : { a: author, t: ts.ms, c: ts.c, s, u, m: message }
}

const parsed = new WeakMap<object, HistoryRecord | null>()

/**
 * The parsed form of a record this replica just built (no decoding), remembered so that {@link parseRecord} of the
 * same element is free. `others` is the state vector `stored.s` encodes; `(client, clock)` the id it will get.
 */
export function localRecord(
  stored: StoredRecord,
  entries: readonly StoredEntry[],
  client: number,
  clock: number,
  others: ReadonlyMap<number, number>,
): HistoryRecord {
  const version = new Map(others)
  version.set(client, clock + 1)
  const changes: KeyWrite[] = entries.map((e) => ({
    namespace: e.n,
    key: e.k,
    value: e.x === 1 ? undefined : deepFreeze(e.v),
    t: e.t,
    c: e.c,
    a: stored.a,
    client,
    clock,
  }))
  const record: HistoryRecord = {
    client,
    clock,
    author: stored.a,
    t: stored.t,
    c: stored.c,
    message: stored.m,
    version,
    changes,
    byRef: true,
    lost: 0,
  }
  parsed.set(stored, record)
  return record
}

/**
 * Parses the element at Yjs id `(client, clock)` of the history array; `undefined` for anything that is not a
 * well-formed record (foreign content is ignored, never crashes the replica). `read` gives the entries a record of
 * this format refers to. Parsed records are cached per element.
 */
export function parseRecord(
  element: unknown,
  client: number,
  clock: number,
  read: ElementReader,
): HistoryRecord | undefined {
  if (element === null || typeof element !== 'object' || !('u' in element || 'w' in element)) return undefined // fast
  const cached = parsed.get(element)
  if (cached !== undefined && (cached === null || (cached.client === client && cached.clock === clock)))
    return cached ?? undefined
  const record = parseUncached(element as Record<string, unknown>, client, clock, read)
  parsed.set(element, record ?? null)
  return record
}

function parseUncached(
  r: Record<string, unknown>,
  client: number,
  clock: number,
  read: ElementReader,
): HistoryRecord | undefined {
  if (typeof r.a !== 'string' || !isTime(r.t) || !isTime(r.c) || !(r.s instanceof Uint8Array)) return undefined
  if (r.m !== undefined && typeof r.m !== 'string') return undefined
  const byRef = Array.isArray(r.u)
  const list = byRef ? r.u : r.w
  if (!Array.isArray(list) || (byRef && 'w' in r)) return undefined
  let version: Map<number, number>
  try {
    version = Y.decodeStateVector(r.s)
  } catch {
    return undefined
  }
  version.set(client, clock + 1)
  const author = r.a
  const changes: KeyWrite[] = []
  let lost = 0
  for (let i = 0; i < list.length; i++) {
    const w: unknown = list[i]
    if (!Array.isArray(w) || !(w.length === 4 || (!byRef && w.length === 5))) return undefined
    const [n, k, t, c, v] = w as [unknown, unknown, unknown, unknown, unknown]
    if (typeof n !== 'string' || typeof k !== 'string' || !isTime(t) || !isTime(c)) return undefined
    let value: JsonValue | undefined
    if (byRef) {
      const entry = read(client, clock - list.length + i)
      if (
        isStoredEntry(entry) &&
        entry.n === n &&
        entry.k === k &&
        entry.t === t &&
        entry.c === c &&
        entry.a === author
      )
        value = entry.x === 1 ? undefined : deepFreeze(entry.v as JsonValue)
      else lost++
    } else if (w.length === 5) {
      value = deepFreeze(v as JsonValue)
    }
    changes.push({ namespace: n, key: k, value, t, c, a: author, client, clock })
  }
  const message = r.m as string | undefined
  return { client, clock, author, t: r.t, c: r.c, message, version, changes, byRef, lost }
}

function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
}

/** Every well-formed record held (not deleted) in `array`, in array order; other elements are skipped. */
export function readRecords(array: Y.Array<unknown>): HistoryRecord[] {
  const out: HistoryRecord[] = []
  const read = elementReader(array)
  forEachAlive(array, (element, client, clock) => {
    const record = parseRecord(element, client, clock, read)
    if (record !== undefined) out.push(record)
  })
  return out
}

/** Record order: oldest first by hybrid time, then author, then Yjs id. Identical on every peer. */
export function compareRecords(x: HistoryRecord, y: HistoryRecord): number {
  if (x.t !== y.t) return x.t - y.t
  if (x.c !== y.c) return x.c - y.c
  if (x.author !== y.author) return x.author < y.author ? -1 : 1
  if (x.client !== y.client) return x.client - y.client
  return x.clock - y.clock
}

/** The {@link ElementReader} of `array`. */
export function elementReader(array: Y.Array<unknown>): ElementReader {
  return (client, clock) => elementAt(array, client, clock)
}
