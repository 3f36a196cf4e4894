/**
 * The one interface every compared system is driven through, so each benchmark runs the same code path against
 * confmesh, etcd and the Yjs relay. An adapter wraps one client of a system (a confmesh mesh, an etcd client with a
 * watcher, a y-websocket provider).
 *
 * @module
 */
import type { SystemName } from '../lib/cli.js'

/** A change seen by a peer's watcher. */
export interface PeerChange {
  key: string
  value: unknown
  /** Monotonic timestamp (ms, see lib/clock.ts) taken as the first thing in the watch callback. */
  t: number
}

/** One client of a compared system. */
export interface BenchPeer {
  readonly system: SystemName
  /** Addresses other peers may bootstrap from (confmesh multiaddrs); empty for client/server systems. */
  readonly addresses: string[]
  /** Write one key. Resolves when the system's own API call resolves. */
  set(key: string, value: unknown): Promise<void>
  /** Read several keys (missing keys are absent from the map). */
  getMany(keys: readonly string[]): Promise<Map<string, unknown>>
  /** Subscribe to every change of every key (local and remote). */
  onChange(listener: (change: PeerChange) => void): void
  /** Connected peer count where the system has such a notion (confmesh), else `undefined`. */
  connections(): number | undefined
  /** Numeric counters the system exposes itself (confmesh `stats()`), flattened; empty when none. */
  stats(): Promise<Record<string, number>>
  stop(): Promise<void>
}

/** Options to start one peer, by system. */
export type PeerOptions =
  | { system: 'confmesh'; bootstrap: string[]; name: string }
  | { system: 'etcd'; endpoints: string[] }
  | { system: 'relay'; url: string; room: string }

/**
 * Flatten the numeric leaves of an object into `a.b.c` keys (used to report whatever counters a system exposes).
 *
 * @param obj - any value; non-numeric leaves are dropped
 * @param prefix - key prefix for recursion
 */
export function flattenNumbers(obj: unknown, prefix = ''): Record<string, number> {
  const out: Record<string, number> = {}
  if (typeof obj === 'number' && Number.isFinite(obj)) {
    out[prefix || 'value'] = obj
  } else if (typeof obj === 'bigint') {
    out[prefix || 'value'] = Number(obj)
  } else if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) Object.assign(out, flattenNumbers(v, prefix ? `${prefix}.${k}` : k))
  }
  return out
}
