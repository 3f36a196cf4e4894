/**
 * Named errors of the SWIM membership core. Decoding never throws anything else on bad bytes: every malformed,
 * truncated or oversized message becomes a {@link SwimMessageError} whose `reason` says which rule it broke, and the
 * state machine drops it without changing any state.
 *
 * @module
 */
import { InvalidMessageError } from '../../errors.js'

/** Why a SWIM message was refused. */
export type SwimMessageErrorReason =
  | 'truncated'
  | 'too-large'
  | 'bad-version'
  | 'bad-kind'
  | 'bad-field'
  | 'limit'
  | 'trailing-bytes'
  | 'bad-signature'

/** A SWIM message could not be decoded: malformed, truncated, over a limit, or of an unknown version or kind. */
export class SwimMessageError extends InvalidMessageError {
  static override readonly code: string = 'ERR_SWIM_MESSAGE'
  /** Which rule the message broke. */
  readonly reason: SwimMessageErrorReason

  constructor(reason: SwimMessageErrorReason, message: string) {
    super(`SWIM message refused (${reason}): ${message}`)
    this.reason = reason
  }
}
