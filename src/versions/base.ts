/**
 * The compacted base: what pruned history records leave behind, in the same root array as entries and records (see
 * `record.ts` for why), as elements the key-value store does not mistake for entries.
 *
 * - Per key, the last-writer-wins winner among the writes of every pruned record, stored as
 *   `{ p: [namespace, key, t, c, author] }` (a delete) or `{ p: [namespace, key, t, c, author, value] }`. It is LWW by
 *   hybrid timestamp (not a `Y.Map`, which would resolve concurrent prunes by client id): peers that prune concurrently
 *   each push their winner, every peer keeps the same greatest one and deletes the others.
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
import { compareWrites, type KeyWrite } from '../doc/lww.js'

/** A base write as stored: `p` = `[namespace, key, t, c, author]` (a delete) or `[..., value]`. */
export interface StoredBaseWrite {
  readonly p:
    | readonly [n: string, k: string, t: number, c: number, a: string]
    | readonly [n: string, k: string, t: number, c: number, a: string, v: JsonValue]
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
}

/** An empty base. */
export const EMPTY_BASE: BaseState = {
  writes: new Map(),
  horizon: new Map(),
  horizonIds: new Map(),
  writeLosers: new Map(),
  horizonLosers: new Map(),
  size: 0,
}

/** The key of `namespace`/`key` in {@link BaseState.writeLosers}. */
export function baseKey(namespace: string, key: string): string {
  return `${namespace}\u0000${key}`
}

function addLoser<K>(losers: Map<K, Y.ID[]>, key: K, id: Y.ID): void {
  const list = losers.get(key)
  if (list === undefined) losers.set(key, [id])
  else list.push(id)
}

/** Reads the base held in `array`. Foreign elements are ignored. */
export function readBase(array: Y.Array<unknown>): BaseState {
  const writes = new Map<string, Map<string, KeyWrite>>()
  const horizon = new Map<number, number>()
  const horizonIds = new Map<number, Y.ID>()
  const writeLosers = new Map<string, Y.ID[]>()
  const horizonLosers = new Map<number, Y.ID[]>()
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
    const write = parseBaseWrite(e, client, clock)
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
  return { writes, horizon, horizonIds, writeLosers, horizonLosers, size }
}

/** The stored form of a base write. */
export function storedBaseWrite(w: KeyWrite): StoredBaseWrite {
  return {
    p: w.value === undefined ? [w.namespace, w.key, w.t, w.c, w.a] : [w.namespace, w.key, w.t, w.c, w.a, w.value],
  }
}

/** Whether an array element is part of the base (a base write or a horizon mark). */
export function isBaseElement(element: unknown): boolean {
  if (element === null || typeof element !== 'object') return false
  const e = element as Record<string, unknown>
  return Array.isArray(e.p) || (isCount(e.q) && isCount(e.h))
}

function parseBaseWrite(e: Record<string, unknown>, client: number, clock: number): KeyWrite | undefined {
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
