/**
 * The one table that maps errors to HTTP answers. Every error a route throws ends here: the mesh's named errors by
 * their `name` (stable across package copies), Fastify's own request errors (bad JSON, schema validation, body too
 * large) by their status, and anything else as a 500 whose details stay in the log, never in the answer.
 *
 * Answers are `{ "error": { "code", "message" } }`; `code` is the error's stable `code` (`ERR_INVALID_KEY`, ...). A
 * schema's refusal (422) adds `issues`: every violation (namespace, key, pattern, path, message).
 *
 * @module
 */
import { ConfmeshError } from '../errors.js'
import type { SchemaIssue } from '../schema/errors.js'

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: { code: string; message: string; issues?: readonly SchemaIssue[] }
}

/** An error answer: status and body. */
export interface ErrorReply {
  status: number
  body: ErrorBody
  /** Whether the error is the server's fault (logged as an error, not a warning). */
  internal: boolean
}

/** HTTP status of each named error of the mesh a request can cause. Names not listed (and not Storage*) are 500. */
export const ERROR_STATUS: Readonly<Record<string, number>> = {
  // bad input: nothing changed
  InvalidKeyError: 400,
  InvalidValueError: 400,
  InvalidNamespaceError: 400,
  InvalidOptionsError: 400,
  InvalidWeightError: 400,
  InvalidReplicasError: 400,
  KeyRequiredError: 400,
  UnknownStrategyError: 400,
  DataKeyRequiredError: 400,
  NotSealedError: 400,
  InvalidSchemaError: 400,
  InvalidRolloutError: 400,
  InvalidFlagsError: 400,
  // a schema refused the value: `issues` lists every violation
  SchemaValidationError: 422,
  // another value is rolling out on the key
  RolloutConflictError: 409,
  // this peer may not write (not in the mesh's writer set)
  NotAuthorizedError: 403,
  UnauthorizedUpdateError: 403,
  ReadOnlyNamespaceError: 403,
  // no such version (garbage id, writes not received yet, or older than the retained history)
  UnknownVersionError: 404,
  VersionPrunedError: 404,
  UnknownRolloutError: 404,
  // the peer cannot serve now
  MeshStoppedError: 503,
  NoLiveMembersError: 503,
  StorageClosedError: 503,
  StorageLockedError: 503,
}

/** `code` of Fastify's request errors, by status (the details stay in the message). */
const REQUEST_ERROR_CODE: Readonly<Record<number, string>> = {
  400: 'ERR_BAD_REQUEST',
  401: 'ERR_UNAUTHENTICATED',
  403: 'ERR_FORBIDDEN',
  404: 'ERR_NOT_FOUND',
  405: 'ERR_METHOD_NOT_ALLOWED',
  406: 'ERR_NOT_ACCEPTABLE',
  413: 'ERR_BODY_TOO_LARGE',
  414: 'ERR_URI_TOO_LONG',
  415: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  431: 'ERR_HEADERS_TOO_LARGE',
}

/** An error answer with `status`, `code` and `message`. */
export function errorReply(status: number, code: string, message: string): ErrorReply {
  return { status, body: { error: { code, message } }, internal: status >= 500 }
}

/** Maps any thrown value to its answer. */
export function toErrorReply(err: unknown): ErrorReply {
  if (err instanceof ConfmeshError || isNamedError(err)) {
    const e = err as ConfmeshError
    const status = ERROR_STATUS[e.name] ?? (e.name.startsWith('Storage') ? 503 : undefined)
    if (status !== undefined) {
      const r = errorReply(status, e.code, e.message)
      const issues = (e as { issues?: unknown }).issues
      if (Array.isArray(issues)) r.body.error.issues = issues as SchemaIssue[]
      return r
    }
  }
  const status = (err as { statusCode?: unknown })?.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const e = err as Error & { validationContext?: string }
    return errorReply(status, REQUEST_ERROR_CODE[status] ?? 'ERR_BAD_REQUEST', e.message)
  }
  return errorReply(500, 'ERR_INTERNAL', 'internal error (see the agent log)')
}

function isNamedError(err: unknown): boolean {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'string' && err.name in ERROR_STATUS
}
