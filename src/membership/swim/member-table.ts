/**
 * The member table of one SWIM peer (itself excluded): entries by id, an array of ids for O(1) random sampling, and
 * the shuffled round-robin probe order (memberlist `probe()`: every member is probed once per pass, in a fresh random
 * order each pass, new members inserted at a random position), so a failed member is probed by a given peer within
 * one pass, not just with high probability. Memory is O(N); picking k random members costs O(k) expected when most qualify, O(N) at worst.
 *
 * @module
 */
import type { MemberMeta, MemberState, SwimMember } from './member.js'
import type { Suspicion } from './suspicion.js'

/** A mutable member entry. */
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

/** Entries, random sampling and the probe order. */
export class MemberTable {
  readonly #entries = new Map<string, MemberEntry>()
  readonly #ids: string[] = []
  readonly #index = new Map<string, number>()
  readonly #random: () => number
  #probeOrder: string[] = []
  #probeAt = 0
  #live = 0

  constructor(random: () => number) {
    this.#random = random
  }

  /** The entry of `id`, if known (down tombstones included). */
  get(id: string): MemberEntry | undefined {
    return this.#entries.get(id)
  }

  /** Members not down (this peer excluded). */
  get liveCount(): number {
    return this.#live
  }

  /** Every entry, down tombstones included. */
  entries(): IterableIterator<MemberEntry> {
    return this.#entries.values()
  }

  /** Adds a new entry. */
  add(entry: MemberEntry): void {
    this.#entries.set(entry.id, entry)
    this.#index.set(entry.id, this.#ids.length)
    this.#ids.push(entry.id)
    if (entry.state !== 'down') this.#live++
    const at = this.#probeAt + Math.floor(this.#random() * (this.#probeOrder.length - this.#probeAt + 1))
    this.#probeOrder.splice(at, 0, entry.id)
  }

  /** Changes an entry's state, keeping the live count. */
  setState(entry: MemberEntry, state: MemberState): void {
    if ((entry.state === 'down') !== (state === 'down')) this.#live += state === 'down' ? -1 : 1
    entry.state = state
  }

  /** Forgets an entry (a reaped tombstone). */
  remove(id: string): void {
    const entry = this.#entries.get(id)
    if (entry === undefined) return
    if (entry.state !== 'down') this.#live--
    this.#entries.delete(id)
    const i = this.#index.get(id) as number
    const last = this.#ids.pop() as string
    if (last !== id) {
      this.#ids[i] = last
      this.#index.set(last, i)
    }
    this.#index.delete(id)
  }

  /** The next member to probe (not down), or undefined when there is none. */
  nextProbe(): MemberEntry | undefined {
    for (let pass = 0; pass < 2; pass++) {
      while (this.#probeAt < this.#probeOrder.length) {
        const entry = this.#entries.get(this.#probeOrder[this.#probeAt++] as string)
        if (entry !== undefined && entry.state !== 'down') return entry
      }
      this.#probeOrder = this.#ids.slice()
      for (let i = this.#probeOrder.length - 1; i > 0; i--) {
        const j = Math.floor(this.#random() * (i + 1))
        const t = this.#probeOrder[i] as string
        this.#probeOrder[i] = this.#probeOrder[j] as string
        this.#probeOrder[j] = t
      }
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
    const n = this.#ids.length
    if (n === 0 || k <= 0) return out
    const taken = new Set<string>()
    if (n > 4 * k) {
      for (let tries = 0; tries < 8 * k && out.length < k; tries++) {
        const id = this.#ids[Math.floor(this.#random() * n)] as string
        if (taken.has(id)) continue
        const entry = this.#entries.get(id) as MemberEntry
        if (accept(entry)) {
          taken.add(id)
          out.push(entry)
        }
      }
    }
    const start = Math.floor(this.#random() * n)
    for (let i = 0; i < n && out.length < k; i++) {
      const id = this.#ids[(start + i) % n] as string
      if (taken.has(id)) continue
      const entry = this.#entries.get(id) as MemberEntry
      if (accept(entry)) out.push(entry)
    }
    return out
  }
}
