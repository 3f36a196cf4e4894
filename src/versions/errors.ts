/**
 * Named errors of the versions module (history, `at`, `diff`, `rollback`). Each extends {@link ConfmeshError}; match
 * on `err.name` or `err.code`.
 *
 * @module
 */
import { ConfmeshError } from '../errors.js'

/**
 * A version id is garbage (not a canonical encoding of a state vector), or names writes this peer has not received
 * (yet): a version taken on another peer is usable here once this peer has caught up with it.
 */
export class UnknownVersionError extends ConfmeshError {
  static override readonly code: string = 'ERR_UNKNOWN_VERSION'
}

/**
 * A version is older than the retained history: some write it does not include was folded into the compacted base,
 * so the configuration as it was at that version can no longer be reconstructed (see `retention` in `createMesh`).
 */
export class VersionPrunedError extends ConfmeshError {
  static override readonly code: string = 'ERR_VERSION_PRUNED'
}
