/**
 * Errors of feature flags (`mesh.importFlags`).
 *
 * @module
 */
import { ConfmeshError } from '../errors.js'

/** A flag file is not JSON, or breaks flagd's flag-definition schema; nothing was written. */
export class InvalidFlagsError extends ConfmeshError {
  static override readonly code: string = 'ERR_INVALID_FLAGS'
}
