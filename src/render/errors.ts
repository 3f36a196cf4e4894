/**
 * Named errors of the renderer. A failed render never writes the output file: the error is logged (and returned from
 * `renderNow()`), the old file stays, and a long-running renderer keeps watching.
 *
 * @module
 */
import { ConfmeshError } from '../errors.js'

/** The template does not parse, or failed while rendering (e.g. an undefined variable with strict variables). */
export class TemplateError extends ConfmeshError {
  static override readonly code: string = 'ERR_TEMPLATE'
}

/** The configuration could not be read for a render (agent unreachable or refusing, mesh stopped). */
export class RenderSourceError extends ConfmeshError {
  static override readonly code: string = 'ERR_RENDER_SOURCE'
}

/** The output file could not be written (directory missing, permissions, disk full). */
export class RenderWriteError extends ConfmeshError {
  static override readonly code: string = 'ERR_RENDER_WRITE'
}

/** The `exec` command exited non-zero, was killed, or outran its timeout. */
export class ExecFailedError extends ConfmeshError {
  static override readonly code: string = 'ERR_EXEC_FAILED'
}
