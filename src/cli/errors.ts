/**
 * Named errors of the command line, and the exit code each failure maps to: 0 ok, 1 not found or failed, 2 usage,
 * 3 refused by the agent.
 *
 * @module
 */
import { ApiNotFoundError, ApiRefusedError } from '../client/errors.js'
import { ConfmeshError } from '../errors.js'

/** Exit code: success. */
export const EXIT_OK = 0
/** Exit code: not found (a key, a version), or another failure (agent unreachable, render failed). */
export const EXIT_NOT_FOUND = 1
/** Exit code: bad usage (unknown command or option, missing argument). */
export const EXIT_USAGE = 2
/** Exit code: the agent refused the request (401, 403, 400, 413, ...). */
export const EXIT_REFUSED = 3

/** The command line is wrong: unknown command or option, missing or malformed argument. */
export class UsageError extends ConfmeshError {
  static override readonly code: string = 'ERR_USAGE'
}

/** The exit code for a failure. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT_USAGE
  if (err instanceof ApiRefusedError) return EXIT_REFUSED
  if (err instanceof ApiNotFoundError) return EXIT_NOT_FOUND
  return EXIT_NOT_FOUND
}
