/**
 * The revision index of one etcd API (etcd's MVCC, kept per agent): every change of the served namespace that this
 * agent applies, local or remote, is the next revision, and each key has `create_revision`, `mod_revision` and
 * `version` as etcd defines them. Past revisions are kept for `Range` and `Watch` at an old revision until they are
 * compacted (explicitly by `Compact`, or automatically past `retainRevisions`); older requests get etcd's compacted
 * error.
 *
 * Guarantees: revisions of one agent only grow (also across restarts, see revision-file.ts); a revision names the
 * same state for every read on that agent. Not guaranteed: revisions mean anything on another agent (each agent
 * numbers the changes in the order it applied them).
 *
 * @module
 */
import { createHash } from 'node:crypto'
import type { JsonValue } from '../config/value.js'
import { inRange, type KeyRange, valueToBytes } from './codec.js'
import { etcdErrors } from './errors.js'

/** Default number of revisions kept for reads and watches at an old revision. */
export const DEFAULT_RETAIN_REVISIONS = 10_000

/** One key as etcd's `mvccpb.KeyValue`. */
export interface StoredKv {
  readonly key: Buffer
  readonly createRevision: number
  readonly modRevision: number
  readonly version: number
  readonly value: Buffer
  /** Lease id (decimal string), `'0'` for none. */
  readonly lease: string
}

/** A change at one revision, as etcd's `mvccpb.Event`. */
export interface RevisionEvent {
  readonly type: 'PUT' | 'DELETE'
  /** For a delete: the key and the delete's revision as `modRevision`, the rest zero. */
  readonly kv: StoredKv
  /** The key before the change, when it existed. */
  readonly prev: StoredKv | undefined
}

/** What is persisted of the index (current state only; history starts anew after a restart). */
export interface RevisionState {
  revision: number
  /** `[key, createRevision, modRevision, version, lease, sha256 of the value (base64)]` */
  keys: Array<[string, number, number, number, string, string]>
}

interface Entry {
  readonly mod: number
  readonly create: number
  readonly version: number
  /** `undefined`: deleted at `mod`. */
  readonly value: Buffer | undefined
  readonly lease: string
  hash?: string
}

interface KeyHistory {
  readonly key: string
  readonly bytes: Buffer
  /** Ascending by `mod`. */
  entries: Entry[]
}

const EMPTY = Buffer.alloc(0)

function hashOf(entry: Entry): string {
  entry.hash ??= createHash('sha256')
    .update(entry.value ?? EMPTY)
    .digest('base64')
  return entry.hash
}

function toKv(h: KeyHistory, e: Entry): StoredKv {
  return {
    key: h.bytes,
    createRevision: e.create,
    modRevision: e.mod,
    version: e.version,
    value: e.value ?? EMPTY,
    lease: e.lease,
  }
}

/** Index of the last entry with `mod <= rev`, or -1. */
function lastAtOrBefore(entries: readonly Entry[], rev: number): number {
  let lo = 0
  let hi = entries.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (entries[mid]!.mod <= rev) lo = mid + 1
    else hi = mid
  }
  return lo - 1
}

/** The revision index. */
export class RevisionStore {
  #revision = 1
  #compacted = 0
  readonly #retain: number
  readonly #keys = new Map<string, KeyHistory>()
  /** Every key with history, ascending by UTF-8 bytes (etcd's order). */
  readonly #sorted: KeyHistory[] = []
  /** `[revision, key]` of every retained revision, ascending. */
  #log: Array<[number, string]> = []
  readonly #listeners = new Set<(event: RevisionEvent) => void>()

  constructor(retainRevisions: number = DEFAULT_RETAIN_REVISIONS) {
    this.#retain = retainRevisions
  }

  /** The current revision (1 for an empty index, like etcd). */
  get revision(): number {
    return this.#revision
  }

  /** Revisions below this are compacted (0: none). */
  get compactRevision(): number {
    return this.#compacted
  }

  /** Calls `listener` synchronously for every new revision; returns the unsubscribe function. */
  subscribe(listener: (event: RevisionEvent) => void): () => void {
    const wrapped = (e: RevisionEvent): void => listener(e)
    this.#listeners.add(wrapped)
    return () => this.#listeners.delete(wrapped)
  }

  /**
   * Records a change of `key` to `value` (`undefined`: deleted) with lease `lease` (`'0'`: none) as the next
   * revision; returns it, or `undefined` when nothing changed (a delete of an absent key, the same value and lease).
   */
  apply(key: string, value: JsonValue | undefined, lease = '0'): number | undefined {
    let h = this.#keys.get(key)
    const last = h?.entries[h.entries.length - 1]
    const live = last !== undefined && last.value !== undefined ? last : undefined
    if (value === undefined && live === undefined) return undefined
    const bytes = value === undefined ? undefined : valueToBytes(value)
    if (bytes !== undefined && live?.value?.equals(bytes) && live.lease === lease) return undefined
    const rev = ++this.#revision
    const entry: Entry =
      value === undefined
        ? { mod: rev, create: 0, version: 0, value: undefined, lease: '0' }
        : {
            mod: rev,
            create: live?.create ?? rev,
            version: (live?.version ?? 0) + 1,
            value: bytes,
            lease,
          }
    if (h === undefined) {
      h = { key, bytes: Buffer.from(key, 'utf8'), entries: [] }
      this.#insert(h)
    }
    h.entries.push(entry)
    this.#log.push([rev, key])
    const event: RevisionEvent =
      value === undefined
        ? { type: 'DELETE', kv: { ...toKv(h, entry), value: EMPTY }, prev: live && toKv(h, live) }
        : { type: 'PUT', kv: toKv(h, entry), prev: live && toKv(h, live) }
    for (const l of [...this.#listeners]) l(event)
    if (this.#retain > 0 && rev - this.#compacted > this.#retain + Math.ceil(this.#retain / 10)) {
      this.compact(rev - this.#retain)
    }
    return rev
  }

  /** Throws etcd's errors for a read at `rev` (0: current) that is compacted or in the future; returns the revision. */
  checkRevision(rev: number): number {
    if (rev <= 0) return this.#revision
    if (rev > this.#revision) throw etcdErrors.futureRevision()
    if (rev < this.#compacted) throw etcdErrors.compacted()
    return rev
  }

  /** The live keys of `range` at `rev` (0: current), ascending by key bytes. */
  range(range: KeyRange, rev = 0): StoredKv[] {
    const at = this.checkRevision(rev)
    const out: StoredKv[] = []
    for (let i = this.#lowerBound(range.start); i < this.#sorted.length; i++) {
      const h = this.#sorted[i]!
      if (!inRange(range, h.bytes)) {
        if (range.end === undefined || (range.end !== null && Buffer.compare(h.bytes, range.end) >= 0)) break
        continue
      }
      const idx = at === this.#revision ? h.entries.length - 1 : lastAtOrBefore(h.entries, at)
      const e = h.entries[idx]
      if (e?.value !== undefined) out.push(toKv(h, e))
    }
    return out
  }

  /** The current state of `key`, if it exists. */
  get(key: string): StoredKv | undefined {
    const h = this.#keys.get(key)
    const e = h?.entries[h.entries.length - 1]
    return h !== undefined && e?.value !== undefined ? toKv(h, e) : undefined
  }

  /** The retained events of revisions `>= start` in `range`; throws etcd's compacted error below retention. */
  eventsFrom(start: number, range: KeyRange): RevisionEvent[] {
    if (start < this.#compacted) throw etcdErrors.compacted()
    let lo = 0
    let hi = this.#log.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.#log[mid]![0] < start) lo = mid + 1
      else hi = mid
    }
    const out: RevisionEvent[] = []
    for (let i = lo; i < this.#log.length; i++) {
      const [rev, key] = this.#log[i]!
      const h = this.#keys.get(key)
      if (h === undefined || !inRange(range, h.bytes)) continue
      const idx = lastAtOrBefore(h.entries, rev)
      const e = h.entries[idx]
      if (e === undefined || e.mod !== rev) continue
      const before = h.entries[idx - 1]
      const prev = before?.value !== undefined ? toKv(h, before) : undefined
      out.push(
        e.value === undefined
          ? { type: 'DELETE', kv: { ...toKv(h, e), value: EMPTY }, prev }
          : { type: 'PUT', kv: toKv(h, e), prev },
      )
    }
    return out
  }

  /** Forgets revisions below `rev` (reads at `rev` and later stay answerable). Throws etcd's errors. */
  compact(rev: number): void {
    if (rev > this.#revision) throw etcdErrors.futureRevision()
    if (rev <= this.#compacted) throw etcdErrors.compacted()
    this.#compacted = rev
    let removed = false
    for (const [key, h] of this.#keys) {
      const idx = lastAtOrBefore(h.entries, rev)
      if (idx < 0) continue
      const keepFrom = h.entries[idx]!.value === undefined && h.entries[idx]!.mod < rev ? idx + 1 : idx
      if (keepFrom > 0) h.entries = h.entries.slice(keepFrom)
      if (h.entries.length === 0) {
        this.#keys.delete(key)
        removed = true
      }
    }
    if (removed) {
      const kept = this.#sorted.filter((h) => this.#keys.get(h.key) === h)
      this.#sorted.splice(0, this.#sorted.length, ...kept)
    }
    const first = this.#log.findIndex(([r]) => r >= rev)
    this.#log = first < 0 ? [] : this.#log.slice(first)
  }

  /** The state to persist. */
  state(): RevisionState {
    const keys: RevisionState['keys'] = []
    for (const h of this.#sorted) {
      const e = h.entries[h.entries.length - 1]
      if (e?.value !== undefined) keys.push([h.key, e.create, e.mod, e.version, e.lease, hashOf(e)])
    }
    return { revision: this.#revision, keys }
  }

  /**
   * Starts from a persisted state (or none) and the namespace's current entries: keys unchanged since keep their
   * revisions; changed, new and vanished keys each get the next revision. With a persisted state, history before
   * the resulting revision is compacted (only the current state was kept).
   */
  load(
    saved: RevisionState | undefined,
    entries: ReadonlyArray<readonly [string, JsonValue]>,
    leaseOf: (key: string) => string,
  ): void {
    const current = new Map(entries)
    if (saved !== undefined) {
      this.#revision = Math.max(1, saved.revision)
      for (const [key, create, mod, version, lease, hash] of saved.keys) {
        const value = current.get(key)
        if (value === undefined) {
          this.#seed(key, { mod, create, version, value: Buffer.from('?'), lease, hash })
          this.apply(key, undefined)
          continue
        }
        const entry: Entry = { mod, create, version, value: valueToBytes(value), lease }
        if (hashOf(entry) === hash && leaseOf(key) === lease) {
          this.#seed(key, entry)
        } else {
          this.#seed(key, { mod, create, version, value: Buffer.from('?'), lease, hash })
          this.apply(key, value, leaseOf(key))
        }
        current.delete(key)
      }
    }
    const fresh = [...current.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    for (const key of fresh) this.apply(key, current.get(key), leaseOf(key))
    if (saved !== undefined) this.#compactAll()
  }

  /** Drops all history but the current state (after a restart nothing older is known). */
  #compactAll(): void {
    this.#compacted = this.#revision
    for (const [key, h] of this.#keys) {
      const last = h.entries[h.entries.length - 1]
      if (last === undefined || last.value === undefined) this.#keys.delete(key)
      else h.entries = [last]
    }
    const kept = this.#sorted.filter((h) => this.#keys.get(h.key) === h)
    this.#sorted.splice(0, this.#sorted.length, ...kept)
    this.#log = []
  }

  #seed(key: string, entry: Entry): void {
    const h: KeyHistory = { key, bytes: Buffer.from(key, 'utf8'), entries: [entry] }
    this.#insert(h)
  }

  #insert(h: KeyHistory): void {
    this.#keys.set(h.key, h)
    this.#sorted.splice(this.#lowerBound(h.bytes), 0, h)
  }

  #lowerBound(bytes: Buffer): number {
    let lo = 0
    let hi = this.#sorted.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (Buffer.compare(this.#sorted[mid]!.bytes, bytes) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
