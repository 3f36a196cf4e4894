/**
 * `/v1/rollouts`: gray releases over HTTP. Starting, widening, promoting and aborting are writes (write token); each
 * is one versioned write every peer applies. Conflicts are 409 (another value rolls out on the key), unknown ids 404,
 * bad options 400, a value a schema refuses 422 with `issues`.
 *
 * @module
 */
import type { JsonValue } from '../config/value.js'
import type { RolloutOptions } from '../rollout/api.js'
import { assertWritableNamespace } from './kv-routes.js'
import { RELEASE_ROUTE_SCHEMAS as S } from './release-schemas.js'
import { READ, type RouteContext, WRITE } from './route-context.js'

/** The body of `POST /v1/rollouts`. */
type StartBody = { namespace: string; key: string; value: JsonValue } & RolloutOptions

/** Registers the rollout routes. */
export function registerRolloutRoutes({ app, mesh }: RouteContext): void {
  app.get('/v1/rollouts', { schema: S.listRollouts, config: READ }, async () => ({ rollouts: mesh.rollouts() }))

  app.post<{ Body: StartBody }>('/v1/rollouts', { schema: S.startRollout, config: WRITE }, async (req) => {
    const { namespace, key, value, percent, tags, peers } = req.body
    assertWritableNamespace(namespace)
    const { id } = await mesh.rollout(namespace, key, value, {
      ...(percent === undefined ? {} : { percent }),
      ...(tags === undefined ? {} : { tags }),
      ...(peers === undefined ? {} : { peers }),
    })
    return { id, version: mesh.version() }
  })

  app.post<{ Params: { id: string } }>(
    '/v1/rollouts/:id/promote',
    { schema: S.promoteRollout, config: WRITE },
    async (req) => {
      await mesh.promote(req.params.id)
      return { version: mesh.version() }
    },
  )

  app.post<{ Params: { id: string } }>(
    '/v1/rollouts/:id/abort',
    { schema: S.abortRollout, config: WRITE },
    async (req) => {
      await mesh.abort(req.params.id)
      return { version: mesh.version() }
    },
  )
}
