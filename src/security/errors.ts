/**
 * Named error classes of the security building blocks (keys, secrets, identities, client ids); they extend
 * {@link ConfmeshError}. The update guard's errors live in `src/yjs-guard/errors.ts`. Callers match on `err.name` or
 * `err.code`.
 *
 * @module
 */
import { ConfmeshError } from '../errors.js'

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
