/**
 * A binary min-heap of timed events for the deterministic simulation: ordered by time, then by insertion, so two
 * events due at the same virtual time always run in the order they were scheduled (a run is a function of its seed).
 *
 * @module
 */

/** A timed event. */
export interface Timed {
  /** Virtual time (ms). */
  readonly at: number
  /** Insertion order; set by {@link EventQueue.push}. */
  order: number
}

/** A min-heap by (at, order). */
export class EventQueue<T extends Timed> {
  readonly #heap: T[] = []
  #order = 0

  /** Events waiting. */
  get size(): number {
    return this.#heap.length
  }

  /** Time of the earliest event, or Infinity. */
  peekAt(): number {
    return this.#heap[0]?.at ?? Number.POSITIVE_INFINITY
  }

  /** Adds an event. */
  push(item: T): void {
    item.order = this.#order++
    const h = this.#heap
    h.push(item)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(h[i] as T, h[p] as T)) break
      ;[h[i], h[p]] = [h[p] as T, h[i] as T]
      i = p
    }
  }

  /** Removes and returns the earliest event. */
  pop(): T | undefined {
    const h = this.#heap
    if (h.length === 0) return undefined
    const top = h[0] as T
    const last = h.pop() as T
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && before(h[l] as T, h[m] as T)) m = l
        if (r < h.length && before(h[r] as T, h[m] as T)) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m] as T, h[i] as T]
        i = m
      }
    }
    return top
  }
}

function before(a: Timed, b: Timed): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order)
}
