/**
 * `POST /v1/flags/import`: loads a flagd flag file (the request body) into a namespace as one change (write token).
 * flagd's own schema and flagd-core check it first (400 `ERR_INVALID_FLAGS`, nothing written), then the namespace's
 * stored schemas like any write (422 with `issues`).
 *
 * @module
 */
import type { JsonValue } from '../config/value.js'
import { DEFAULT_FLAG_NAMESPACE } from '../flags/flag-set.js'
import { assertWritableNamespace } from './kv-routes.js'
import { RELEASE_ROUTE_SCHEMAS as S } from './release-schemas.js'
import { type RouteContext, WRITE } from './route-context.js'

/** Registers the flag routes. */
export function registerFlagRoutes({ app, mesh }: RouteContext): void {
  app.post<{ Querystring: { namespace?: string; replace?: boolean }; Body: JsonValue }>(
    '/v1/flags/import',
    { schema: S.importFlags, config: WRITE },
    async (req) => {
      const namespace = req.query.namespace ?? DEFAULT_FLAG_NAMESPACE
      assertWritableNamespace(namespace)
      const { flags } = await mesh.importFlags(req.body, { namespace, replace: req.query.replace === true })
      return { flags, version: mesh.version() }
    },
  )
}
