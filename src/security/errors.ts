/**
 * Named error classes of the security building blocks. Update-guard errors extend the core
 * {@link UpdateRejectedError} (so a caller can catch "any refused update" with one `instanceof`); the others extend
 * {@link ConfmeshError} directly. Callers match on `err.name` or `err.code`.
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

/** A private-network key (libp2p pnet swarm key) is malformed. */
export class InvalidNetworkKeyError extends ConfmeshError {
  static override readonly code = 'ERR_INVALID_NETWORK_KEY'
}

/** A data key for sealed secrets is not 32 bytes (or not valid base64 of 32 bytes). */
export class InvalidDataKeyError extends ConfmeshError {
  static override readonly code = 'ERR_INVALID_DATA_KEY'
}

/** The value handed to `openValue` is not a sealed-secret envelope (wrong shape, version or encoding). */
export class NotSealedError extends ConfmeshError {
  static override readonly code = 'ERR_NOT_SEALED'
}

/** The envelope was sealed with a different data key (its key id does not match). */
export class SecretKeyMismatchError extends ConfmeshError {
  static override readonly code = 'ERR_SECRET_KEY_MISMATCH'
}

/**
 * Authenticated decryption failed: the ciphertext, nonce or tag was modified, or the envelope was moved to another
 * namespace/key (the additional authenticated data differs).
 */
export class SecretAuthenticationError extends ConfmeshError {
  static override readonly code = 'ERR_SECRET_AUTHENTICATION'
}

/** Serialized identity bytes are not a valid Ed25519 libp2p private key protobuf. */
export class InvalidIdentityError extends ConfmeshError {
  static override readonly code = 'ERR_INVALID_IDENTITY'
}

/** A peer id or epoch passed to the client-id binding is invalid (empty id, epoch not a uint32). */
export class InvalidClientIdInputError extends ConfmeshError {
  static override readonly code = 'ERR_INVALID_CLIENT_ID_INPUT'
}
