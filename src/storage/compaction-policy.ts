/**
 * When to compact. A store's log grows by one row per update; a restart replays all of it (see `bench/storage.ts`
 * for what that costs), while compaction costs one `Y.encodeStateAsUpdate(doc)` and one transaction. Compacting when
 * the log outweighs the snapshot keeps both the disk use and the restart time within about twice the size of the
 * state itself.
 *
 * @module
 */

import type { StorageStats } from './storage.js'

/** Default of {@link CompactionPolicyInit.maxUpdates}. */
export const DEFAULT_COMPACT_MAX_UPDATES = 5_000

/** Default of {@link CompactionPolicyInit.minLogBytes}. */
export const DEFAULT_COMPACT_MIN_LOG_BYTES = 256 * 1024

/** Default of {@link CompactionPolicyInit.logToSnapshotRatio}. */
export const DEFAULT_COMPACT_LOG_TO_SNAPSHOT_RATIO = 1

/** Thresholds of {@link shouldCompact}. */
export interface CompactionPolicyInit {
  /** Compact once the log holds this many updates, whatever their size. Default {@link DEFAULT_COMPACT_MAX_UPDATES}. */
  maxUpdates?: number
  /** Never compact for size below this many log bytes. Default {@link DEFAULT_COMPACT_MIN_LOG_BYTES}. */
  minLogBytes?: number
  /**
   * Compact once the log is this many times the size of the snapshot (and at least `minLogBytes`). Default
   * {@link DEFAULT_COMPACT_LOG_TO_SNAPSHOT_RATIO}.
   */
  logToSnapshotRatio?: number
}

/**
 * Whether a store with these `stats` should be compacted now: its log holds at least `maxUpdates` updates, or at least
 * `minLogBytes` bytes and `logToSnapshotRatio` times the snapshot's size.
 */
export function shouldCompact(stats: StorageStats, init: CompactionPolicyInit = {}): boolean {
  const maxUpdates = init.maxUpdates ?? DEFAULT_COMPACT_MAX_UPDATES
  const minLogBytes = init.minLogBytes ?? DEFAULT_COMPACT_MIN_LOG_BYTES
  const ratio = init.logToSnapshotRatio ?? DEFAULT_COMPACT_LOG_TO_SNAPSHOT_RATIO
  if (stats.updates === 0) return false
  if (stats.updates >= maxUpdates) return true
  return stats.updateBytes >= minLogBytes && stats.updateBytes >= ratio * stats.snapshotBytes
}
