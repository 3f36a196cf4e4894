/**
 * The member table of one SWIM peer (itself excluded): O(1) lookup by id, O(1) random sampling, and the shuffled
 * round-robin probe order (memberlist `probe()`: every member is probed once per pass, in a fresh random order each
 * pass, new members inserted at a random position), so a failed member is probed by a given peer within one pass,
 * not just with high probability. Picking k random members costs O(k) expected when most qualify, O(N) at worst.
 *
 * Memory (every peer holds every member, so this is what limits a simulation of many peers in one process): the
 * table is columns indexed by a dense slot (typed arrays for handle, incarnation, change time and state bits, one
 * array of metadata references) plus a slot-by-handle index, about 40 bytes per member; ids and metadata are shared
 * through the process's {@link MEMBER_INTERNER}; suspicions and down-reporters live in small maps holding only the
 * members in those states. Entries handed out by {@link MemberTable.get} are views onto the columns (reads and writes
 * go to the table; a view of a removed member reads as down at incarnation 0 and ignores writes); snapshots
 * ({@link MemberTable.snapshot}) are plain immutable objects for callers that keep them.
 *
 * @module
 */

import type { MemberMeta, MemberState, SwimMember } from './member.js'
import { MEMBER_INTERNER, type MemberInterner } from './member-interner.js'
import type { Suspicion } from './suspicion.js'

/** A mutable member entry (a view onto the table). */
export interface MemberEntry extends SwimMember {
  state: MemberState
  incarnation: number
  meta: MemberMeta
  changedAt: number
  left: boolean
  /** Who declared it down (for push-pull records). */
  downFrom: string
  /** The running suspicion, while suspect. */
  suspicion: Suspicion | undefined
}

const STATES: readonly MemberState[] = ['alive', 'suspect', 'down']
const STATE_CODE: Readonly<Record<MemberState, number>> = { alive: 0, suspect: 1, down: 2 }
const STATE_MASK = 3
const LEFT_BIT = 4
const GROWTH = 1.5

/** Column storage of a table; shared with the entry views in this file only. */
class Columns {
  size = 0
  handles = new Uint32Array(8)
  incarnations = new Float64Array(8)
  changedAt = new Float64Array(8)
  bits = new Uint8Array(8)
  metas: MemberMeta[] = []
  /** slot + 1 by handle (0: not in the table). */
  slotOf = new Int32Array(8)
  readonly suspicions = new Map<number, Suspicion>()
  readonly downFrom = new Map<number, string>()

  slot(handle: number): number {
    return handle < this.slotOf.length ? (this.slotOf[handle] as number) - 1 : -1
  }

  grow(): void {
    const cap = Math.ceil(this.handles.length * GROWTH) + 8
    this.handles = resized(this.handles, cap)
    this.incarnations = resized(this.incarnations, cap)
    this.changedAt = resized(this.changedAt, cap)
    this.bits = resized(this.bits, cap)
  }

  indexHandle(handle: number, slot: number): void {
    if (handle >= this.slotOf.length) {
      this.slotOf = resized(this.slotOf, Math.max(handle + 1, Math.ceil(this.slotOf.length * GROWTH) + 8))
    }
    this.slotOf[handle] = slot + 1
  }
}

function resized<T extends Uint32Array | Float64Array | Uint8Array | Int32Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length)
  b.set(a)
  return b
}

/** A live view of one member of a table. */
class EntryView implements MemberEntry {
  readonly id: string
  readonly #c: Columns
  readonly #handle: number
  readonly #table: MemberTable

  constructor(table: MemberTable, c: Columns, handle: number, id: string) {
    this.#table = table
    this.#c = c
    this.#handle = handle
    this.id = id
  }

  get state(): MemberState {
    const s = this.#c.slot(this.#handle)
    return s < 0 ? 'down' : (STATES[(this.#c.bits[s] as number) & STATE_MASK] as MemberState)
  }
  set state(state: MemberState) {
    this.#table.setState(this, state)
  }
  get incarnation(): number {
    const s = this.#c.slot(this.#handle)
    return s < 0 ? 0 : (this.#c.incarnations[s] as number)
  }
  set incarnation(value: number) {
    const s = this.#c.slot(this.#handle)
    if (s >= 0) this.#c.incarnations[s] = value
  }
  get meta(): MemberMeta {
    const s = this.#c.slot(this.#handle)
    return this.#c.metas[s < 0 ? 0 : s] as MemberMeta
  }
  set meta(meta: MemberMeta) {
    const s = this.#c.slot(this.#handle)
    if (s >= 0) this.#c.metas[s] = this.#table.interner.shareMeta(this.#handle, meta)
  }
  get changedAt(): number {
    const s = this.#c.slot(this.#handle)
    return s < 0 ? 0 : (this.#c.changedAt[s] as number)
  }
  set changedAt(value: number) {
    const s = this.#c.slot(this.#handle)
    if (s >= 0) this.#c.changedAt[s] = value
  }
  get left(): boolean {
    const s = this.#c.slot(this.#handle)
    return s >= 0 && ((this.#c.bits[s] as number) & LEFT_BIT) !== 0
  }
  set left(value: boolean) {
    const s = this.#c.slot(this.#handle)
    if (s < 0) return
    const bits = this.#c.bits[s] as number
    this.#c.bits[s] = value ? bits | LEFT_BIT : bits & ~LEFT_BIT
  }
  get downFrom(): string {
    return this.#c.downFrom.get(this.#handle) ?? ''
  }
  set downFrom(from: string) {
    if (from === '' || this.#c.slot(this.#handle) < 0) this.#c.downFrom.delete(this.#handle)
    else this.#c.downFrom.set(this.#handle, from)
  }
  get suspicion(): Suspicion | undefined {
    return this.#c.suspicions.get(this.#handle)
  }
  set suspicion(s: Suspicion | undefined) {
    if (s === undefined || this.#c.slot(this.#handle) < 0) this.#c.suspicions.delete(this.#handle)
    else this.#c.suspicions.set(this.#handle, s)
  }
}

/** Entries, random sampling and the probe order. */
export class MemberTable {
  /** Where ids and metadata are shared. */
  readonly interner: MemberInterner
  readonly #c = new Columns()
  readonly #random: () => number
  /** Handles in probe order; `#probeAt` is the next one. Removed members are skipped when reached. */
  #probeOrder = new Uint32Array(8)
  #probeLength = 0
  #probeAt = 0
  #live = 0

  constructor(random: () => number, interner: MemberInterner = MEMBER_INTERNER) {
    this.#random = random
    this.interner = interner
  }

  /** The entry of `id`, if known (down tombstones included). */
  get(id: string): MemberEntry | undefined {
    const handle = this.interner.find(id)
    if (handle === undefined || this.#c.slot(handle) < 0) return undefined
    return new EntryView(this, this.#c, handle, this.interner.idOf(handle))
  }

  /** A plain, immutable copy of the entry of `id`, if known. */
  snapshot(id: string): SwimMember | undefined {
    const e = this.get(id)
    return e === undefined ? undefined : snapshotOf(e)
  }

  /** Plain copies of every entry, down tombstones included. */
  snapshots(): SwimMember[] {
    const out: SwimMember[] = []
    for (const e of this.entries()) out.push(snapshotOf(e))
    return out
  }

  /** Members not down (this peer excluded). */
  get liveCount(): number {
    return this.#live
  }

  /** Members held, down tombstones included. */
  get size(): number {
    return this.#c.size
  }

  /** Every entry, down tombstones included (views; do not add or remove while iterating). */
  *entries(): IterableIterator<MemberEntry> {
    for (let s = 0; s < this.#c.size; s++) yield this.#view(s)
  }

  /** Adds a new entry, copying the fields of `entry` into the table. */
  add(entry: MemberEntry): void {
    const c = this.#c
    const handle = this.interner.handleOf(entry.id)
    if (c.slot(handle) >= 0) return
    if (c.size === c.handles.length) c.grow()
    const slot = c.size++
    c.handles[slot] = handle
    c.incarnations[slot] = entry.incarnation
    c.changedAt[slot] = entry.changedAt
    c.bits[slot] = (STATE_CODE[entry.state] as number) | (entry.left ? LEFT_BIT : 0)
    c.metas[slot] = this.interner.shareMeta(handle, entry.meta)
    c.indexHandle(handle, slot)
    if (entry.downFrom !== '') c.downFrom.set(handle, entry.downFrom)
    if (entry.suspicion !== undefined) c.suspicions.set(handle, entry.suspicion)
    if (entry.state !== 'down') this.#live++
    // Insert at a random place among the members not yet probed this pass, in O(1): append, then swap with a
    // random place in the unprobed part (the member that was there moves to the end, still unprobed).
    if (this.#probeLength === this.#probeOrder.length) {
      this.#probeOrder = resized(this.#probeOrder, Math.ceil(this.#probeOrder.length * GROWTH) + 8)
    }
    const order = this.#probeOrder
    const at = this.#probeAt + Math.floor(this.#random() * (this.#probeLength - this.#probeAt + 1))
    order[this.#probeLength++] = order[at] as number
    order[at] = handle
  }

  /** Changes an entry's state, keeping the live count. */
  setState(entry: MemberEntry, state: MemberState): void {
    const c = this.#c
    const handle = this.interner.find(entry.id)
    const slot = handle === undefined ? -1 : c.slot(handle)
    if (slot < 0) return
    const bits = c.bits[slot] as number
    const was = STATES[bits & STATE_MASK] as MemberState
    if ((was === 'down') !== (state === 'down')) this.#live += state === 'down' ? -1 : 1
    c.bits[slot] = (bits & ~STATE_MASK) | (STATE_CODE[state] as number)
  }

  /** Forgets an entry (a reaped tombstone). */
  remove(id: string): void {
    const c = this.#c
    const handle = this.interner.find(id)
    const slot = handle === undefined ? -1 : c.slot(handle)
    if (handle === undefined || slot < 0) return
    if (((c.bits[slot] as number) & STATE_MASK) !== STATE_CODE.down) this.#live--
    const last = --c.size
    if (slot !== last) {
      const moved = c.handles[last] as number
      c.handles[slot] = moved
      c.incarnations[slot] = c.incarnations[last] as number
      c.changedAt[slot] = c.changedAt[last] as number
      c.bits[slot] = c.bits[last] as number
      c.metas[slot] = c.metas[last] as MemberMeta
      c.indexHandle(moved, slot)
    }
    c.metas.length = last
    c.slotOf[handle] = 0
    c.suspicions.delete(handle)
    c.downFrom.delete(handle)
  }

  /** The next member to probe (not down), or undefined when there is none. */
  nextProbe(): MemberEntry | undefined {
    const c = this.#c
    for (let pass = 0; pass < 2; pass++) {
      while (this.#probeAt < this.#probeLength) {
        const slot = c.slot(this.#probeOrder[this.#probeAt++] as number)
        if (slot >= 0 && ((c.bits[slot] as number) & STATE_MASK) !== STATE_CODE.down) return this.#view(slot)
      }
      if (this.#probeOrder.length < c.size) this.#probeOrder = new Uint32Array(c.handles.length)
      const order = this.#probeOrder
      order.set(c.handles.subarray(0, c.size))
      for (let i = c.size - 1; i > 0; i--) {
        const j = Math.floor(this.#random() * (i + 1))
        const t = order[i] as number
        order[i] = order[j] as number
        order[j] = t
      }
      this.#probeLength = c.size
      this.#probeAt = 0
    }
    return undefined
  }

  /**
   * Up to `k` distinct random members accepted by `accept`: random picks first (O(k) when most members qualify),
   * then a scan from a random start, so a rare kind (the one failed member among thousands) is still found.
   */
  sample(k: number, accept: (entry: MemberEntry) => boolean): MemberEntry[] {
    const out: MemberEntry[] = []
    const n = this.#c.size
    if (n === 0 || k <= 0) return out
    const taken = new Set<number>()
    if (n > 4 * k) {
      for (let tries = 0; tries < 8 * k && out.length < k; tries++) {
        const slot = Math.floor(this.#random() * n)
        if (taken.has(slot)) continue
        const entry = this.#view(slot)
        if (accept(entry)) {
          taken.add(slot)
          out.push(entry)
        }
      }
    }
    const start = Math.floor(this.#random() * n)
    for (let i = 0; i < n && out.length < k; i++) {
      const slot = (start + i) % n
      if (taken.has(slot)) continue
      const entry = this.#view(slot)
      if (accept(entry)) out.push(entry)
    }
    return out
  }

  #view(slot: number): EntryView {
    const handle = this.#c.handles[slot] as number
    return new EntryView(this, this.#c, handle, this.interner.idOf(handle))
  }
}

/** A plain, immutable copy of an entry (what events and `Swim.members()` hand out). */
export function snapshotOf(e: MemberEntry): SwimMember {
  return {
    id: e.id,
    state: e.state,
    incarnation: e.incarnation,
    meta: e.meta,
    changedAt: e.changedAt,
    left: e.left,
  }
}
