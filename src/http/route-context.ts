/**
 * What every route file gets: the mesh, the API's parts, and the per-route access level (declared on each route as
 * `config: { access }` and enforced by the auth hook in `http-api.ts`).
 *
 * @module
 */
import type { FastifyInstance } from 'fastify'
import type { ConfigMesh } from '../mesh/config-mesh.js'
import type { MeshMetrics } from '../metrics/mesh-metrics.js'
import type { WatchStreams } from './watch-streams.js'

/** Who may call a route: anyone (`open`, only `/healthz`), read or write tokens. */
export type RouteAccess = 'open' | 'read' | 'write'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route. Default `read`. */
    access?: RouteAccess
  }
}

/** Shared by the route files. */
export interface RouteContext {
  readonly app: FastifyInstance
  readonly mesh: ConfigMesh
  readonly metrics: MeshMetrics
  readonly streams: WatchStreams
  /** The confmesh software version. */
  readonly softwareVersion: string
  /** `performance.now()` at start. */
  readonly startedAt: number
  /** What a request's `Authorization` header may do: `open` without tokens, else `read` or `write`. */
  accessOf(authorization: string | undefined): CallerAccess
}

/** What a caller may do: `open` when the API has no tokens (anyone may write), else its token's access. */
export type CallerAccess = 'open' | 'read' | 'write'

/** Route config: anyone may call it. */
export const OPEN = { access: 'open' } as const
/** Route config: a read or write token (with tokens). */
export const READ = { access: 'read' } as const
/** Route config: a write token (with tokens). */
export const WRITE = { access: 'write' } as const
