/**
 * Lifeguard's dynamic suspicion (memberlist `suspicion.go`): a suspicion starts with the long timeout `max` and
 * shrinks towards `min` as independent confirmations (suspect rumours about the same incarnation from other peers)
 * arrive, because each one makes a false positive less likely. Confirmations are counted once per accuser and at
 * most `k` of them; the deadline only ever moves earlier, so a timer set for an older (later) deadline can be
 * ignored when it fires (see {@link Suspicion.expired}).
 *
 * @module
 */
import { suspicionTimeoutMs } from './config.js'

/** One running suspicion of one member at one incarnation. */
export class Suspicion {
  /** Incarnation suspected. */
  readonly incarnation: number
  /** Local time the suspicion started. */
  readonly startedAt: number
  readonly #k: number
  readonly #minMs: number
  readonly #maxMs: number
  readonly #accusers = new Set<string>()
  #deadline: number

  constructor(opts: { incarnation: number; from: string; now: number; k: number; minMs: number; maxMs: number }) {
    this.incarnation = opts.incarnation
    this.startedAt = opts.now
    this.#k = opts.k
    this.#minMs = opts.minMs
    this.#maxMs = opts.maxMs
    this.#accusers.add(opts.from)
    this.#deadline = opts.now + suspicionTimeoutMs(0, opts.k, opts.minMs, opts.maxMs)
  }

  /** Local time at which the member is declared down unless it refutes. */
  get deadline(): number {
    return this.#deadline
  }

  /** Independent confirmations counted (the first accuser excluded). */
  get confirmations(): number {
    return this.#accusers.size - 1
  }

  /**
   * Counts a confirmation from `from`. Returns true when it was new (then the deadline may have moved earlier and the
   * rumour is worth re-gossiping), false for a repeat or once `k` confirmations are in.
   */
  confirm(from: string): boolean {
    if (this.confirmations >= this.#k || this.#accusers.has(from)) return false
    this.#accusers.add(from)
    const timeout = suspicionTimeoutMs(this.confirmations, this.#k, this.#minMs, this.#maxMs)
    this.#deadline = Math.min(this.#deadline, this.startedAt + timeout) // a capped deadline stays
    return true
  }

  /** Moves the deadline to `deadline` if that is earlier (strong evidence, a refused dial); true when it moved. */
  cap(deadline: number): boolean {
    if (deadline >= this.#deadline) return false
    this.#deadline = deadline
    return true
  }

  /** Whether the suspicion has run out at `now`. */
  expired(now: number): boolean {
    return now >= this.#deadline
  }
}
