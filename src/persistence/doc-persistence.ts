/**
 * Binds a Y.Doc to a {@link Storage}: every update of the document is appended to the store, and
 * {@link DocPersistence.durable} tells when everything the document holds is on disk.
 *
 * Guarantees:
 * - Every transaction's update is appended, in order, whatever its origin (local writes, remote updates, garbage
 *   collection of losing entries, history records), except the load itself ({@link STORAGE_ORIGIN}).
 * - `durable()` resolves once every update applied to the document before the call is durable. The storage engine
 *   groups the appends of one tick into one transaction (one fsync), so waiting costs at most one commit.
 * - If an append fails (disk full, I/O error), the store is "behind" the document; the next `durable()` writes a full
 *   snapshot (`Y.encodeStateAsUpdate(doc)`, through `compact`) before it resolves, and rejects with the storage
 *   error while that is impossible. Callers that gate sending on `durable()` therefore never let a change leave
 *   the process before it is on disk, even across failed writes.
 * - The log is compacted (`shouldCompact`) every `compactCheckEvery` appends and on `close()`.
 * - Updates of a deferrable origin (remote updates: peers still hold them, and none of them is ours) are handed to the
 *   store up to `deferMs` later, so a receiver pays one fsync per interval instead of one per received message
 *   (better-sqlite3 blocks the event loop for each). They are handed over, in order, before any other update, and by
 *   `durable()`; a crash loses at most the deferred tail, which peers send again on the next catch-up.
 *
 * Does not guarantee anything for updates the document holds only as pending structs (they are written when they
 * integrate; until then peers still have them).
 *
 * @module
 */
import * as Y from 'yjs'
import { type Clock, systemClock, type TimerHandle } from '../clock.js'
import { STORAGE_ORIGIN } from '../doc/origins.js'
import type { MeshLogger } from '../logger.js'
import { type CompactionPolicyInit, shouldCompact } from '../storage/compaction-policy.js'
import type { Storage } from '../storage/storage.js'

/** Default of {@link DocPersistenceInit.compactCheckEvery}. */
export const DEFAULT_COMPACT_CHECK_EVERY = 256

/** Default of {@link DocPersistenceInit.deferMs}. */
export const DEFAULT_DEFER_MS = 50

/** Options of {@link bindDocToStorage}. */
export interface DocPersistenceInit {
  /** The document; its updates are appended from now on. */
  doc: Y.Doc
  /** An open store. */
  storage: Storage
  /** Where failures are logged. */
  logger: MeshLogger
  /** Ask `shouldCompact` after this many appends. Default {@link DEFAULT_COMPACT_CHECK_EVERY}. */
  compactCheckEvery?: number
  /** Thresholds passed to `shouldCompact`. Default: its defaults. */
  compaction?: CompactionPolicyInit
  /** Called on every update of the document, deferred or not (for the writer-id check). Default none. */
  afterUpdate?: () => void
  /** Whether updates of this transaction origin may be stored up to `deferMs` later. Default: none may. */
  deferrable?: (origin: unknown) => boolean
  /** Longest delay of a deferrable update, ms; 0 stores every update at once. Default {@link DEFAULT_DEFER_MS}. */
  deferMs?: number
  /** Timers of deferred stores. Default: the system clock. */
  clock?: Clock
}

/** Counters of a {@link DocPersistence}. */
export interface DocPersistenceCounters {
  /** Updates handed to the store. */
  appends: number
  /** Updates whose append failed. */
  failedAppends: number
  /** Compactions written (periodic, at close, and snapshots after a failed append). */
  compactions: number
}

/** A document bound to a store. */
export interface DocPersistence {
  /** Resolves once every update applied to the document before the call is durable; rejects with a storage error. */
  durable(): Promise<void>
  /** Compacts when `shouldCompact` says so; resolves with whether it did. Never rejects (failures are logged). */
  compactIfNeeded(): Promise<boolean>
  /** Stops appending, waits for what was appended, compacts if needed. Does not close the store. */
  detach(): Promise<void>
  /** Counters. */
  readonly counters: DocPersistenceCounters
}

/** Starts appending `init.doc`'s updates to `init.storage`. */
export function bindDocToStorage(init: DocPersistenceInit): DocPersistence {
  return new BoundDoc(init)
}

class BoundDoc implements DocPersistence {
  readonly counters: DocPersistenceCounters = { appends: 0, failedAppends: 0, compactions: 0 }
  private readonly init: DocPersistenceInit
  private readonly checkEvery: number
  /** Settles (never rejects) when the latest append settled; appends commit in order, so all earlier ones did too. */
  private last: Promise<void> = Promise.resolve()
  /** Bumped on every failed append; a snapshot taken at generation g repairs failures up to g. */
  private failures = 0
  private repairedThrough = 0
  private lastError: unknown
  private sinceCheck = 0
  private compacting: Promise<boolean> | undefined
  private snapshotting: Promise<void> | undefined
  private attached = true
  private readonly deferMs: number
  private deferred: Uint8Array[] = []
  private deferTimer: TimerHandle | undefined
  private readonly onUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === STORAGE_ORIGIN || !this.attached) return
    this.init.afterUpdate?.()
    if (this.deferMs > 0 && this.init.deferrable?.(origin) === true) {
      this.deferred.push(update)
      if (this.deferTimer === undefined) {
        this.deferTimer = (this.init.clock ?? systemClock).setTimeout(() => this.flushDeferred(), this.deferMs)
      }
      return
    }
    this.flushDeferred()
    this.append(update)
  }

  constructor(init: DocPersistenceInit) {
    this.init = init
    this.checkEvery = init.compactCheckEvery ?? DEFAULT_COMPACT_CHECK_EVERY
    this.deferMs = init.deferMs ?? DEFAULT_DEFER_MS
    init.doc.on('update', this.onUpdate)
  }

  /** Hands every deferred update to the store, in order. */
  private flushDeferred(): void {
    if (this.deferTimer !== undefined) {
      ;(this.init.clock ?? systemClock).clearTimeout(this.deferTimer)
      this.deferTimer = undefined
    }
    const updates = this.deferred
    if (updates.length === 0) return
    this.deferred = []
    for (const update of updates) this.append(update)
  }

  private append(update: Uint8Array): void {
    this.counters.appends++
    this.last = this.init.storage.append(update).catch((err: unknown) => {
      this.counters.failedAppends++
      this.failures++
      this.lastError = err
      this.init.logger.error(`storing an update failed, a snapshot will be written instead: ${describe(err)}`)
    })
    if (++this.sinceCheck >= this.checkEvery) {
      this.sinceCheck = 0
      void this.compactIfNeeded()
    }
  }

  async durable(): Promise<void> {
    this.flushDeferred()
    await this.last
    // A snapshot already in flight may predate the latest failure: then one more is needed.
    for (let attempt = 0; this.repairedThrough < this.failures; attempt++) {
      if (attempt === 2) throw this.lastError
      await this.snapshot()
    }
  }

  compactIfNeeded(): Promise<boolean> {
    this.compacting ??= this.compactNow().finally(() => {
      this.compacting = undefined
    })
    return this.compacting
  }

  async detach(): Promise<void> {
    if (!this.attached) return
    this.attached = false
    this.init.doc.off('update', this.onUpdate)
    this.flushDeferred()
    try {
      await this.durable()
    } catch (err) {
      this.init.logger.error(`the last changes could not be stored: ${describe(err)}`)
    }
    await this.compacting
    await this.compactIfNeeded()
  }

  private async compactNow(): Promise<boolean> {
    try {
      if (!shouldCompact(await this.init.storage.stats(), this.init.compaction)) return false
      await this.snapshot()
      return true
    } catch (err) {
      this.init.logger.warn(`compaction failed (the log keeps growing until one succeeds): ${describe(err)}`)
      return false
    }
  }

  /** Replaces the store's content with the document's full state (one at a time). */
  private snapshot(): Promise<void> {
    this.snapshotting ??= (async () => {
      try {
        const generation = this.failures
        // Everything appended so far is in the document: the snapshot covers it, and whatever failed to append.
        await this.init.storage.compact(Y.encodeStateAsUpdate(this.init.doc))
        this.counters.compactions++
        this.repairedThrough = Math.max(this.repairedThrough, generation)
      } finally {
        this.snapshotting = undefined
      }
    })()
    return this.snapshotting
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}
