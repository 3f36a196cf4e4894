/**
 * Hybrid logical clock (Kulkarni et al., 2014). Every write carries one; the write with the greatest timestamp wins,
 * ties broken by author id, so "the later write wins" and every peer picks the same winner.
 *
 * @module
 */

/** A hybrid logical timestamp: wall-clock milliseconds plus a logical counter for events in the same millisecond. */
export interface HlcTimestamp {
  /** Milliseconds since the epoch (physical part, never behind the local wall clock when issued). */
  readonly ms: number
  /** Logical counter, reset when `ms` advances. */
  readonly c: number
}

/** Compares two timestamps: negative if `a` is earlier, positive if later, 0 if equal. */
export function compareHlc(a: HlcTimestamp, b: HlcTimestamp): number {
  return a.ms !== b.ms ? a.ms - b.ms : a.c - b.c
}

/** A hybrid logical clock. Not shared between peers; one per replica. */
export interface HybridLogicalClock {
  /** Issues a timestamp greater than every timestamp issued or observed before. */
  now(): HlcTimestamp
  /** Merges a remote timestamp so later local timestamps are greater than it. */
  observe(ts: HlcTimestamp): void
  /** The greatest timestamp issued or observed. */
  latest(): HlcTimestamp
}

/** Creates a hybrid logical clock over `wallClock` (default `Date.now`). */
export function createHybridLogicalClock(wallClock: () => number = Date.now): HybridLogicalClock {
  let last: HlcTimestamp = { ms: 0, c: 0 }
  return {
    now() {
      const wall = wallClock()
      last = wall > last.ms ? { ms: wall, c: 0 } : { ms: last.ms, c: last.c + 1 }
      return last
    },
    observe(ts) {
      if (compareHlc(ts, last) > 0) last = { ms: ts.ms, c: ts.c }
    },
    latest() {
      return last
    },
  }
}
