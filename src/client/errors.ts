/**
 * Named errors of the HTTP API client. Every answer of the agent that is not a success becomes one of these, carrying
 * the HTTP status and the agent's `{ error: { code, message } }`; a connection that fails becomes
 * {@link ApiUnreachableError}. Callers (the CLI maps them to exit codes) match on the class or on `name`.
 *
 * @module
 */
import { ConfmeshError } from '../errors.js'
import type { SchemaIssue } from '../schema/errors.js'

/** One reason a value breaks a stored schema, as the agent reports it (`error.issues` of a 422 answer). */
export type ApiSchemaIssue = SchemaIssue

/** Base class of every error the HTTP API client throws. */
export class ApiError extends ConfmeshError {
  static override readonly code: string = 'ERR_API'
  /** HTTP status of the answer; 0 when there was none. */
  readonly status: number
  /** The agent's error code (`error.code` of its JSON body), when it sent one. */
  readonly apiCode: string | undefined
  /** With `ERR_SCHEMA_VALIDATION` (422): every violation of a stored schema (`error.issues`); else empty. */
  readonly issues: readonly ApiSchemaIssue[]

  constructor(
    message: string,
    status: number,
    apiCode?: string,
    options?: ErrorOptions & { issues?: readonly ApiSchemaIssue[] },
  ) {
    super(message, options)
    this.status = status
    this.apiCode = apiCode
    this.issues = options?.issues ?? []
  }
}

/** 404: the key, namespace or version does not exist on the agent. */
export class ApiNotFoundError extends ApiError {
  static override readonly code: string = 'ERR_API_NOT_FOUND'
}

/** Another 4xx: the agent refused the request (401 no/unknown token, 403 read token on a write, 400 bad input, 413). */
export class ApiRefusedError extends ApiError {
  static override readonly code: string = 'ERR_API_REFUSED'
}

/** 5xx, or an answer that is not the JSON the API promises. */
export class ApiServerError extends ApiError {
  static override readonly code: string = 'ERR_API_SERVER'
}

/** The agent could not be reached (connection refused, DNS, timeout). */
export class ApiUnreachableError extends ApiError {
  static override readonly code: string = 'ERR_API_UNREACHABLE'
}
