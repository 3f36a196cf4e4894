/**
 * Lifeguard's local health multiplier (memberlist `awareness.go`): a score from 0 (healthy) to `max - 1` that rises
 * when this peer's own probes fail without the nacks that prove the network path fine, or when it has to refute a
 * suspicion about itself, and falls with every successful probe. Probe period and probe timeout are multiplied by
 * `score + 1`, so a peer that is slow itself (CPU-starved, paused) probes less often and waits longer instead of
 * accusing healthy peers of its own lateness.
 *
 * @module
 */

/** The local health score. */
export class Awareness {
  readonly #max: number
  #score = 0

  /** @param max - highest multiplier (score stays in 0 .. max - 1). */
  constructor(max: number) {
    this.#max = Math.max(1, max)
  }

  /** Adds `delta` to the score, clamped to 0 .. max - 1. */
  applyDelta(delta: number): void {
    this.#score = Math.min(this.#max - 1, Math.max(0, this.#score + delta))
  }

  /** The current score (0 = healthy). */
  get score(): number {
    return this.#score
  }

  /** `ms` scaled by the score: `ms * (score + 1)`. */
  scale(ms: number): number {
    return ms * (this.#score + 1)
  }
}
