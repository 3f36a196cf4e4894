/**
 * `/v1/history`, `/v1/diff`, `/v1/snapshot`, `/v1/rollback`: the versions API of the mesh (see `docs/versions.md`).
 * History is replicated, so any peer answers for the whole mesh; a rollback is a new forward change.
 *
 * @module
 */
import type { HistoryOptions } from '../versions/history.js'
import type { RollbackOptions } from '../versions/rollback.js'
import { assertWritableNamespace } from './kv-routes.js'
import { READ, type RouteContext, WRITE } from './route-context.js'
import { ROUTE_SCHEMAS } from './schemas.js'

/** Registers the versions routes. */
export function registerVersionRoutes({ app, mesh }: RouteContext): void {
  app.get<{ Querystring: HistoryOptions }>(
    '/v1/history',
    { schema: ROUTE_SCHEMAS.history, config: READ },
    async (req) => ({
      entries: mesh.history(req.query),
    }),
  )

  app.get<{ Querystring: { from: string; to?: string } }>(
    '/v1/diff',
    { schema: ROUTE_SCHEMAS.diff, config: READ },
    async (req) => ({ changes: mesh.diff(req.query.from, req.query.to) }),
  )

  app.post<{ Body: { message?: string } | undefined }>(
    '/v1/snapshot',
    { schema: ROUTE_SCHEMAS.snapshot, config: WRITE },
    async (req) => ({ version: await mesh.snapshot(req.body?.message) }),
  )

  app.post<{ Body: RollbackOptions & { version: string } }>(
    '/v1/rollback',
    { schema: ROUTE_SCHEMAS.rollback, config: WRITE },
    async (req) => {
      const { version, ...options } = req.body
      if (options.namespace !== undefined) assertWritableNamespace(options.namespace)
      const result = await mesh.rollback(version, options)
      return { version: result.version, changes: result.changes }
    },
  )
}
