/**
 * Named error classes of the core. Every error confmesh throws extends {@link ConfmeshError}; callers match on
 * `err.name` (stable across package copies) or `instanceof`. Module-specific errors live next to their module
 * (`src/<module>/errors.ts`) and extend the same base.
 *
 * @module
 */

/** Base class of every error confmesh throws. `code` is a stable, machine-readable identifier. */
export class ConfmeshError extends Error {
  static readonly code: string = 'ERR_CONFMESH'
  /** Stable machine-readable code, e.g. `ERR_INVALID_KEY`. */
  readonly code: string

  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = (new.target as unknown as { code: string }).code
  }
}

/** A key is empty, too long, not a string, or contains forbidden characters. */
export class InvalidKeyError extends ConfmeshError {
  static override readonly code: string = 'ERR_INVALID_KEY'
}

/** A value is not JSON: `undefined`, a function, a symbol, `NaN`/`Infinity`, a `bigint`, a cycle, or too large/deep. */
export class InvalidValueError extends ConfmeshError {
  static override readonly code: string = 'ERR_INVALID_VALUE'
}

/** A namespace name is empty, too long, or not a string. */
export class InvalidNamespaceError extends ConfmeshError {
  static override readonly code: string = 'ERR_INVALID_NAMESPACE'
}

/** An option passed to `createMesh` (or another factory) is invalid. */
export class InvalidOptionsError extends ConfmeshError {
  static override readonly code: string = 'ERR_INVALID_OPTIONS'
}

/** The mesh was used after `stop()`. */
export class MeshStoppedError extends ConfmeshError {
  static override readonly code: string = 'ERR_MESH_STOPPED'
}

/** A message received from the network could not be decoded (bad framing, unknown version or kind). */
export class InvalidMessageError extends ConfmeshError {
  static override readonly code: string = 'ERR_INVALID_MESSAGE'
}

/** A remote update was refused before it was applied (oversized, malformed, or not allowed). */
export class UpdateRejectedError extends ConfmeshError {
  static override readonly code: string = 'ERR_UPDATE_REJECTED'
}

/** A catch-up (state-vector exchange) with a peer failed or timed out. */
export class SyncError extends ConfmeshError {
  static override readonly code: string = 'ERR_SYNC'
}
