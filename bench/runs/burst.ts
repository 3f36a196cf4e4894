/**
 * The burst measurement shared by throughput.ts, footprint.ts and join.ts: writers fire a fixed number of sets as fast
 * as the system's API accepts them (a bounded number in flight per writer), then every peer's watcher is tracked
 * until it has seen each writer's last write; finally every peer's final values are checked.
 *
 * @module
 */

import type { Cluster, Converged } from '../peers/cluster.js'
import type { BurstSpec } from '../peers/protocol.js'
import { reserveSeq } from './seq.js'

/** Options of {@link runBurst}. */
export interface BurstOptions {
  /** Writing peers. */
  writers: number[]
  /** Total sets, split evenly over the writers. */
  total: number
  /** Distinct keys per writer (sets cycle over them). */
  keyCount: number
  /** Sets in flight per writer. */
  inflight: number
  /** Deadline for the whole burst and convergence, ms. */
  timeoutMs: number
  /** Random payload per value, bytes (default none). */
  padBytes?: number
  /** Key prefix (default `b`). */
  prefix?: string
  /** Check every peer's final values (default true). */
  verify?: boolean
  /** Peers whose convergence is awaited (default all). */
  peers?: number[]
}

/** Result of {@link runBurst}. */
export interface BurstResult {
  total: number
  /** Earliest writer start. */
  tStart: number
  /** Latest writer end (last set() resolved). */
  tWritten: number
  /** Per peer: when it had seen every writer's last write. */
  converged: Converged[]
  /** Latest convergence. */
  tConverged: number
  /** CPU used by the writer processes during their bursts, µs (summed over writers). */
  writerCpuUs: number
  /** Per peer: keys whose final value is not the last write (empty when not verified). */
  wrong: Record<number, number>
  /** The bursts, for later verification. */
  specs: BurstSpec[]
}

/**
 * Run one burst and wait for convergence.
 *
 * @param cluster - running, warmed-up peers
 * @param opts - writers, sizes, limits
 * @throws when convergence misses the deadline
 */
export async function runBurst(cluster: Cluster, opts: BurstOptions): Promise<BurstResult> {
  const per = Math.ceil(opts.total / opts.writers.length)
  const specs: BurstSpec[] = opts.writers.map((peer) => ({
    peer,
    count: per,
    keyCount: Math.min(opts.keyCount, per),
    prefix: opts.prefix ?? 'b',
    seqBase: reserveSeq(cluster, per),
    inflight: opts.inflight,
    ...(opts.padBytes ? { padBytes: opts.padBytes } : {}),
  }))
  const targets: Record<string, number> = {}
  const sentinels: Record<string, string> = {}
  for (const b of specs) {
    targets[b.peer] = b.seqBase + b.count
    sentinels[b.peer] = `${b.prefix}-${b.peer}-${(b.count - 1) % b.keyCount}`
  }
  const deadline = Date.now() + opts.timeoutMs
  const convergedP = cluster.waitConverged({ targets, sentinels, pollMs: 100 }, opts.timeoutMs, opts.peers)
  // a rejection is observed below; keep it from surfacing as unhandled while the writers run
  convergedP.catch(() => {})
  const written = await Promise.all(specs.map((b) => cluster.burst(b, Math.max(1000, deadline - Date.now()))))
  const converged = await convergedP
  const wrong = opts.verify === false ? {} : await cluster.verify(specs)
  return {
    total: per * specs.length,
    tStart: Math.min(...written.map((w) => w.tStart)),
    tWritten: Math.max(...written.map((w) => w.tEnd)),
    converged,
    tConverged: Math.max(...converged.map((c) => c.t)),
    writerCpuUs: written.reduce((a, w) => a + w.cpuUs, 0),
    wrong,
    specs,
  }
}
