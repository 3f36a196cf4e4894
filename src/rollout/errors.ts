/**
 * Errors of gray releases (`mesh.rollout`, `promote`, `abort`).
 *
 * @module
 */
import { ConfmeshError } from '../errors.js'

/** Bad rollout options: percent outside 0..100 or lower than the rollout's current one, bad tags or peer ids. */
export class InvalidRolloutError extends ConfmeshError {
  static override readonly code: string = 'ERR_INVALID_ROLLOUT'
}

/** No active rollout has this id (never started, or already promoted or aborted). */
export class UnknownRolloutError extends ConfmeshError {
  static override readonly code: string = 'ERR_UNKNOWN_ROLLOUT'
}

/** A rollout of another value is active on the key: promote or abort it first. */
export class RolloutConflictError extends ConfmeshError {
  static override readonly code: string = 'ERR_ROLLOUT_CONFLICT'
}
