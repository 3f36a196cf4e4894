/**
 * The control protocol between the benchmark coordinator (cluster.ts) and its peer processes (worker.ts), over Node
 * IPC. Requests carry an `id` and get exactly one reply with the same `id`; events (`ev`, `converged`) are unsolicited.
 * Every timestamp is a machine-wide monotonic time in ms (lib/clock.ts), taken inside the process where it happened.
 *
 * @module
 */
import type { SystemName } from '../lib/cli.js'
import type { IoCounters } from '../lib/procinfo.js'
import type { PeerOptions } from './types.js'

/** The value every benchmark write stores: writer id (= peer index), sequence number, optional padding. */
export interface BenchValue {
  w: number
  s: number
  d?: string
}

/** One peer to start in a worker. `bootstrapPeers` names earlier peers of the same worker to bootstrap from. */
export interface PeerSpec {
  index: number
  opts: PeerOptions
  bootstrapPeers?: number[]
}

/** Convergence target: every peer reports `converged` once it has seen, for each writer, a sequence >= target. */
export interface TrackSpec {
  /** writer id -> last sequence number */
  targets: Record<string, number>
  /** writer id -> the key holding that last sequence (polled as a fallback when no watch event fires) */
  sentinels: Record<string, string>
  /** Fallback poll period in ms (default 50). */
  pollMs?: number
}

/** A burst of writes from one peer: keys `${prefix}-${writer}-${i % keyCount}`, values `{ w, s: seqBase + i + 1 }`. */
export interface BurstSpec {
  peer: number
  count: number
  keyCount: number
  prefix: string
  seqBase: number
  inflight: number
  padBytes?: number
}

/** Requests, coordinator -> worker. */
export type Request =
  | { op: 'prepare'; id: number; system: SystemName }
  | { op: 'start'; id: number; peers: PeerSpec[]; track?: TrackSpec; report?: boolean; staggerMs?: number }
  | { op: 'set'; id: number; peer: number; key: string; value: BenchValue }
  | { op: 'report'; id: number; on: boolean }
  | { op: 'track'; id: number; track: TrackSpec }
  | { op: 'burst'; id: number; burst: BurstSpec }
  | { op: 'verify'; id: number; bursts: Array<Omit<BurstSpec, 'inflight' | 'padBytes'>> }
  | { op: 'stats'; id: number; gc?: boolean }
  | { op: 'stop'; id: number }

/** Per-peer counters in a `stats` reply. */
export interface PeerStats {
  index: number
  events: number
  remoteEvents: number
  connections: number | undefined
  system: Record<string, number>
}

/** Process-level readings in a `stats` reply. */
export interface WorkerStats {
  pid: number
  rss: number
  heapUsed: number
  /** CPU time of the process (user + system) in µs, read before any requested GC. */
  cpuUs: number
  io: IoCounters
  t: number
  peers: PeerStats[]
}

/** Result of `start`: per peer, its addresses and when its creation began and ended. */
export interface StartResult {
  peers: Array<{
    index: number
    addresses: string[]
    tBegin: number
    tReady: number
    ioBefore: IoCounters
    cpuBefore: number
  }>
  io: IoCounters
}

/** Replies and events, worker -> coordinator. */
export type Reply =
  | { op: 'reply'; id: number; ok: true; result: unknown }
  | { op: 'reply'; id: number; ok: false; error: string }
  | { op: 'ev'; p: number; w: number; s: number; t: number }
  | { op: 'converged'; p: number; t: number; io: IoCounters; cpuUs: number }
  | { op: 'log'; message: string }
