/**
 * The console's HTTP client: every call goes to the agent that served the page (same origin), carries the bearer
 * token when there is one, and turns an error answer into an {@link ApiError} holding the API's own code and message
 * (shown to the operator as they are).
 *
 * @module
 */
import type { Access, ErrorBody } from './types.js'

/** An error answer of the API (or a network failure: status 0). */
export class ApiError extends Error {
  override readonly name = 'ApiError'
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
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

/**
 * What `api`'s token may do. The API has no "who am I" route, so this composes one that changes nothing: a batch
 * write with an empty body. The auth hook runs before validation, so a read token gets 403, a write token (or an
 * agent without tokens) the validation's 400, and nothing is written either way.
 */
export async function detectAccess(api: Api): Promise<Access> {
  try {
    await api.send('POST', namespacePath('console-access-check'), {})
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return 'read'
    if (err instanceof ApiError && err.status === 400) return api.token === undefined ? 'open' : 'write'
    throw err
  }
  return api.token === undefined ? 'open' : 'write'
}
