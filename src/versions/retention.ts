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
   * Pruning starts once the count exceeds the limit by 25 %, and brings it back to the limit.
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
  return { versions, maxAgeMs, slack: versions === Infinity ? 0 : Math.floor(versions / 4) }
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
  // The largest j <= candidates such that every kept record (sorted[j..], those still reconstructible) includes every
  // pruned one (sorted[..j]). Usually j = candidates at the first try; else step down one record at a time.
  const kept = new Map<number, number>() // element-wise minimum of the kept versions (absent: 0)
  let constrained = false
  const keep = (rec: HistoryRecord) => {
    if (!dominates(rec.version, horizon)) return
    if (!constrained) {
      for (const [client, clock] of rec.version) kept.set(client, clock)
      constrained = true
      return
    }
    for (const [client, clock] of kept) {
      const mine = rec.version.get(client) ?? 0
      if (mine < clock) kept.set(client, mine)
    }
  }
  for (let i = candidates; i < n; i++) keep(sorted[i]!)
  let best = 0
  for (let j = candidates; j > 0; j--) {
    if (!constrained || prefixIncluded(sorted, j, kept)) {
      best = j
      break
    }
    keep(sorted[j - 1]!)
  }
  if (best < candidates && r.versions !== Infinity && n - best > 2 * r.versions) return candidates
  return best
}

/** Whether every record of `sorted[0..j)` is included in `clock`. */
function prefixIncluded(sorted: readonly HistoryRecord[], j: number, clock: ReadonlyMap<number, number>): boolean {
  for (let i = 0; i < j; i++) {
    const rec = sorted[i]!
    if ((clock.get(rec.client) ?? 0) <= rec.clock) return false
  }
  return true
}
