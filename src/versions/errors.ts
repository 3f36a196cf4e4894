/**
 * Named errors of the versions module (history, `at`, `diff`, `rollback`). Each extends {@link ConfmeshError}; match
 * on `err.name` or `err.code`.
 *
 * @module
 */
import { ConfmeshError } from '../errors.js'

/** A writer whose writes a version includes and this peer lacks. */
export interface MissingWriter {
  /** The writer's Yjs client id (a key of the version's `clock`). */
  readonly client: number
  /** The peer that writes under this client id, when this peer knows it. */
  readonly peerId: string | undefined
  /** How many of that writer's structs this peer holds. */
  readonly have: number
  /** How many the version includes. */
  readonly need: number
}

/**
 * A version id is garbage (not a canonical encoding of a state vector), or names writes this peer has not received
 * (yet), even after pulling from connected peers for the call's `timeoutMs`: `missing` then lists the writers. A
 * version taken on another peer is usable here once this peer has caught up with it.
 */
export class UnknownVersionError extends ConfmeshError {
  static override readonly code: string = 'ERR_UNKNOWN_VERSION'
  /** The writers whose writes are missing (empty for a garbage id). */
  readonly missing: readonly MissingWriter[]

  constructor(message: string, options?: ErrorOptions & { missing?: readonly MissingWriter[] }) {
    super(message, options)
    this.missing = options?.missing ?? []
  }
}

/**
 * A version is older than the retained history: some write it does not include was folded into the compacted base,
 * so the configuration as it was at that version can no longer be reconstructed (see `retention` in `createMesh`).
 */
export class VersionPrunedError extends ConfmeshError {
  static override readonly code: string = 'ERR_VERSION_PRUNED'
}
