/**
 * Retention: how much history a peer keeps, and which records a prune may fold into the compacted base.
 *
 * A prune takes the OLDEST records (hybrid-time order) beyond the limits, but only a prefix that every record it keeps
 * already includes: then every retained record's version still includes the horizon, so every listed version stays
 * reconstructible. Concurrent change sets at the edge wait for the next prune (when newer records include them);
 * should the kept records exceed twice the limit anyway, the prune goes ahead.
 *
 * @module
 */
import { InvalidOptionsError } from '../errors.js'
import type { HistoryRecord } from './record.js'
import { dominates, type VectorClock } from './vector-clock.js'

/** Retention options of `createMesh({ retention })`. */
export interface RetentionOptions {
  /**
   * Versions (change sets and snapshots) to keep. Default {@link DEFAULT_RETAINED_VERSIONS}. `0` disables history
   * (nothing is recorded; `at`/`diff`/`rollback` then throw `VersionPrunedError`); `Infinity` keeps everything.
   * Pruning starts once the count exceeds the limit by 10 %, and brings it back to the limit.
   */
  versions?: number
  /** Versions older than this (ms) are pruned even below the count. Default {@link DEFAULT_RETENTION_MAX_AGE_MS}. */
  maxAgeMs?: number
}

/** Default number of retained versions. */
export const DEFAULT_RETAINED_VERSIONS = 1000
/** Default maximum age of a retained version: 30 days. */
export const DEFAULT_RETENTION_MAX_AGE_MS = 30 * 24 * 60 * 60 * 1000

/** Retention with defaults applied. */
export interface ResolvedRetention {
  /** Versions to keep (0: history off, Infinity: no count limit). */
  readonly versions: number
  /** Maximum age in ms (Infinity: no age limit). */
  readonly maxAgeMs: number
  /** Records allowed above `versions` before a prune starts. */
  readonly slack: number
}

/** Validates and completes retention options; throws `InvalidOptionsError`. */
export function resolveRetention(options: RetentionOptions | undefined): ResolvedRetention {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new InvalidOptionsError('retention must be an object { versions?, maxAgeMs? }')
  }
  const versions = options?.versions ?? DEFAULT_RETAINED_VERSIONS
  const maxAgeMs = options?.maxAgeMs ?? DEFAULT_RETENTION_MAX_AGE_MS
  if (typeof versions !== 'number' || !(Number.isSafeInteger(versions) || versions === Infinity) || versions < 0) {
    throw new InvalidOptionsError(`retention.versions must be a non-negative integer or Infinity, got ${versions}`)
  }
  if (typeof maxAgeMs !== 'number' || Number.isNaN(maxAgeMs) || maxAgeMs <= 0) {
    throw new InvalidOptionsError(`retention.maxAgeMs must be a positive number of ms or Infinity, got ${maxAgeMs}`)
  }
  return { versions, maxAgeMs, slack: versions === Infinity ? 0 : Math.floor(versions / 10) }
}

/** Whether `count` records call for a prune by count. */
export function overCount(count: number, r: ResolvedRetention): boolean {
  return count > r.versions + r.slack
}

/**
 * How many of the oldest records to prune. `sorted` is oldest first (`compareRecords` order); `now` is the wall clock
 * in ms; `horizon` the current horizon (records whose version does not include it are unreconstructible already and
 * do not hold pruning back).
 */
export function prunableCount(
  sorted: readonly HistoryRecord[],
  r: ResolvedRetention,
  now: number,
  horizon: VectorClock = new Map(),
): number {
  const n = sorted.length
  let candidates = r.versions === Infinity ? 0 : Math.max(0, n - r.versions)
  if (r.maxAgeMs !== Infinity) {
    const cutoff = now - r.maxAgeMs
    let old = 0
    while (old < n && sorted[old]!.t < cutoff) old++
    candidates = Math.max(candidates, old)
  }
  if (candidates === 0) return 0
  // suffixMin[j]: element-wise minimum of the versions of sorted[j..n-1] (what every kept record includes).
  const suffixMin: Array<Map<number, number> | undefined> = new Array(n + 1)
  suffixMin[n] = undefined // nothing kept: no constraint
  for (let j = n - 1; j >= 0; j--) {
    const v = sorted[j]!.version
    const next = suffixMin[j + 1]
    if (!dominates(v, horizon)) {
      suffixMin[j] = next
      continue
    }
    if (next === undefined) {
      suffixMin[j] = new Map(v)
      continue
    }
    const m = new Map<number, number>()
    for (const [client, clock] of next) {
      const mine = v.get(client) ?? 0
      if (mine > 0) m.set(client, Math.min(clock, mine))
    }
    suffixMin[j] = m
  }
  // prefixMax up to j: per client, 1 + the greatest clock of the records sorted[0..j-1].
  const prefixMax = new Map<number, number>()
  let best = 0
  for (let j = 1; j <= candidates; j++) {
    const rec = sorted[j - 1]!
    if ((prefixMax.get(rec.client) ?? 0) < rec.clock + 1) prefixMax.set(rec.client, rec.clock + 1)
    const kept = suffixMin[j]
    let ok = true
    if (kept !== undefined) {
      for (const [client, clock] of prefixMax) {
        if ((kept.get(client) ?? 0) < clock) {
          ok = false
          break
        }
      }
    }
    if (ok) best = j
  }
  if (best < candidates && r.versions !== Infinity && n - best > 2 * r.versions) return candidates
  return best
}
