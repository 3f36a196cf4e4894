/**
 * The compacted base: what pruned history records leave behind, in the same root array as entries and records (see
 * `record.ts` for why), as elements the key-value store does not mistake for entries.
 *
 * - Per key, the last-writer-wins winner among the writes of every pruned record, stored as
 *   `{ b: [namespace, key, t, c, author, client, clock] }`: the value (or tombstone) stays in the recorded entry with
 *   Yjs id `(client, clock)`, which is kept in the document while a base write refers to it (stored once). The
 *   previous format `{ p: [namespace, key, t, c, author] }` (a delete) / `{ p: [..., value] }` (value inline) is still
 *   read, and still written for records of the previous format. It is LWW by hybrid timestamp (not a `Y.Map`, which
 *   would resolve concurrent prunes by client id): peers that prune concurrently each push their winner, every peer
 *   keeps the same greatest one and deletes the others (and the entries only they referred to).
 * - The horizon: per writer (Yjs client id) `{ q: client, h: clock }`, meaning "every record of `q` below `h` may have
 *   been pruned". Merged by maximum; a version is reconstructible iff it includes the horizon.
 *
 * Both merge commutatively and idempotently, so concurrent or repeated pruning by several peers converges.
 *
 * Losing elements (a lower write of a key, a lower mark of a writer) are deleted only by a prune that pushes a newer
 * winner for the same key or writer, in the same transaction (see `prune.ts`), never in a delete-only transaction:
 * Yjs applies a deletion without the writes that superseded the deleted element, so a peer that received such a
 * deletion before the winner would lose the key's base write (or the writer's horizon) meanwhile.
 *
 * @module
 */
import * as Y from 'yjs'
import { deepFreeze, type JsonValue } from '../config/value.js'
import { forEachAlive } from '../config/yjs-elements.js'
import { isStoredEntry, type StoredEntry } from '../doc/entry.js'
import { compareWrites, type KeyWrite } from '../doc/lww.js'
import type { ElementReader } from './record.js'

/** A base write as stored: `p` = `[namespace, key, t, c, author]` (a delete) or `[..., value]`. */
export interface StoredBaseWrite {
  readonly p:
    | readonly [n: string, k: string, t: number, c: number, a: string]
    | readonly [n: string, k: string, t: number, c: number, a: string, v: JsonValue]
}

/** A base write as stored by reference: `b` = `[namespace, key, t, c, author, entry client, entry clock]`. */
export interface StoredBaseRef {
  readonly b: readonly [n: string, k: string, t: number, c: number, a: string, client: number, clock: number]
}

/** A horizon mark as stored: records of client `q` below clock `h` may have been pruned. */
export interface StoredHorizon {
  readonly q: number
  readonly h: number
}

/** The base as read from the document. */
export interface BaseState {
  /** namespace -> key -> winning write (its `client`/`clock` are the base element's id). */
  readonly writes: ReadonlyMap<string, ReadonlyMap<string, KeyWrite>>
  /** Yjs client id -> clock below which its records may have been pruned. */
  readonly horizon: ReadonlyMap<number, number>
  /** Ids of the horizon elements that hold {@link horizon} (one per client). */
  readonly horizonIds: ReadonlyMap<number, Y.ID>
  /** Base writes that lost to another one, by {@link baseKey}: deleted with the next base write of that key. */
  readonly writeLosers: ReadonlyMap<string, readonly Y.ID[]>
  /** Horizon marks that lost to a higher one, by writer: deleted with the next mark of that writer. */
  readonly horizonLosers: ReadonlyMap<number, readonly Y.ID[]>
  /** Number of base writes (keys). */
  readonly size: number
  /** The entry each base write of the reference format refers to, by the base element's {@link idKey}. */
  readonly refs: ReadonlyMap<string, Y.ID>
  /** Winning base writes whose entry is gone (their value is unknown): versions are then not reconstructible. */
  readonly lost: number
}

/** An empty base. */
export const EMPTY_BASE: BaseState = {
  writes: new Map(),
  horizon: new Map(),
  horizonIds: new Map(),
  writeLosers: new Map(),
  horizonLosers: new Map(),
  size: 0,
  refs: new Map(),
  lost: 0,
}

/** The key of `namespace`/`key` in {@link BaseState.writeLosers}. */
export function baseKey(namespace: string, key: string): string {
  return `${namespace}\u0000${key}`
}

/** The key of a Yjs id in {@link BaseState.refs}. */
export function idKey(client: number, clock: number): string {
  return `${client}:${clock}`
}

function addLoser<K>(losers: Map<K, Y.ID[]>, key: K, id: Y.ID): void {
  const list = losers.get(key)
  if (list === undefined) losers.set(key, [id])
  else list.push(id)
}

/** Reads the base held in `array`; `read` gives the entries base writes refer to. Foreign elements are ignored. */
export function readBase(array: Y.Array<unknown>, read: ElementReader): BaseState {
  const writes = new Map<string, Map<string, KeyWrite>>()
  const horizon = new Map<number, number>()
  const horizonIds = new Map<number, Y.ID>()
  const writeLosers = new Map<string, Y.ID[]>()
  const horizonLosers = new Map<number, Y.ID[]>()
  const refs = new Map<string, Y.ID>()
  let size = 0
  forEachAlive(array, (element, client, clock) => {
    if (element === null || typeof element !== 'object') return
    const e = element as Record<string, unknown>
    if (isCount(e.q) && isCount(e.h)) {
      const current = horizon.get(e.q)
      const currentId = horizonIds.get(e.q)
      const better =
        current === undefined ||
        e.h > current ||
        (e.h === current && currentId !== undefined && compareId(client, clock, currentId) > 0)
      if (better) {
        if (currentId !== undefined) addLoser(horizonLosers, e.q, currentId)
        horizon.set(e.q, e.h)
        horizonIds.set(e.q, Y.createID(client, clock))
      } else {
        addLoser(horizonLosers, e.q, Y.createID(client, clock))
      }
      return
    }
    const write = parseBaseWrite(e, client, clock, refs)
    if (write === undefined) return
    let ns = writes.get(write.namespace)
    if (ns === undefined) {
      ns = new Map()
      writes.set(write.namespace, ns)
    }
    const current = ns.get(write.key)
    if (current === undefined) {
      size++
      ns.set(write.key, write)
    } else if (compareWrites(write, current) > 0) {
      addLoser(writeLosers, baseKey(write.namespace, write.key), Y.createID(current.client, current.clock))
      ns.set(write.key, write)
    } else {
      addLoser(writeLosers, baseKey(write.namespace, write.key), Y.createID(client, clock))
    }
  })
  let lost = 0
  for (const ns of writes.values()) {
    for (const [key, w] of ns) {
      const ref = refs.get(idKey(w.client, w.clock))
      if (ref === undefined) continue
      const entry = read(ref.client, ref.clock)
      const found = isStoredEntry(entry) && entry.n === w.namespace && entry.k === key && sameStamp(entry, w)
      if (!found) lost++
      const value = found && entry.x !== 1 ? deepFreeze(entry.v as JsonValue) : undefined
      ns.set(key, { ...w, value })
    }
  }
  return { writes, horizon, horizonIds, writeLosers, horizonLosers, size, refs, lost }
}

function sameStamp(e: StoredEntry, w: KeyWrite): boolean {
  return e.t === w.t && e.c === w.c && e.a === w.a
}

/**
 * The stored form of a base write: by reference to the entry with id `entry` when given (a record of this format),
 * else with the value inline (a record of the previous format, whose entry may be gone).
 */
export function storedBaseWrite(w: KeyWrite, entry: Y.ID | undefined): StoredBaseWrite | StoredBaseRef {
  if (entry !== undefined) return { b: [w.namespace, w.key, w.t, w.c, w.a, entry.client, entry.clock] }
  return {
    p: w.value === undefined ? [w.namespace, w.key, w.t, w.c, w.a] : [w.namespace, w.key, w.t, w.c, w.a, w.value],
  }
}

/** Whether an array element is part of the base (a base write or a horizon mark). */
export function isBaseElement(element: unknown): boolean {
  if (element === null || typeof element !== 'object') return false
  const e = element as Record<string, unknown>
  return Array.isArray(e.p) || Array.isArray(e.b) || (isCount(e.q) && isCount(e.h))
}

/** A base write; its value is read from the entry later (see {@link readBase}) for the reference format. */
function parseBaseWrite(
  e: Record<string, unknown>,
  client: number,
  clock: number,
  refs: Map<string, Y.ID>,
): KeyWrite | undefined {
  if (Array.isArray(e.b)) {
    const b = e.b as unknown[]
    if (b.length !== 7) return undefined
    const [n, k, t, c, a, q, r] = b
    if (typeof n !== 'string' || typeof k !== 'string' || typeof a !== 'string' || !isCount(t) || !isCount(c))
      return undefined
    if (!isCount(q) || !isCount(r)) return undefined
    refs.set(idKey(client, clock), Y.createID(q, r))
    return { namespace: n, key: k, value: undefined, t, c, a, client, clock }
  }
  const p = e.p
  if (!Array.isArray(p) || (p.length !== 5 && p.length !== 6)) return undefined
  const [n, k, t, c, a, v] = p as [unknown, unknown, unknown, unknown, unknown, unknown]
  if (typeof n !== 'string' || typeof k !== 'string' || typeof a !== 'string' || !isCount(t) || !isCount(c))
    return undefined
  const value = p.length === 5 ? undefined : deepFreeze(v as JsonValue)
  return { namespace: n, key: k, value, t, c, a, client, clock }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
}

function compareId(client: number, clock: number, id: Y.ID): number {
  return client !== id.client ? client - id.client : clock - id.clock
}
