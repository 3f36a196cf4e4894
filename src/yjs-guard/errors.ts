/**
 * Named errors of the update guard. Refusals extend the core {@link UpdateRejectedError} (so a caller can catch "any
 * refused update" with one `instanceof`); {@link UpdateApplyError} (Yjs threw on an accepted update) extends
 * {@link ConfmeshError}. Callers match on `err.name` or `err.code`.
 *
 * @module
 */
import { ConfmeshError, UpdateRejectedError } from '../errors.js'

/**
 * The bytes are not a well-formed Yjs v1 update: truncated, an unknown struct/content tag, a non-canonical varint,
 * invalid UTF-8 or JSON, a zero-length struct, a reference to a clock the same client has not written yet,
 * duplicate client blocks, unsorted/overlapping delete ranges, or trailing bytes.
 */
export class MalformedUpdateError extends UpdateRejectedError {
  static override readonly code = 'ERR_MALFORMED_UPDATE'
}

/**
 * The update is well-formed so far but exceeds a configured limit (bytes, structs, clients, delete ranges, content
 * size, nesting depth or clock range). See `UpdateLimits`.
 */
export class UpdateTooLargeError extends UpdateRejectedError {
  static override readonly code = 'ERR_UPDATE_TOO_LARGE'
}

/** Inspecting the update took longer than the configured time budget (`UpdateLimits.maxMillis`). */
export class UpdateTimeoutError extends UpdateRejectedError {
  static override readonly code = 'ERR_UPDATE_TIMEOUT'
}

/**
 * The update is valid Yjs but contains something confmesh refuses by policy: a sub-document, an object key
 * `__proto__`, or a root type name outside the allowed set.
 */
export class ForbiddenContentError extends UpdateRejectedError {
  static override readonly code = 'ERR_FORBIDDEN_CONTENT'
}

/**
 * `Y.applyUpdate` threw although the update passed inspection. The document may have been partly modified; the
 * original error is the `cause`. This indicates a gap in the guard and should be reported.
 */
export class UpdateApplyError extends ConfmeshError {
  static override readonly code = 'ERR_UPDATE_APPLY'
}
