/**
 * The dissemination queue (memberlist `TransmitLimitedQueue`): membership updates waiting to be piggybacked on
 * outgoing messages. Each update is sent at most `limit` times by this peer (the caller passes
 * `retransmitMult * ceil(log10(N + 1))`), fewest-sent first and newest first among equals, so a fresh rumour
 * overtakes old ones. A newer update about the same member replaces the queued one (only the latest state of a
 * member is worth spreading). The queue holds at most `maxQueued` updates; beyond that the most-sent are dropped
 * (periodic push-pull repairs whatever dissemination misses). Cost: O(Q log Q) per message for Q queued updates,
 * Q being small except right after mass changes.
 *
 * @module
 */

interface Queued {
  readonly key: string
  readonly bytes: Uint8Array
  readonly order: number
  transmits: number
}

/** Updates waiting for dissemination, with their transmit counts. */
export class BroadcastQueue {
  readonly #items = new Map<string, Queued>()
  readonly #maxQueued: number
  #order = 0

  /** @param maxQueued - most updates held. */
  constructor(maxQueued: number) {
    this.#maxQueued = maxQueued
  }

  /** Queues an encoded update about member `key`, replacing any older one about the same member. */
  push(key: string, bytes: Uint8Array): void {
    this.#items.set(key, { key, bytes, order: this.#order++, transmits: 0 })
    if (this.#items.size > this.#maxQueued) this.#prune()
  }

  /** Drops every queued update. */
  clear(): void {
    this.#items.clear()
  }

  /** Updates queued. */
  get size(): number {
    return this.#items.size
  }

  /**
   * Takes up to `maxCount` updates whose encoded sizes fit in `byteBudget`, counting one transmission for each and
   * dropping those that reach `limit`.
   */
  take(byteBudget: number, maxCount: number, limit: number): Uint8Array[] {
    if (this.#items.size === 0 || maxCount <= 0) return []
    const ordered = [...this.#items.values()].sort((a, b) => a.transmits - b.transmits || b.order - a.order)
    const out: Uint8Array[] = []
    let left = byteBudget
    for (const item of ordered) {
      if (out.length >= maxCount) break
      if (item.bytes.length > left) continue
      left -= item.bytes.length
      out.push(item.bytes)
      item.transmits++
      if (item.transmits >= limit) this.#items.delete(item.key)
    }
    return out
  }

  #prune(): void {
    const ordered = [...this.#items.values()].sort((a, b) => b.transmits - a.transmits || a.order - b.order)
    for (const item of ordered) {
      if (this.#items.size <= this.#maxQueued) break
      this.#items.delete(item.key)
    }
  }
}
