/**
 * A typed client for a confmesh agent's HTTP API (`confmesh node --http`), over the platform `fetch`. One method per
 * operation of the `/v1` API; every failure is a named {@link ApiError} subclass (404 -> {@link ApiNotFoundError},
 * other 4xx -> {@link ApiRefusedError}, 5xx or a non-JSON answer -> {@link ApiServerError}, no answer ->
 * {@link ApiUnreachableError}). The client keeps no state besides its options; the agent serves its local replica, so
 * reads are that peer's view and writes are local, then gossiped.
 *
 * @module
 */
import type { JsonValue } from '../config/value.js'
import type { RolloutInfo, RolloutOptions } from '../rollout/api.js'
import {
  ApiError,
  ApiNotFoundError,
  ApiRefusedError,
  type ApiSchemaIssue,
  ApiServerError,
  ApiUnreachableError,
} from './errors.js'

/** Options of {@link createApiClient}. */
export interface ApiClientOptions {
  /** Base URL of the agent, e.g. `http://127.0.0.1:8500` (a trailing `/` is ignored). */
  endpoint: string
  /** Bearer token (a `read` or `write` line of the agent's token file). Default: none. */
  token?: string
  /** Per-request timeout in ms (not for the watch stream). Default {@link DEFAULT_REQUEST_TIMEOUT_MS}. */
  timeoutMs?: number
}

/** Default per-request timeout of {@link ApiClient} calls. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000

/** One entry as `GET /v1/kv/{namespace}/{key}` returns it. */
export interface ApiEntry {
  readonly namespace: string
  readonly key: string
  readonly value: JsonValue
  /** Peer id of the writer. */
  readonly author: string
  /** Hybrid-clock time of the write (ms since epoch). */
  readonly time: number
}

/** A namespace's entries as `GET /v1/kv/{namespace}` returns them. */
export interface ApiNamespace {
  readonly namespace: string
  readonly entries: Record<string, JsonValue>
}

/** A version (`id` + vector clock) as write, snapshot and rollback answers carry it. */
export interface ApiVersion {
  readonly id: string
  readonly clock?: Readonly<Record<string, number>>
}

/** One changed key of a history entry or diff. */
export interface ApiChange {
  readonly namespace: string
  readonly key: string
  readonly before?: JsonValue
  readonly after?: JsonValue
}

/** One history entry (newest first in `GET /v1/history`). */
export interface ApiHistoryEntry {
  readonly id: string
  readonly author: string
  readonly time: number
  readonly message?: string
  readonly changes: readonly ApiChange[]
  readonly available?: boolean
}

/** One live member as `GET /v1/peers` lists it. */
export interface ApiPeer {
  readonly peerId: string
  readonly addresses?: readonly string[]
  readonly weight?: number
  readonly tags?: Readonly<Record<string, string>>
  readonly connected?: boolean
  readonly ready?: boolean
  readonly lastSeen?: number
  readonly startedAt?: number
  readonly [field: string]: unknown
}

/** The answer of `GET /v1/status`. */
export interface ApiStatus {
  readonly peerId: string
  readonly meshName?: string
  readonly addresses?: readonly string[]
  /** The confmesh software version. */
  readonly version?: string
  /** The configuration version of this replica. */
  readonly configVersion?: ApiVersion
  readonly documentBytes?: number
  /** Live peers other than this one. */
  readonly peers?: number
  /** Live members on the ring, this one included. */
  readonly members?: number
  readonly namespaces?: readonly string[]
  readonly versions?: number
  readonly uptimeSeconds?: number
  /** What the token in use may do: `read`, `write`, or `open` (the agent has no tokens). */
  readonly access?: 'open' | 'read' | 'write'
  /** The agent itself as a ring member. */
  readonly member?: ApiPeer
  readonly [field: string]: unknown
}

/** The answer of `GET /v1/ring` (`?key=K&n=N`: the owners of K). */
export interface ApiRing {
  /** Every member on the ring. */
  readonly members: readonly string[]
  readonly key?: string
  /** The owners of `key`, first owner first. */
  readonly owners?: readonly string[]
  /** Without `key`: each member's weight and share (0..1) of the key space. */
  readonly shares?: ReadonlyArray<{ readonly peerId: string; readonly weight: number; readonly share: number }>
  readonly [field: string]: unknown
}

/** A stored schema as `GET /v1/schemas` lists it. */
export interface ApiSchema {
  readonly namespace: string
  readonly pattern: string
  readonly schema: JsonValue
  readonly author: string
  readonly time: number
}

/** An active rollout as `GET /v1/rollouts` lists it. */
export type ApiRollout = RolloutInfo

/** The body of `POST /v1/rollouts`: the key, its new value, and who gets it. */
export type ApiRolloutStart = { namespace: string; key: string; value: JsonValue } & RolloutOptions

/** Options of {@link ApiClient.rollback}. */
export interface ApiRollbackOptions {
  namespace?: string
  keys?: readonly string[]
  message?: string
}

/** The answer of `POST /v1/rollback`. */
export interface ApiRollbackResult {
  readonly version: ApiVersion | string
  readonly changes: readonly ApiChange[]
}

/** A client of one agent's HTTP API. */
export interface ApiClient {
  /** The normalised base URL. */
  readonly endpoint: string
  /** Headers every request carries (the bearer token, if any). */
  headers(): Record<string, string>
  /** `GET /v1/kv/{namespace}/{key}`; {@link ApiNotFoundError} when the key is not set. */
  get(namespace: string, key: string): Promise<ApiEntry>
  /** `PUT /v1/kv/{namespace}/{key}`; resolves with the answer (`{ version }`). */
  set(namespace: string, key: string, value: JsonValue): Promise<{ version: ApiVersion | string }>
  /** `DELETE /v1/kv/{namespace}/{key}`; `deleted: false` when the key had no value. */
  delete(namespace: string, key: string): Promise<{ version: ApiVersion | string; deleted: boolean }>
  /** `GET /v1/kv/{namespace}?prefix=P`. */
  list(namespace: string, prefix?: string): Promise<ApiNamespace>
  /** `GET /v1/kv`: the namespaces the agent holds (if the agent serves the listing). */
  namespaces(): Promise<string[]>
  /** `POST /v1/kv/{namespace}`: sets and deletes as one change. */
  batch(namespace: string, change: { set?: Record<string, JsonValue>; delete?: string[] }): Promise<unknown>
  /** `GET /v1/history?limit=N`. */
  history(options?: { limit?: number; namespace?: string; key?: string }): Promise<ApiHistoryEntry[]>
  /** `GET /v1/diff?from=ID&to=ID`. */
  diff(from: string, to?: string): Promise<ApiChange[]>
  /** `POST /v1/snapshot`. */
  snapshot(message?: string): Promise<{ version: ApiVersion | string }>
  /** `POST /v1/rollback`. */
  rollback(version: string, options?: ApiRollbackOptions): Promise<ApiRollbackResult>
  /** `GET /v1/peers`. */
  peers(): Promise<ApiPeer[]>
  /** `GET /v1/ring?key=K&n=N` (without a key: the members only). */
  ring(key?: string, n?: number): Promise<ApiRing>
  /** `GET /v1/status`. */
  status(): Promise<ApiStatus>
  /** Every stored schema. */
  schemas(): Promise<ApiSchema[]>
  /** Stores a schema for the keys of `namespace` matching `pattern` (`force`: even though current values break it). */
  setSchema(
    namespace: string,
    pattern: string,
    schema: JsonValue,
    force?: boolean,
  ): Promise<{ version: ApiVersion | string }>
  /** Removes a schema. */
  deleteSchema(namespace: string, pattern: string): Promise<{ version: ApiVersion | string; deleted: boolean }>
  /** Current values that break a stored schema. */
  validate(): Promise<{ valid: boolean; issues: ApiSchemaIssue[] }>
  /** Active rollouts, newest first. */
  rollouts(): Promise<ApiRollout[]>
  /** Starts (or widens) a rollout. */
  startRollout(start: ApiRolloutStart): Promise<{ id: string; version: ApiVersion | string }>
  /** Promotes (`promote`) or aborts (`abort`) a rollout. */
  endRollout(id: string, how: 'promote' | 'abort'): Promise<{ version: ApiVersion | string }>
  /** Loads a flagd flag file (parsed) into `namespace` (default `flags`). */
  importFlags(
    file: JsonValue,
    options?: { namespace?: string; replace?: boolean },
  ): Promise<{ flags: string[]; version: ApiVersion | string }>
  /** A request to any path under the endpoint; the JSON answer, or a typed error. */
  request<T>(method: string, path: string, body?: unknown): Promise<T>
  /** The URL of `path` under the endpoint. */
  url(path: string): string
}

/** Creates a client of the agent at `options.endpoint`. Throws `TypeError` for an endpoint that is not an http(s) URL. */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const endpoint = normaliseEndpoint(options.endpoint)
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  const headers = (): Record<string, string> =>
    options.token === undefined || options.token === '' ? {} : { authorization: `Bearer ${options.token}` }
  const url = (path: string): string => `${endpoint}${path}`
  const kvPath = (namespace: string, key?: string): string =>
    `/v1/kv/${encodeURIComponent(namespace)}${key === undefined ? '' : `/${encodeURIComponent(key)}`}`

  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response
    try {
      res = await fetch(url(path), {
        method,
        headers: {
          ...headers(),
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      })
    } catch (err) {
      throw new ApiUnreachableError(`cannot reach ${endpoint}: ${describeFetchError(err)}`, 0, undefined, {
        cause: err,
      })
    }
    return readAnswer<T>(res, `${method} ${path}`)
  }

  return {
    endpoint,
    headers,
    url,
    request,
    get: (namespace, key) => request<ApiEntry>('GET', kvPath(namespace, key)),
    set: (namespace, key, value) => request('PUT', kvPath(namespace, key), value),
    delete: (namespace, key) => request('DELETE', kvPath(namespace, key)),
    list: (namespace, prefix) =>
      request<ApiNamespace>(
        'GET',
        `${kvPath(namespace)}${prefix === undefined ? '' : `?prefix=${encodeURIComponent(prefix)}`}`,
      ),
    async namespaces() {
      const answer = await request<{ namespaces?: string[] } | string[]>('GET', '/v1/kv')
      return Array.isArray(answer) ? answer : (answer.namespaces ?? [])
    },
    batch: (namespace, change) => request('POST', kvPath(namespace), change),
    async history(opts = {}) {
      const answer = await request<{ entries?: ApiHistoryEntry[]; history?: ApiHistoryEntry[] } | ApiHistoryEntry[]>(
        'GET',
        `/v1/history${query(opts)}`,
      )
      return Array.isArray(answer) ? answer : (answer.entries ?? answer.history ?? [])
    },
    async diff(from, to) {
      const answer = await request<{ changes?: ApiChange[] } | ApiChange[]>('GET', `/v1/diff${query({ from, to })}`)
      return Array.isArray(answer) ? answer : (answer.changes ?? [])
    },
    snapshot: (message) => request('POST', '/v1/snapshot', message === undefined ? {} : { message }),
    rollback: (version, opts = {}) => request('POST', '/v1/rollback', { version, ...opts }),
    async peers() {
      const answer = await request<{ peers?: ApiPeer[] } | ApiPeer[]>('GET', '/v1/peers')
      return Array.isArray(answer) ? answer : (answer.peers ?? [])
    },
    ring: (key, n) => request<ApiRing>('GET', `/v1/ring${query({ key, n })}`),
    status: () => request<ApiStatus>('GET', '/v1/status'),
    async schemas() {
      return (await request<{ schemas: ApiSchema[] }>('GET', '/v1/schemas')).schemas
    },
    setSchema: (namespace, pattern, schema, force) =>
      request('PUT', `${schemaPath(namespace, pattern)}${force === true ? '?force=true' : ''}`, schema),
    deleteSchema: (namespace, pattern) => request('DELETE', schemaPath(namespace, pattern)),
    validate: () => request('GET', '/v1/validate'),
    async rollouts() {
      return (await request<{ rollouts: ApiRollout[] }>('GET', '/v1/rollouts')).rollouts
    },
    startRollout: (start) => request('POST', '/v1/rollouts', start),
    endRollout: (id, how) => request('POST', `/v1/rollouts/${encodeURIComponent(id)}/${how}`),
    importFlags: (file, opts = {}) =>
      request(
        'POST',
        `/v1/flags/import${query({ namespace: opts.namespace, replace: opts.replace === true ? 'true' : undefined })}`,
        file,
      ),
  }
}

function schemaPath(namespace: string, pattern: string): string {
  return `/v1/schemas/${encodeURIComponent(namespace)}/${encodeURIComponent(pattern)}`
}

/** Turns a non-success answer into the matching {@link ApiError}; parses a success's JSON body. */
export async function readAnswer<T>(res: Response, what: string): Promise<T> {
  const text = await res.text()
  let body: unknown
  if (text !== '') {
    try {
      body = JSON.parse(text)
    } catch {
      if (res.ok)
        throw new ApiServerError(`${what}: the agent answered ${res.status} with a body that is not JSON`, res.status)
    }
  }
  if (res.ok) return body as T
  const detail = (body as { error?: { code?: unknown; message?: unknown; issues?: unknown } } | undefined)?.error
  const apiCode = typeof detail?.code === 'string' ? detail.code : undefined
  const message = typeof detail?.message === 'string' ? detail.message : text.slice(0, 200) || res.statusText
  const full = `${what}: ${res.status}${apiCode === undefined ? '' : ` ${apiCode}`}: ${message}`
  if (res.status === 404) throw new ApiNotFoundError(full, res.status, apiCode)
  if (res.status >= 400 && res.status < 500) {
    const issues = Array.isArray(detail?.issues) ? (detail.issues as ApiSchemaIssue[]) : []
    throw new ApiRefusedError(full, res.status, apiCode, { issues })
  }
  throw new ApiServerError(full, res.status, apiCode)
}

/** Validates and normalises an endpoint URL (no trailing slash). */
export function normaliseEndpoint(endpoint: string): string {
  let parsed: URL
  try {
    parsed = new URL(endpoint)
  } catch {
    throw new TypeError(`endpoint ${JSON.stringify(endpoint)} is not a URL (expected e.g. http://127.0.0.1:8500)`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TypeError(`endpoint ${JSON.stringify(endpoint)} must be an http:// or https:// URL`)
  }
  return parsed.href.replace(/\/+$/, '')
}

/** A query string of the defined parameters (`''` when none). */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined) search.set(k, String(v))
  const s = search.toString()
  return s === '' ? '' : `?${s}`
}

/** The most telling text of a fetch failure (undici hides the socket error in `cause`). */
export function describeFetchError(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } }
  if (e?.name === 'TimeoutError') return 'timed out'
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err)
}

/** Whether `err` is an {@link ApiError} (also across package copies). */
export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError
}
