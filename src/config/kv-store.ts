/**
 * The replicated key-value store: every namespace's keys live as last-writer-wins entries in ONE `Y.Array`
 * (the `YKeyValue` idea from yjs/y-utility, with a hybrid logical clock instead of Yjs' client-id order).
 *
 * Why not `Y.Map`: a `Y.Map` keeps every overwritten value unless GC runs, and resolves concurrent writes by client
 * id, not time. Here each write pushes one small entry `{ n, k, v, t, c, a }` and deletes the entry it replaces, so
 * with GC on the document stays close to the live data size; concurrent writes to one key leave two entries, every
 * peer picks the same winner (the one rule of `doc/lww.ts`) and deletes the loser. The entry schema is `doc/entry.ts`.
 *
 * Visible value of a key = its winning entry among all entries this replica has seen, even if that entry has since
 * been deleted by a peer that holds a newer one (a "ghost" until the newer entry arrives). Entry deletion is only
 * ever garbage collection of losers; deleting a key writes a tombstone entry, so deletes obey last-writer-wins too.
 * Recorded entries (`h: 1`: history records and the compacted base read their values from them, see `doc/entry.ts`)
 * are never deleted here, whether replaced or losing: history pruning deletes them once nothing refers to them.
 *
 * @module
 */
import * as Y from 'yjs'
import { collectable, ENTRIES_ROOT, isStoredEntry, type StoredEntry } from '../doc/entry.js'
import type { HybridLogicalClock } from '../doc/hlc.js'
import { compareCarried } from '../doc/lww.js'
import { CLEANUP_ORIGIN, LOCAL_ORIGIN } from '../doc/origins.js'
import { deepFreeze, type JsonValue, jsonEqual } from './value.js'
import { appendElements, deleteElement, findStructIndex } from './yjs-elements.js'

/** A change of one key's visible value, as watchers see it. */
export interface Change {
  readonly namespace: string
  readonly key: string
  /** The new value; `undefined` after a delete. */
  readonly value: JsonValue | undefined
  /** The value before; `undefined` if the key did not exist. */
  readonly previous: JsonValue | undefined
  /** `'local'` for writes made through this replica's API, `'remote'` for everything received. */
  readonly source: 'local' | 'remote'
  /** Peer id of the writer of the winning entry (for a delete: of the tombstone). */
  readonly author: string
  /** Hybrid timestamp of the winning entry (ms since epoch). */
  readonly time: number
}

/** One operation of a local write batch: `value: undefined` deletes the key. */
export interface WriteOp {
  readonly namespace: string
  readonly key: string
  readonly value: JsonValue | undefined
}

/** Everything the store knows about one key. */
interface KeyState {
  entry: StoredEntry
  id: Y.ID
  alive: boolean
  value: JsonValue | undefined
}

/** Listener for the changes of one transaction. */
export type ChangesListener = (changes: Change[], transaction: Y.Transaction) => void

/** Metadata of one local write batch, passed through to {@link LocalWriteHook}. */
export interface WriteMeta {
  /** Free-form description of the batch (e.g. `rollback to <id>`), recorded in history. Default none. */
  readonly message?: string
  /** Run the transaction and the hook even when there is nothing to write (a labelled snapshot). Default false. */
  readonly snapshot?: boolean
  /**
   * Write a tombstone for every delete op, also where the key has no visible value here (a rollback's delete must
   * beat earlier writes of that key this replica has not received yet). Default false: deleting an absent key is a
   * no-op.
   */
  readonly tombstoneAbsent?: boolean
}

/**
 * Called inside the transaction of every local write batch, just before its entries are pushed (replaced entries that
 * are not recorded are already deleted). Returns elements to push right after the entries in the SAME push (a history
 * record), so they travel in the same update and sit next to the entries; when it returns any, the batch's entries are
 * pushed as recorded (`h: 1`, see `doc/entry.ts`): the returned elements may refer to them for their values. `entries` is empty when every op was a no-op; `meta` is
 * passed through untouched.
 */
export type LocalWriteHook = (
  entries: readonly StoredEntry[],
  transaction: Y.Transaction,
  meta: WriteMeta,
) => readonly unknown[] | undefined

/** Options of {@link createKvStore}. */
export interface KvStoreInit {
  /** The document; the store uses its root array {@link ENTRIES_ROOT}. */
  doc: Y.Doc
  /** Peer id written as the author of local writes. */
  author: string
  /** The replica's hybrid logical clock. */
  clock: HybridLogicalClock
  /** Called with errors thrown by listeners (they never break a transaction). */
  onListenerError?: (err: unknown) => void
  /** Runs inside every local write transaction (see {@link LocalWriteHook}). Default none. */
  onLocalWrite?: LocalWriteHook
  /** The writer epoch recorded in every local entry as `e` (security: client-id binding). Default: none. */
  epoch?: () => number | undefined
}

/** The replicated last-writer-wins key-value store. */
export interface KvStore {
  /** The visible value of a key, or `undefined`. */
  get(namespace: string, key: string): JsonValue | undefined
  /** Whether the key has a visible value. */
  has(namespace: string, key: string): boolean
  /** Visible entries of a namespace, sorted by key. */
  entries(namespace: string): Array<[string, JsonValue]>
  /** Names of namespaces that hold at least one visible key, sorted. */
  namespaces(): string[]
  /** Metadata of a key's winning entry (also for a deleted key, while its tombstone is known). */
  meta(namespace: string, key: string): { author: string; time: number; deleted: boolean } | undefined
  /**
   * Calls `fn` for every key whose winning entry this replica knows (tombstones included, `deleted: true`) with that
   * entry's Yjs id, namespace by namespace, in no particular order.
   */
  forEachWinner(fn: (namespace: string, key: string, client: number, clock: number, deleted: boolean) => void): void
  /** Applies local writes in ONE transaction (one update on the wire). Values must be validated already. */
  write(ops: readonly WriteOp[], meta?: WriteMeta): void
  /** Subscribes to the changes of every transaction; returns the unsubscribe function. */
  onChanges(listener: ChangesListener): () => void
  /**
   * Number of entries held in the array (live + losers awaiting GC + tombstones + replaced recorded entries history
   * still refers to; other elements not counted).
   */
  entryCount(): number
  /** Detaches from the document. */
  destroy(): void
}

/** Creates the store over `init.doc` and indexes what the document already holds. */
export function createKvStore(init: KvStoreInit): KvStore {
  return new LwwKvStore(init)
}

/** Whether entry `a` (carried at `aid`) beats entry `b` (at `bid`): the one last-writer-wins rule of `doc/lww.ts`. */
function wins(a: StoredEntry, aid: Y.ID, b: StoredEntry, bid: Y.ID): boolean {
  return compareCarried(a, aid, b, bid) > 0
}

class LwwKvStore implements KvStore {
  private readonly doc: Y.Doc
  private readonly array: Y.Array<unknown>
  private readonly author: string
  private readonly clock: HybridLogicalClock
  private readonly index = new Map<string, Map<string, KeyState>>()
  private readonly listeners = new Set<ChangesListener>()
  private readonly onListenerError: (err: unknown) => void
  private readonly handler: (tr: Y.Transaction) => void
  private readonly onLocalWrite: LocalWriteHook | undefined
  private readonly epoch: (() => number | undefined) | undefined
  /** The item this store appended last: a hint where the array ends (see {@link LwwKvStore.append}). */
  private tail: Y.Item | null = null

  constructor(init: KvStoreInit) {
    this.onLocalWrite = init.onLocalWrite
    this.epoch = init.epoch
    this.doc = init.doc
    this.array = init.doc.getArray(ENTRIES_ROOT)
    this.author = init.author
    this.clock = init.clock
    this.onListenerError = init.onListenerError ?? (() => {})
    this.handler = (tr) => this.afterTransaction(tr)
    this.indexExisting()
    this.doc.on('afterTransaction', this.handler)
  }

  get(namespace: string, key: string): JsonValue | undefined {
    return this.index.get(namespace)?.get(key)?.value
  }

  has(namespace: string, key: string): boolean {
    return this.get(namespace, key) !== undefined
  }

  entries(namespace: string): Array<[string, JsonValue]> {
    const ns = this.index.get(namespace)
    if (ns === undefined) return []
    const out: Array<[string, JsonValue]> = []
    for (const [k, st] of ns) if (st.value !== undefined) out.push([k, st.value])
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  }

  namespaces(): string[] {
    const out: string[] = []
    for (const [name, ns] of this.index) {
      for (const st of ns.values()) {
        if (st.value !== undefined) {
          out.push(name)
          break
        }
      }
    }
    return out.sort()
  }

  meta(namespace: string, key: string): { author: string; time: number; deleted: boolean } | undefined {
    const st = this.index.get(namespace)?.get(key)
    return st === undefined ? undefined : { author: st.entry.a, time: st.entry.t, deleted: st.entry.x === 1 }
  }

  forEachWinner(fn: (namespace: string, key: string, client: number, clock: number, deleted: boolean) => void): void {
    for (const [name, ns] of this.index) {
      for (const [key, st] of ns) fn(name, key, st.id.client, st.id.clock, st.value === undefined)
    }
  }

  write(ops: readonly WriteOp[], meta: WriteMeta = {}): void {
    if (ops.length === 0 && meta.snapshot !== true) return
    this.doc.transact((tr) => {
      const entries: StoredEntry[] = []
      for (const op of ops) {
        const st = this.index.get(op.namespace)?.get(op.key)
        // deleting an absent key is a no-op, unless the batch asks for tombstones (a rollback)
        if (op.value === undefined && st?.value === undefined && meta.tombstoneAbsent !== true) continue
        if (st?.alive && collectable(st.entry)) this.deleteById(tr, st.id)
        const ts = this.clock.now()
        const e = this.epoch?.()
        const entry: StoredEntry =
          op.value === undefined
            ? { n: op.namespace, k: op.key, x: 1, t: ts.ms, c: ts.c, a: this.author }
            : { n: op.namespace, k: op.key, v: op.value, t: ts.ms, c: ts.c, a: this.author }
        entries.push(e === undefined ? entry : { ...entry, e })
      }
      const extra = this.onLocalWrite?.(entries, tr, meta)
      // a record refers to the batch's entries for their values: mark them recorded (kept while referred to)
      if (extra !== undefined && extra.length > 0) this.append(tr, [...entries.map(recorded), ...extra])
      else if (entries.length > 0) this.append(tr, entries)
    }, LOCAL_ORIGIN)
  }

  onChanges(listener: ChangesListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  entryCount(): number {
    // the array may hold other elements too (history records, see src/versions): count entries only
    let n = 0
    for (let item = this.array._start; item !== null; item = item.right) {
      if (item.deleted || !(item.content instanceof Y.ContentAny)) continue
      for (const e of item.content.arr) if (isStoredEntry(e)) n++
    }
    return n
  }

  destroy(): void {
    this.doc.off('afterTransaction', this.handler)
    this.listeners.clear()
  }

  private indexExisting(): void {
    let item = this.array._start
    const losers: Y.ID[] = []
    while (item !== null) {
      if (!item.deleted) this.indexItem(item, 0, item.length, undefined, losers)
      item = item.right
    }
    this.collect(losers)
  }

  private afterTransaction(tr: Y.Transaction): void {
    if (!(tr.changed as Map<unknown, unknown>).has(this.array)) return
    // 1. entries deleted in this transaction: mark them dead (their values stay visible as ghosts if they won).
    Y.iterateDeletedStructs(tr, tr.deleteSet, (struct) => {
      if (!(struct instanceof Y.Item) || struct.parent !== this.array || !(struct.content instanceof Y.ContentAny))
        return
      const arr = struct.content.arr
      for (let j = 0; j < arr.length; j++) {
        const e = arr[j]
        if (!isStoredEntry(e)) continue
        const st = this.index.get(e.n)?.get(e.k)
        if (st !== undefined && st.id.client === struct.id.client && st.id.clock === struct.id.clock + j)
          st.alive = false
      }
    })
    // 2. entries added in this transaction: the structs between the before and after state of every client.
    const previous = new Map<string, { namespace: string; key: string; value: JsonValue | undefined }>()
    const losers: Y.ID[] = []
    tr.afterState.forEach((after, client) => {
      const before = tr.beforeState.get(client) ?? 0
      if (after <= before) return
      const structs = this.doc.store.clients.get(client)
      if (structs === undefined) return
      for (let i = findStructIndex(structs, before); i < structs.length; i++) {
        const s = structs[i]!
        if (s.id.clock >= after) break
        if (!(s instanceof Y.Item) || s.parent !== this.array) continue
        const from = Math.max(0, before - s.id.clock)
        const to = Math.min(s.length, after - s.id.clock)
        this.indexItem(s, from, to, previous, losers)
      }
    })
    this.collect(losers)
    if (previous.size === 0 || this.listeners.size === 0) return
    const source = tr.origin === LOCAL_ORIGIN ? 'local' : 'remote'
    const changes: Change[] = []
    for (const [, p] of previous) {
      const st = this.index.get(p.namespace)?.get(p.key)
      if (st === undefined || jsonEqual(p.value, st.value)) continue
      changes.push({
        namespace: p.namespace,
        key: p.key,
        value: st.value,
        previous: p.value,
        source,
        author: st.entry.a,
        time: st.entry.t,
      })
    }
    if (changes.length === 0) return
    for (const listener of [...this.listeners]) {
      try {
        listener(changes, tr)
      } catch (err) {
        this.onListenerError(err)
      }
    }
  }

  private indexItem(
    item: Y.Item,
    from: number,
    to: number,
    previous: Map<string, { namespace: string; key: string; value: JsonValue | undefined }> | undefined,
    losers: Y.ID[],
  ): void {
    if (!(item.content instanceof Y.ContentAny)) return
    const arr = item.content.arr
    for (let j = from; j < to; j++) {
      const e = arr[j]
      if (!isStoredEntry(e)) continue // foreign content: ignored, never crashes the replica
      const id = Y.createID(item.id.client, item.id.clock + j)
      this.clock.observe({ ms: e.t, c: e.c })
      let ns = this.index.get(e.n)
      if (ns === undefined) {
        ns = new Map()
        this.index.set(e.n, ns)
      }
      const st = ns.get(e.k)
      const fk = `${e.n}\u0000${e.k}`
      if (previous !== undefined && !previous.has(fk)) {
        previous.set(fk, { namespace: e.n, key: e.k, value: st?.value })
      }
      const alive = !item.deleted
      if (st === undefined || wins(e, id, st.entry, st.id)) {
        if (st?.alive && collectable(st.entry)) losers.push(st.id)
        ns.set(e.k, { entry: e, id, alive, value: e.x === 1 ? undefined : deepFreeze(e.v) })
      } else if (alive && collectable(e)) {
        losers.push(id)
      }
    }
  }

  /**
   * Appends `content` at the end of the array in O(1) from the last element this store appended (`Y.Array.push`
   * walks every item from the start; with history retained the array holds thousands of items).
   */
  private append(tr: Y.Transaction, content: unknown[]): void {
    this.tail = appendElements(tr, this.array, content, this.tail?.id)
  }

  /** Deletes losing entries in a transaction of its own (queued after the current one). */
  private collect(losers: Y.ID[]): void {
    if (losers.length === 0) return
    this.doc.transact((tr) => {
      for (const id of losers) this.deleteById(tr, id)
    }, CLEANUP_ORIGIN)
  }

  private deleteById(tr: Y.Transaction, id: Y.ID): void {
    deleteElement(tr, id)
  }
}

function recorded(e: StoredEntry): StoredEntry {
  return { ...e, h: 1 }
}
