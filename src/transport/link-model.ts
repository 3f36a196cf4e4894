/**
 * The fault model of one simulated link: latency (a distribution), loss, duplication, and whether gossip may
 * overtake earlier gossip (reordering). Streams are never lost, duplicated or reordered (they model TCP); only a
 * closed connection or a partition stops them.
 *
 * @module
 */
import type { SeededRandom } from './seeded-random.js'

/** Latency of one hop: a fixed delay, a uniform range, or a function of the link's random stream (ms). */
export type LatencyModel = number | { minMs: number; maxMs: number } | ((random: SeededRandom) => number)

/** The faults of a link (or the defaults of every link). */
export interface LinkModel {
  /** One-way latency of a frame. Default `{ minMs: 1, maxMs: 10 }`. */
  latency: LatencyModel
  /** Probability that one gossip hop is lost, 0..1. Default 0. */
  loss: number
  /** Probability that one gossip hop arrives twice (the copy one more latency later), 0..1. Default 0. */
  duplicate: number
  /** Whether gossip hops may overtake earlier ones on the same link. Default false (FIFO, like one TCP stream). */
  reorder: boolean
}

/** The defaults of every link. */
export const DEFAULT_LINK_MODEL: LinkModel = { latency: { minMs: 1, maxMs: 10 }, loss: 0, duplicate: 0, reorder: false }

/** One latency sample (never negative). */
export function sampleLatency(model: LatencyModel, random: SeededRandom): number {
  if (typeof model === 'number') return Math.max(0, model)
  if (typeof model === 'function') return Math.max(0, model(random))
  return model.minMs + random.next() * Math.max(0, model.maxMs - model.minMs)
}

/** Checks a (partial) link model; throws `RangeError` on a value out of range. */
export function checkLinkModel(model: Partial<LinkModel>): void {
  for (const key of ['loss', 'duplicate'] as const) {
    const p = model[key]
    if (p !== undefined && !(p >= 0 && p <= 1)) throw new RangeError(`${key} must be in [0, 1], got ${p}`)
  }
  const l = model.latency
  if (typeof l === 'number' && !(l >= 0)) throw new RangeError(`latency must be >= 0, got ${l}`)
  if (typeof l === 'object' && !(l.minMs >= 0 && l.maxMs >= l.minMs)) {
    throw new RangeError(`latency range must satisfy 0 <= minMs <= maxMs, got ${l.minMs}..${l.maxMs}`)
  }
}
