/**
 * Local durable storage for offline-first restarts: the {@link Storage} seam, its engines, and the policy that tells
 * when to compact.
 *
 * @example
 * ```ts
 * import * as Y from 'yjs'
 * import { createSqliteStorage, shouldCompact } from './storage/index.js'
 *
 * const storage = createSqliteStorage({ dataDir: './.confmesh' })
 * await storage.open() // StorageLockedError if another process uses the dir, StorageCorruptError if it is damaged
 * const doc = new Y.Doc()
 * const stored = await storage.load() // snapshot first, then the updates after it
 * Y.transact(doc, () => {
 *   for (const update of stored) Y.applyUpdate(doc, update)
 * })
 * doc.on('update', async (update: Uint8Array) => {
 *   await storage.append(update) // durable once resolved; appends of one tick share one fsync
 *   if (shouldCompact(await storage.stats())) await storage.compact(Y.encodeStateAsUpdate(doc))
 * })
 * ```
 *
 * @packageDocumentation
 */

export {
  type CompactionPolicyInit,
  DEFAULT_COMPACT_LOG_TO_SNAPSHOT_RATIO,
  DEFAULT_COMPACT_MAX_UPDATES,
  DEFAULT_COMPACT_MIN_LOG_BYTES,
  shouldCompact,
} from './compaction-policy.js'
export {
  StorageAccessError,
  StorageClosedError,
  StorageCorruptError,
  StorageError,
  StorageLockedError,
  StorageVersionError,
  StorageWriteError,
} from './errors.js'
export { createMemoryStorage } from './memory-storage.js'
export {
  type CommitInfo,
  createSqliteStorage,
  DATABASE_FILE,
  DEFAULT_LOCK_TIMEOUT_MS,
  type SqliteStorageInit,
} from './sqlite-storage.js'
export type { Storage, StorageStats } from './storage.js'
