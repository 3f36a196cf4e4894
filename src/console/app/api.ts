/**
 * The console's HTTP client: every call goes to the agent that served the page (same origin), carries the bearer
 * token when there is one, and turns an error answer into an {@link ApiError} holding the API's own code and message
 * (shown to the operator as they are).
 *
 * @module
 */
import type { ErrorBody, SchemaIssue } from './types.js'

/** An error answer of the API (or a network failure: status 0). */
export class ApiError extends Error {
  override readonly name = 'ApiError'
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** With `ERR_SCHEMA_VALIDATION`: every violation of a stored schema. */
    readonly issues: readonly SchemaIssue[] = [],
  ) {
    super(message)
  }
}

/** A client bound to one token. */
export interface Api {
  readonly token: string | undefined
  get<T>(path: string): Promise<T>
  send<T>(method: 'PUT' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T>
  /** The headers of every call (the watch stream adds its own). */
  headers(): Record<string, string>
}

/** A client sending `token` (none: an agent without tokens). */
export function createApi(token: string | undefined): Api {
  const headers = (): Record<string, string> => (token === undefined ? {} : { authorization: `Bearer ${token}` })
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    let res: Response
    try {
      res = await fetch(path, {
        method,
        headers: body === undefined ? headers() : { ...headers(), 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
    } catch (err) {
      throw new ApiError(0, 'ERR_NETWORK', `the agent cannot be reached (${(err as Error).message})`)
    }
    const text = await res.text()
    let parsed: unknown
    try {
      parsed = text === '' ? undefined : JSON.parse(text)
    } catch {
      parsed = undefined
    }
    if (!res.ok) {
      const e = (parsed as ErrorBody | undefined)?.error
      throw new ApiError(
        res.status,
        e?.code ?? `HTTP_${res.status}`,
        e?.message ?? (text.slice(0, 200) || res.statusText),
        e?.issues ?? [],
      )
    }
    return parsed as T
  }
  return {
    token,
    get: (path) => call('GET', path),
    send: (method, path, body) => call(method, path, body),
    headers,
  }
}

/** Path of one key. */
export function keyPath(namespace: string, key: string): string {
  return `/v1/kv/${encodeURIComponent(namespace)}/${encodeURIComponent(key)}`
}

/** Path of one namespace. */
export function namespacePath(namespace: string): string {
  return `/v1/kv/${encodeURIComponent(namespace)}`
}
