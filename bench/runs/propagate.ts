/**
 * The propagation measurement shared by propagation.ts and scale.ts: closed-loop single writes (rotating writer),
 * each timed from the writer's call to every other peer's watch callback, on one machine-wide monotonic clock.
 *
 * @module
 */
import { nowMs } from '../lib/clock.js'
import { note, progress } from '../lib/progress.js'
import type { Cluster } from '../peers/cluster.js'
import { reserveSeq } from './seq.js'

/** Options of {@link warmUp} and {@link measurePropagation}. */
export interface PropagationOptions {
  /** Measured writes. */
  writes: number
  /** Minimum time between two write starts, ms (pacing). */
  intervalMs: number
  /** How long one write may take to reach everyone before the missing deliveries count as missed, ms. */
  deliveryTimeoutMs: number
  /** Progress label. */
  label: string
  /** Stop the row early (fewer writes) once it has run this long, ms (default unlimited). */
  maxRunMs?: number
}

/** Result of {@link measurePropagation}. */
export interface PropagationResult {
  /** One latency per (write, receiving peer), ms. */
  latencies: number[]
  /** Per write: the time until the last peer saw it, ms (only writes that reached everyone). */
  allSeen: number[]
  /** Deliveries that did not arrive within the timeout. */
  missed: number
  /** Writer-side duration of the set() call, ms. */
  setCall: number[]
  /** Wall time of the measured phase, ms. */
  elapsedMs: number
  /** Most peers that were "lost" at once (missed LOST_AFTER writes in a row; then not waited for). */
  lostPeers: number
  /** Writes actually made (fewer than asked when `maxRunMs` cut the row short). */
  writesDone: number
}

/** After this many consecutive misses a peer is no longer waited for (its deliveries still count as missed). */
export const LOST_AFTER = 3

function nextSeq(cluster: Cluster): number {
  return reserveSeq(cluster) + 1
}

/**
 * Warm up: one write from each of a few peers spread over the cluster must reach every peer (confmesh needs its overlay
 * formed). A write that does not reach everyone in time is reported on stderr and the run goes on: peers that never
 * joined then show up as missed deliveries in the results.
 *
 * @param cluster - running peers
 * @param timeoutMs - deadline per warm-up write
 * @returns true when every warm-up write reached every peer
 */
export async function warmUp(cluster: Cluster, timeoutMs = 30_000): Promise<boolean> {
  const writers = Math.min(cluster.size, 3)
  let ok = true
  for (let k = 0; k < writers; k++) {
    const w = (k * Math.max(1, Math.floor(cluster.size / writers))) % cluster.size
    const s = nextSeq(cluster)
    const key = `warm-${w}`
    await cluster.set(w, key, { w, s })
    try {
      await cluster.waitConverged({ targets: { [w]: s }, sentinels: { [w]: key } }, timeoutMs)
    } catch (err) {
      ok = false
      note(`${cluster.system} x${cluster.size}: warm-up write from peer ${w} incomplete: ${(err as Error).message}`)
    }
  }
  return ok
}

/**
 * Measure propagation: `writes` writes, writer `i % N`, one at a time; each waits until all other peers saw it (or
 * the delivery timeout), and write starts are at least `intervalMs` apart. A peer that missed {@link LOST_AFTER}
 * writes in a row is not waited for any more (so one dead peer cannot stretch the run to writes x timeout) unless
 * every receiver is lost (then the system is slow and all are waited for); its deliveries still count as missed, and
 * it is waited for again once it delivers. `maxRunMs` bounds the whole row.
 *
 * @param cluster - running, warmed-up peers
 * @param opts - sizes and limits
 */
export async function measurePropagation(cluster: Cluster, opts: PropagationOptions): Promise<PropagationResult> {
  const n = cluster.size
  const received = new Map<number, Map<number, number>>()
  /** Consecutive misses per peer; a peer with LOST_AFTER or more is not waited for (still counted as missing). */
  const misses = new Map<number, number>()
  const isLost = (p: number) => (misses.get(p) ?? 0) >= LOST_AFTER
  let waiting: { s: number; w: number; resolve: () => void } | undefined
  const complete = (s: number, w: number) => {
    const got = received.get(s)
    // when every receiver counts as lost the system is slow, not a peer dead: wait for all of them again
    let anyLive = false
    for (let p = 0; p < n; p++) if (p !== w && !isLost(p)) anyLive = true
    for (let p = 0; p < n; p++) if (p !== w && (!anyLive || !isLost(p)) && !got?.has(p)) return false
    return true
  }
  const off = cluster.onEvent((e) => {
    let got = received.get(e.s)
    if (!got) {
      got = new Map()
      received.set(e.s, got)
    }
    if (!got.has(e.p)) got.set(e.p, e.t)
    if (waiting && waiting.s === e.s && complete(e.s, waiting.w)) waiting.resolve()
  })
  await cluster.setReport(true)
  const result: PropagationResult = {
    latencies: [],
    allSeen: [],
    missed: 0,
    setCall: [],
    elapsedMs: 0,
    lostPeers: 0,
    writesDone: 0,
  }
  const begin = nowMs()
  let lastStart = 0
  try {
    for (let i = 0; i < opts.writes; i++) {
      if (opts.maxRunMs !== undefined && nowMs() - begin > opts.maxRunMs) {
        progress(`${opts.label}: time cap of ${opts.maxRunMs} ms reached after ${i} writes`)
        break
      }
      result.writesDone = i + 1
      const gap = lastStart + opts.intervalMs - nowMs()
      if (gap > 0) await new Promise((r) => setTimeout(r, gap)) // pacing, not synchronisation
      lastStart = nowMs()
      const w = i % n
      const s = nextSeq(cluster)
      const all = new Promise<void>((resolve) => {
        waiting = { s, w, resolve }
      })
      const { t0, t1 } = await cluster.set(w, `p-${s % 16}`, { w, s })
      result.setCall.push(t1 - t0)
      if (!complete(s, w)) {
        let timer: NodeJS.Timeout | undefined
        await Promise.race([all, new Promise<void>((r) => (timer = setTimeout(r, opts.deliveryTimeoutMs)))])
        clearTimeout(timer)
      }
      waiting = undefined
      const got = received.get(s) ?? new Map<number, number>()
      for (let p = 0; p < n; p++) {
        if (p === w) continue
        const t = got.get(p)
        if (t === undefined) {
          result.missed++
          misses.set(p, (misses.get(p) ?? 0) + 1)
        } else {
          result.latencies.push(t - t0)
          misses.set(p, 0)
        }
      }
      if (got.size >= n - 1 && n > 1) result.allSeen.push(Math.max(...got.values()) - t0)
      received.delete(s)
      result.lostPeers = Math.max(result.lostPeers, [...misses.keys()].filter(isLost).length)
      if (i % 10 === 0 || i === opts.writes - 1) progress(`${opts.label}: write ${i + 1}/${opts.writes}`)
    }
  } finally {
    off()
    await cluster.setReport(false).catch(() => {})
  }
  result.elapsedMs = nowMs() - begin
  return result
}
