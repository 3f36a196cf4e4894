/**
 * Named errors of the ring module (hash ring and pickers). Each extends {@link ConfmeshError}; match on `err.name` or
 * `err.code`.
 *
 * @module
 */
import { ConfmeshError } from '../errors.js'

/** A member id passed to the ring is not a non-empty string. */
export class InvalidMemberError extends ConfmeshError {
  static override readonly code = 'ERR_INVALID_MEMBER'
}

/** A member weight is not a positive finite number, or gives a member more virtual nodes than the ring allows. */
export class InvalidWeightError extends ConfmeshError {
  static override readonly code = 'ERR_INVALID_WEIGHT'
}

/** The `replicas` argument of `ownerOf` is not a positive integer. */
export class InvalidReplicasError extends ConfmeshError {
  static override readonly code = 'ERR_INVALID_REPLICAS'
}

/** Adding a member would exceed the ring's member limit (`MAX_RING_MEMBERS`). */
export class TooManyMembersError extends ConfmeshError {
  static override readonly code = 'ERR_TOO_MANY_MEMBERS'
}

/** A picker was asked to choose, but no member is live (the ring is empty, or every member was excluded). */
export class NoLiveMembersError extends ConfmeshError {
  static override readonly code = 'ERR_NO_LIVE_MEMBERS'
}

/** The `hash` pick strategy was used without a key. */
export class KeyRequiredError extends ConfmeshError {
  static override readonly code = 'ERR_KEY_REQUIRED'
}

/** A picker was asked for a strategy it does not know. */
export class UnknownStrategyError extends ConfmeshError {
  static override readonly code = 'ERR_UNKNOWN_STRATEGY'
}
