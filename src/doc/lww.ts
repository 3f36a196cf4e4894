/**
 * The ONE last-writer-wins rule of confmesh, used by the live key-value store (`config/kv-store.ts`), history records
 * and the compacted base (`versions/`): greatest hybrid timestamp `(t, c)` wins, then the greater author; the Yjs id
 * of the struct that carries the write (client, then clock) breaks any remaining tie so every peer picks the same
 * winner.
 *
 * @module
 */
import { compareHlc } from './hlc.js'
import type { JsonValue } from './json.js'

/** The LWW stamp of a write: hybrid timestamp and author. */
export interface WriteStamp {
  /** Hybrid timestamp, milliseconds. */
  readonly t: number
  /** Hybrid timestamp, counter. */
  readonly c: number
  /** Author (peer id). */
  readonly a: string
}

/** One write of one key as the versions module sees it (from a history record or the compacted base). */
export interface KeyWrite extends WriteStamp {
  readonly namespace: string
  readonly key: string
  /** The value written; `undefined` for a delete (tombstone). */
  readonly value: JsonValue | undefined
  /** Yjs client id of the struct that carries the write (tie breaker). */
  readonly client: number
  /** Yjs clock of the struct that carries the write (tie breaker). */
  readonly clock: number
}

/** Negative if `x` loses to `y`, positive if it wins, 0 only for the same write. */
export function compareWrites(x: KeyWrite, y: KeyWrite): number {
  return compareCarried(x, x, y, y)
}

/** Where a write is carried: the Yjs id of its element. */
export interface CarrierId {
  readonly client: number
  readonly clock: number
}

/**
 * {@link compareWrites} for a stamp and its carrier given apart (the key-value store compares stored entries against
 * their Yjs ids without building a {@link KeyWrite}): negative if `x` loses, positive if it wins.
 */
export function compareCarried(x: WriteStamp, xid: CarrierId, y: WriteStamp, yid: CarrierId): number {
  const byStamp = compareStamps(x, y)
  if (byStamp !== 0) return byStamp
  if (xid.client !== yid.client) return xid.client - yid.client
  return xid.clock - yid.clock
}

/** Compares the LWW stamps only (hybrid time, then author). */
export function compareStamps(x: WriteStamp, y: WriteStamp): number {
  const byTime = compareHlc({ ms: x.t, c: x.c }, { ms: y.t, c: y.c })
  if (byTime !== 0) return byTime
  return x.a === y.a ? 0 : x.a > y.a ? 1 : -1
}
