/**
 * Versions of the replicated configuration: vector clocks, history, point-in-time views, diffs, rollback and
 * retention, over the document the key-value store lives in. See `docs/versions.md` for the model.
 *
 * Wiring: pass {@link Versions.onLocalWrite} as the key-value store's `onLocalWrite` hook, so every local write batch
 * pushes its history record in its own transaction; the mesh routes `snapshot`/`rollback` writes through its normal
 * write path (validation, durability) via a {@link WriteBatch} function.
 *
 * @module
 */
import * as Y from 'yjs'
import { type Clock, type Random, systemClock, type TimerHandle } from '../clock.js'
import type { LocalWriteHook, WriteMeta, WriteOp } from '../config/kv-store.js'
import { forEachDeleted, forEachInserted } from '../config/yjs-elements.js'
import { ENTRIES_ROOT } from '../doc/entry.js'
import type { HybridLogicalClock } from '../doc/hlc.js'
import { CLEANUP_ORIGIN, LOCAL_ORIGIN } from '../doc/origins.js'
import { type BaseState, isBaseElement, readBase } from './base.js'
import { diffStates, type HistoryChange } from './diff.js'
import { VersionPrunedError } from './errors.js'
import { type HistoryEntry, type HistoryOptions, listHistory, recordVersion } from './history.js'
import { pruneRecords } from './prune.js'
import {
  buildRecord,
  compareRecords,
  type ElementReader,
  elementReader,
  type HistoryRecord,
  localRecord,
  parseRecord,
  readRecords,
} from './record.js'
import {
  overCount,
  prunableCount,
  type ResolvedRetention,
  type RetentionOptions,
  resolveRetention,
} from './retention.js'
import {
  type LiveConfig,
  planRollback,
  type RollbackOptions,
  type RollbackResult,
  resolveRollbackScope,
  rollbackMessage,
} from './rollback.js'
import { type ConfigState, stateAt } from './state.js'
import {
  clockOf,
  compareClocks,
  dominates,
  includesStruct,
  stateVectorOf,
  toVersion,
  type Version,
  type VersionOrder,
  type VersionRef,
} from './vector-clock.js'
import { awaitVersion, notReceivedError, resolveWaitMs, type VersionWaitOptions } from './version-wait.js'
import { createVersionView, type VersionView } from './view.js'

/** Options of {@link createVersions}. */
export interface VersionsInit {
  /** The document shared with the key-value store. */
  doc: Y.Doc
  /** Peer id recorded as the author of local change sets. */
  author: string
  /** The replica's hybrid logical clock (the key-value store's). */
  clock: HybridLogicalClock
  /** Retention; defaults in {@link resolveRetention}. */
  retention?: RetentionOptions
  /** Wall clock for age-based retention. Default `Date.now` (the `timers` clock's when given). */
  now?: () => number
  /** Timers of background pruning. Default: the system clock. */
  timers?: Clock
  /** Jitter of background pruning. Default `Math.random`. */
  random?: Random
  /** Called with errors of background pruning (they never break a transaction). Default: ignored. */
  onError?: (err: unknown) => void
  /**
   * One pull round from every connected peer (the mesh's `syncNow`): how `rollback`, `atAsync` and `diffAsync` fetch
   * writes a version names that this peer lacks (see `version-wait.ts`). Default: none (they fail at once).
   */
  pull?: () => Promise<void>
  /** The peer a Yjs client id belongs to, when known (names missing writers in errors). Default: history authors. */
  writerOf?: (client: number) => string | undefined
  /**
   * Whether this replica may prune now (asked by every prune, background or not). A peer that is not a writer must
   * not: a prune writes the new base under this peer's client id, every other peer refuses that update, so the peer's
   * history and state vector would differ from everyone's for good; the writers' prunes reach it instead. Default:
   * always.
   */
  mayPrune?: () => boolean
}

/** Applies a local write batch through the mesh's write path; resolves when it is applied. */
export type WriteBatch = (ops: WriteOp[], meta: WriteMeta) => Promise<void>

/** Write metadata understood by {@link Versions.onLocalWrite} (the store passes `meta` through untouched). */
export interface RecordingMeta extends WriteMeta {
  /** Called inside the transaction with the version of the record just pushed. */
  readonly onRecorded?: (version: Version) => void
}

/** The versions of one replica. */
export interface Versions {
  /** Retention in force. */
  readonly retention: ResolvedRetention
  /** Key-value store hook: pushes the history record of every local write batch in its transaction. */
  readonly onLocalWrite: LocalWriteHook
  /** The current version (the document's state vector). */
  version(): Version
  /** Vector-clock order of `a` relative to `b`. Throws `UnknownVersionError` for garbage. */
  compare(a: VersionRef, b: VersionRef): VersionOrder
  /** Retained history, newest first. */
  history(options?: HistoryOptions): HistoryEntry[]
  /** The whole configuration as it was at `ref`. */
  at(ref: VersionRef): VersionView
  /** Keys that differ between `from` and `to` (default: the current version). */
  diff(from: VersionRef, to?: VersionRef): HistoryChange[]
  /** {@link Versions.at}, after pulling the version's missing writes from connected peers (within `timeoutMs`). */
  atAsync(ref: VersionRef, options?: VersionWaitOptions): Promise<VersionView>
  /** {@link Versions.diff}, after pulling both versions' missing writes from connected peers (within `timeoutMs`). */
  diffAsync(from: VersionRef, to?: VersionRef, options?: VersionWaitOptions): Promise<HistoryChange[]>
  /** Records a labelled version through `write`; resolves with it. */
  snapshot(write: WriteBatch, message?: string): Promise<Version>
  /**
   * Rolls `live` back to `ref` (all, one namespace or some keys) with one forward write batch through `write`, after
   * pulling the version's missing writes from connected peers (within `options.timeoutMs`).
   */
  rollback(
    ref: VersionRef,
    options: RollbackOptions | undefined,
    live: LiveConfig,
    write: WriteBatch,
  ): Promise<RollbackResult>
  /**
   * Sets the pull round (see {@link VersionsInit.pull}) once sync exists: the mesh builds versions first (the store
   * records history through it, and sync's authorisation reads the store), so sync's pull arrives here afterwards.
   */
  usePull(pull: () => Promise<void>): void
  /** Number of retained versions (history records). */
  retained(): number
  /**
   * Prunes what retention allows now (also runs by itself); returns the number of records pruned (0 while
   * {@link VersionsInit.mayPrune} says no).
   */
  prune(): number
  /** Starts the age-based pruning timer (when `maxAgeMs` is finite). */
  start(): void
  /** Stops the timer and detaches from the document. Idempotent. */
  stop(): void
}

/** Creates the versions of `init.doc`. */
export function createVersions(init: VersionsInit): Versions {
  return new DocVersions(init)
}

class DocVersions implements Versions {
  readonly retention: ResolvedRetention
  readonly onLocalWrite: LocalWriteHook
  private readonly doc: Y.Doc
  private readonly author: string
  private readonly clock: HybridLogicalClock
  /** The root array shared with the key-value store: entries, history records and the compacted base. */
  private readonly array: Y.Array<unknown>
  /** Reads the entries records and base writes refer to. */
  private readonly read: ElementReader
  private readonly now: () => number
  private readonly onError: (err: unknown) => void
  private pull: (() => Promise<void>) | undefined
  private readonly writerOf: (client: number) => string | undefined
  private readonly mayPrune: () => boolean
  private readonly handler: (tr: Y.Transaction) => void
  /** Retained records by Yjs id (`client:clock`), maintained incrementally from every transaction. */
  private readonly records_ = new Map<string, HistoryRecord>()
  private sorted: HistoryRecord[] | undefined
  private baseState: BaseState | undefined
  /** The record of each local write batch (indexed in its afterTransaction without scanning). */
  private readonly localRecords = new WeakMap<Y.Transaction, HistoryRecord>()
  /** The last encoded state vector of other writers (see {@link DocVersions.encodeOthers}). */
  private lastOthers: { clock: ReadonlyMap<number, number>; bytes: Uint8Array } | undefined
  private timer: TimerHandle | undefined
  private readonly timers: Clock
  private readonly random: Random
  private stopped = false

  constructor(init: VersionsInit) {
    this.doc = init.doc
    this.author = init.author
    this.clock = init.clock
    this.retention = resolveRetention(init.retention)
    this.timers = init.timers ?? systemClock
    this.random = init.random ?? Math.random
    this.now = init.now ?? (init.timers === undefined ? Date.now : () => this.timers.now())
    this.onError = init.onError ?? (() => {})
    this.pull = init.pull
    this.writerOf = (client) => init.writerOf?.(client) ?? this.authorOf(client)
    this.mayPrune = init.mayPrune ?? (() => true)
    this.array = init.doc.getArray(ENTRIES_ROOT)
    this.read = elementReader(this.array)
    for (const r of readRecords(this.array)) this.records_.set(recordKey(r.client, r.clock), r)
    this.onLocalWrite = (entries, tr, meta) => this.record(entries, tr, meta as RecordingMeta)
    this.handler = (tr) => this.afterTransaction(tr)
    this.doc.on('afterTransaction', this.handler)
  }

  // --- reading ----------------------------------------------------------------------------------------------------

  version(): Version {
    return toVersion(stateVectorOf(this.doc))
  }

  compare(a: VersionRef, b: VersionRef): VersionOrder {
    return compareClocks(clockOf(a), clockOf(b))
  }

  history(options: HistoryOptions = {}): HistoryEntry[] {
    if (options === null || typeof options !== 'object') throw new TypeError('history options must be an object')
    return listHistory(this.records(), this.base(), stateVectorOf(this.doc), options)
  }

  at(ref: VersionRef): VersionView {
    const clock = clockOf(ref)
    return createVersionView(toVersion(clock), this.stateOf(clock))
  }

  diff(from: VersionRef, to?: VersionRef): HistoryChange[] {
    const a = this.stateOf(clockOf(from))
    const b = this.stateOf(to === undefined ? stateVectorOf(this.doc) : clockOf(to))
    return diffStates(a, b)
  }

  async atAsync(ref: VersionRef, options?: VersionWaitOptions): Promise<VersionView> {
    const clock = clockOf(ref)
    await this.reach(clock, resolveWaitMs(options))
    return this.at(ref)
  }

  async diffAsync(from: VersionRef, to?: VersionRef, options?: VersionWaitOptions): Promise<HistoryChange[]> {
    const a = clockOf(from)
    const b = to === undefined ? undefined : clockOf(to)
    const ms = resolveWaitMs(options)
    await this.reach(a, ms)
    if (b !== undefined) await this.reach(b, ms)
    return this.diff(from, to)
  }

  usePull(pull: () => Promise<void>): void {
    this.pull = pull
  }

  retained(): number {
    return this.records_.size
  }

  // --- writing ----------------------------------------------------------------------------------------------------

  async snapshot(write: WriteBatch, message?: string): Promise<Version> {
    if (message !== undefined && typeof message !== 'string') throw new TypeError('snapshot message must be a string')
    if (this.retention.versions === 0) return this.version()
    let recorded: Version | undefined
    const meta: RecordingMeta = {
      snapshot: true,
      ...(message === undefined ? {} : { message }),
      onRecorded: (v) => {
        recorded = v
      },
    }
    await write([], meta)
    return recorded ?? this.version()
  }

  async rollback(
    ref: VersionRef,
    options: RollbackOptions | undefined,
    live: LiveConfig,
    write: WriteBatch,
  ): Promise<RollbackResult> {
    const clock = clockOf(ref)
    const scope = resolveRollbackScope(options)
    if (options?.message !== undefined && typeof options.message !== 'string') {
      throw new TypeError('rollback message must be a string')
    }
    await this.reach(clock, resolveWaitMs(options))
    const target = this.stateOf(clock)
    const { ops, changes } = planRollback(target, clock, live, scope, options?.rewrite)
    let recorded: Version | undefined
    const meta: RecordingMeta = {
      snapshot: true,
      tombstoneAbsent: true,
      message: options?.message ?? rollbackMessage(toVersion(clock).id, scope),
      onRecorded: (v) => {
        recorded = v
      },
    }
    await write(ops, meta)
    return { version: recorded ?? this.version(), changes }
  }

  prune(): number {
    if (this.stopped || this.retention.versions === 0 || !this.mayPrune()) return 0
    const sorted = this.records()
    const base = this.base()
    const count = prunableCount(sorted, this.retention, this.now(), base.horizon)
    if (count === 0) return 0
    const victims = sorted.slice(0, count)
    this.doc.transact((tr) => {
      const newest = sorted[sorted.length - 1]!
      this.baseState = pruneRecords(tr, this.array, base, victims, Y.createID(newest.client, newest.clock))
      for (const r of victims) this.records_.delete(recordKey(r.client, r.clock))
      this.sorted = sorted.slice(count)
    }, CLEANUP_ORIGIN)
    return count
  }

  // --- lifecycle --------------------------------------------------------------------------------------------------

  start(): void {
    if (this.stopped || this.timer !== undefined) return
    if (this.retention.versions === 0 || this.retention.maxAgeMs === Infinity) return
    const period = Math.min(60_000, Math.max(1_000, this.retention.maxAgeMs / 10))
    const schedule = () => {
      // jitter, so that peers rarely prune the same aged records at the same moment
      this.timer = this.timers.setTimeout(
        () => {
          try {
            this.prune()
          } catch (err) {
            this.onError(err)
          }
          if (!this.stopped) schedule()
        },
        period * (0.5 + this.random()),
      )
    }
    schedule()
  }

  stop(): void {
    if (this.stopped) return
    this.stopped = true
    this.timers.clearTimeout(this.timer)
    this.timer = undefined
    this.doc.off('afterTransaction', this.handler)
  }

  // --- internals --------------------------------------------------------------------------------------------------

  /** The key-value store hook: returns the record to push right after the batch's entries. */
  private record(
    entries: Parameters<LocalWriteHook>[0],
    tr: Y.Transaction,
    meta: RecordingMeta,
  ): unknown[] | undefined {
    if (this.retention.versions === 0 || this.stopped) return undefined
    if (entries.length === 0 && meta.snapshot !== true) return undefined
    const own = this.doc.clientID
    const others = stateVectorOf(this.doc)
    // the entries get the next clocks, then the record
    const clock = (others.get(own) ?? 0) + entries.length
    others.delete(own)
    const last = entries[entries.length - 1]
    const ts = last === undefined ? this.clock.now() : { ms: last.t, c: last.c }
    const stored = buildRecord(entries, this.author, ts, this.encodeOthers(others), meta.message)
    const record = localRecord(stored, entries, own, clock, others)
    this.localRecords.set(tr, record)
    meta.onRecorded?.(recordVersion(record))
    return [stored]
  }

  /** `Y.encodeStateVector(others)`, reusing the previous bytes while nobody else wrote (the common case). */
  private encodeOthers(others: ReadonlyMap<number, number>): Uint8Array {
    const last = this.lastOthers
    if (last !== undefined && last.clock.size === others.size) {
      let same = true
      for (const [client, n] of others) {
        if (last.clock.get(client) !== n) {
          same = false
          break
        }
      }
      if (same) return last.bytes
    }
    const bytes = Y.encodeStateVector(others as Map<number, number>)
    this.lastOthers = { clock: others, bytes }
    return bytes
  }

  /** Keeps the record index and the base cache current; prunes after local writes that exceed the retention. */
  private afterTransaction(tr: Y.Transaction): void {
    const local = this.localRecords.get(tr)
    if (!(tr.changed as Map<unknown, unknown>).has(this.array)) return
    let recordsChanged = false
    if (local !== undefined) {
      this.records_.set(recordKey(local.client, local.clock), local)
      recordsChanged = true
      // a local record is (almost always) the newest: keep the sorted list instead of sorting again
      const sorted = this.sorted
      const last = sorted?.[sorted.length - 1]
      if (sorted !== undefined && (last === undefined || compareRecords(last, local) < 0)) sorted.push(local)
      else this.sorted = undefined
    }
    // Fast paths: a local write batch only inserts entries and the record above, and only deletes replaced entries;
    // the store's garbage collection only deletes entries; this module's own transactions update the index and base
    // themselves. Everything else (remote updates) is scanned.
    const scan = tr.origin !== LOCAL_ORIGIN && tr.origin !== CLEANUP_ORIGIN
    if (scan && this.scan(tr)) {
      recordsChanged = true
      this.sorted = undefined
    }
    if (recordsChanged && tr.origin === LOCAL_ORIGIN && overCount(this.records_.size, this.retention)) {
      try {
        this.prune()
      } catch (err) {
        this.onError(err)
      }
    }
  }

  /** Updates the record index and base cache from what `tr` inserted and deleted; returns whether records changed. */
  private scan(tr: Y.Transaction): boolean {
    let recordsChanged = false
    let baseChanged = false
    forEachDeleted(tr, this.array, (element, client, clock) => {
      if (this.records_.delete(recordKey(client, clock))) recordsChanged = true
      else if (isBaseElement(element)) baseChanged = true
    })
    // a base write can arrive before the entry it refers to (another writer's struct): read the base again then
    let inserted = false
    forEachInserted(tr, this.array, (element, client, clock) => {
      inserted = true
      const record = parseRecord(element, client, clock, this.read)
      if (record !== undefined) {
        this.records_.set(recordKey(client, clock), record)
        recordsChanged = true
      } else if (isBaseElement(element)) {
        baseChanged = true
      }
    })
    if (inserted && (this.baseState?.lost ?? 0) > 0) baseChanged = true
    // losers a remote prune (maybe concurrent with another) leaves stay until the next prune of their key or writer
    if (baseChanged) this.baseState = undefined
    return recordsChanged
  }

  /** Retained records, oldest first. */
  private records(): HistoryRecord[] {
    this.sorted ??= [...this.records_.values()].sort(compareRecords)
    return this.sorted
  }

  private base(): BaseState {
    this.baseState ??= readBase(this.array, this.read)
    return this.baseState
  }

  /** Resolves once the document includes `clock`, pulling from connected peers for up to `timeoutMs`. */
  private async reach(clock: ReadonlyMap<number, number>, timeoutMs: number): Promise<void> {
    if (this.retention.versions === 0) return // stateOf explains
    const init = {
      writerOf: this.writerOf,
      timers: this.timers,
      ...(this.pull === undefined ? {} : { pull: this.pull }),
    }
    await awaitVersion(this.doc, clock, toVersion(clock).id, timeoutMs, init)
  }

  /** The author of a retained record written under `client`, if any. */
  private authorOf(client: number): string | undefined {
    for (const r of this.records_.values()) if (r.client === client) return r.author
    return undefined
  }

  /** The state at `clock`, after checking that this peer can reconstruct it. */
  private stateOf(clock: ReadonlyMap<number, number>): ConfigState {
    const id = toVersion(clock).id
    if (this.retention.versions === 0) {
      throw new VersionPrunedError(`history is disabled on this peer (retention.versions = 0): cannot show ${id}`)
    }
    if (!dominates(stateVectorOf(this.doc), clock)) throw notReceivedError(this.doc, clock, id, 0, this.writerOf)
    const base = this.base()
    if (!dominates(clock, base.horizon)) {
      throw new VersionPrunedError(`version ${id} is older than the retained history (pruned)`)
    }
    const records = this.records()
    if (base.lost > 0 || records.some((r) => r.lost > 0 && includesStruct(clock, r.client, r.clock))) {
      throw new VersionPrunedError(
        `version ${id} cannot be reconstructed: entries it needs were deleted (by a peer of an earlier version?)`,
      )
    }
    return stateAt(base, records, clock)
  }
}

function recordKey(client: number, clock: number): string {
  return `${client}:${clock}`
}
