/**
 * Named errors of the agent (`confmesh node`).
 *
 * @module
 */
import { ConfmeshError } from '../errors.js'

/** A flag or config-file option is unknown or malformed, or a file it names cannot be read. Exit code 2. */
export class AgentOptionsError extends ConfmeshError {
  static override readonly code: string = 'ERR_AGENT_OPTIONS'
}
