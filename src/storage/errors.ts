/**
 * Named errors of the storage module. All extend {@link StorageError} (itself a {@link ConfmeshError}), so a caller can
 * catch "anything storage" with one `instanceof`, or match a single condition on `err.name` / `err.code`.
 *
 * The refusals raised by `open()` ({@link StorageLockedError}, {@link StorageCorruptError}, {@link StorageAccessError},
 * {@link StorageVersionError}) never modify the store's files: the operator can inspect, back up or repair them.
 *
 * @module
 */

import { ConfmeshError } from '../errors.js'

/** Base class of every storage error. Thrown as-is only for failures that fit none of the subclasses. */
export class StorageError extends ConfmeshError {
  static override readonly code: string = 'ERR_STORAGE'
}

/**
 * The data directory is in use by another process (or by another open store in this process). The lock is held by
 * the operating system on behalf of the holder and disappears with it, even when it is killed, so this error always
 * means a live holder: stop it, or use another data directory.
 */
export class StorageLockedError extends StorageError {
  static override readonly code = 'ERR_STORAGE_LOCKED'
}

/**
 * The store's files are damaged: not a SQLite file, not a confmesh store, truncated, failing SQLite's integrity check,
 * or a stored record whose checksum does not match. The files are left untouched; restore them from a backup, or
 * move the data directory aside and let the node resynchronise from its peers.
 */
export class StorageCorruptError extends StorageError {
  static override readonly code = 'ERR_STORAGE_CORRUPT'
}

/**
 * The data directory or one of its files cannot be used: permission denied, read-only file system, or a path of the
 * wrong kind (a directory where a file should be, a file where the directory should be).
 */
export class StorageAccessError extends StorageError {
  static override readonly code = 'ERR_STORAGE_ACCESS'
}

/** The store was written by a newer confmesh with a schema this version does not know. Upgrade confmesh. */
export class StorageVersionError extends StorageError {
  static override readonly code = 'ERR_STORAGE_VERSION'
}

/** The store was used before `open()` or after `close()`. */
export class StorageClosedError extends StorageError {
  static override readonly code = 'ERR_STORAGE_CLOSED'
}

/**
 * A write (append, compaction or metadata) could not be made durable, e.g. the disk is full or failed. Every write of
 * the failed batch is rolled back; none of them is stored. Earlier acknowledged writes are unaffected.
 */
export class StorageWriteError extends StorageError {
  static override readonly code = 'ERR_STORAGE_WRITE'
}
