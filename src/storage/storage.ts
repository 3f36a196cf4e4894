/**
 * The storage seam: one small interface every engine implements, and that the mesh uses for offline-first restarts.
 *
 * A store keeps, for one Y.Doc:
 * - a **log** of Yjs updates, appended one at a time as they are applied locally or received;
 * - at most one **snapshot** (`Y.encodeStateAsUpdate(doc)`) that replaces the log prefix it covers;
 * - a few small **metadata** values (peer identity, Yjs client id, known peer addresses).
 *
 * Guarantees every engine gives (checked by `test/helpers/storage-acceptance.ts`):
 * - Writes are applied in call order: `load()` returns the snapshot, then the updates appended after it, in the order
 *   their `append()` calls were made.
 * - A write's promise resolves only once the write is durable (for a durable engine, on disk and fsync'd). Writes made
 *   while another is pending are grouped (group commit), so durability costs one sync per batch, not per write.
 * - A write that rejects is not stored; writes before it are unaffected.
 * - Reads see every write issued before them, even one whose promise has not resolved yet (read your writes).
 * - Blobs are stored by value: mutating a buffer after passing it in, or after getting it back, changes nothing stored.
 * - Every operation on a store that is not open rejects with `StorageClosedError`.
 *
 * What a store does not do: it never decodes or validates Yjs updates (the mesh validates before applying), and it
 * does not decide when to compact (see `shouldCompact`).
 *
 * @module
 */

/** Size counters of a store, to decide when to compact and to report disk use. */
export interface StorageStats {
  /**
   * Bytes the store occupies: on disk for a durable engine (database and write-ahead log), in memory for the memory
   * engine. Includes free pages a durable engine keeps for reuse.
   */
  bytes: number
  /** Number of updates appended since the last compaction, i.e. what `load()` returns after the snapshot. */
  updates: number
  /** Total size in bytes of those updates. */
  updateBytes: number
  /** Size in bytes of the current snapshot; 0 when there is none. */
  snapshotBytes: number
}

/**
 * Local durable state of one mesh node. Long-lived: `open()` it once, `close()` it on shutdown. Engines:
 * `createSqliteStorage` (durable, one process per data directory) and `createMemoryStorage` (nothing survives
 * `close()`).
 */
export interface Storage {
  /**
   * Opens the store, creating it if it does not exist. Resolves at once when already open; a closed store may be
   * opened again. A durable engine rejects with `StorageLockedError`, `StorageCorruptError`, `StorageAccessError` or
   * `StorageVersionError` instead of opening a store it cannot trust, and then leaves its files untouched.
   */
  open(): Promise<void>

  /**
   * Completes every write issued before the call, then closes the store. Later operations reject with
   * `StorageClosedError` until `open()` is called again. Resolves at once when not open.
   */
  close(): Promise<void>

  /**
   * Appends one Yjs update to the log. Resolves once it is durable; appends made in the same tick are committed
   * together in one transaction and resolve together.
   */
  append(update: Uint8Array): Promise<void>

  /**
   * Returns the snapshot (when there is one) followed by every update appended after it, in append order. Applying
   * them in this order to an empty Y.Doc rebuilds the stored state. Rejects with `StorageCorruptError` if a stored
   * blob fails its checksum: a store never returns damaged or partial data silently.
   */
  load(): Promise<Uint8Array[]>

  /**
   * Atomically replaces the snapshot and every update whose `append()` was called before this call with `snapshot`.
   * Updates appended after this call are kept and follow the new snapshot. The caller passes
   * `Y.encodeStateAsUpdate(doc)` of a doc that has applied every update appended so far; updates that the snapshot
   * also contains are harmless (applying a Yjs update twice is a no-op).
   */
  compact(snapshot: Uint8Array): Promise<void>

  /**
   * Returns the metadata value stored under `key`, or `undefined`. Rejects with `StorageCorruptError` if the stored
   * value fails its checksum.
   */
  getMeta(key: string): Promise<Uint8Array | undefined>

  /** Durably stores `value` under `key` (replacing any previous value). Keys are 1 to 256 characters. */
  setMeta(key: string, value: Uint8Array): Promise<void>

  /** Returns size counters of the store. */
  stats(): Promise<StorageStats>
}
