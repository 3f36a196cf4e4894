/**
 * `/v1/schemas` and `/v1/validate`: the mesh's replicated JSON Schemas over HTTP. Storing or removing a schema is a
 * write (write token); it is config like any key: replicated, versioned, in history. A schema the current values
 * break is refused with 422 and every violation in `error.issues` (unless `force=true`).
 *
 * @module
 */
import type { JsonValue } from '../config/value.js'
import { InvalidValueError } from '../errors.js'
import { errorReply } from './error-status.js'
import { assertWritableNamespace } from './kv-routes.js'
import { RELEASE_ROUTE_SCHEMAS as S } from './release-schemas.js'
import { READ, type RouteContext, WRITE } from './route-context.js'

interface SchemaParams {
  namespace: string
  pattern: string
}

/** Registers the schema routes. */
export function registerSchemaRoutes({ app, mesh }: RouteContext): void {
  const find = ({ namespace, pattern }: SchemaParams) =>
    mesh.schemas().find((s) => s.namespace === namespace && s.pattern === pattern)

  app.get('/v1/schemas', { schema: S.listSchemas, config: READ }, async () => ({ schemas: mesh.schemas() }))

  app.get<{ Params: SchemaParams }>(
    '/v1/schemas/:namespace/:pattern',
    { schema: S.getSchema, config: READ },
    async (req, reply) => {
      const info = find(req.params)
      if (info !== undefined) return info
      const r = errorReply(404, 'ERR_SCHEMA_NOT_FOUND', `${req.params.namespace}/${req.params.pattern} has no schema`)
      return reply.code(r.status).send(r.body)
    },
  )

  app.put<{ Params: SchemaParams; Querystring: { force?: boolean }; Body: JsonValue }>(
    '/v1/schemas/:namespace/:pattern',
    { schema: S.putSchema, config: WRITE },
    async (req) => {
      const { namespace, pattern } = req.params
      assertWritableNamespace(namespace)
      if (req.body === undefined) throw new InvalidValueError('the request body must be the JSON Schema to store')
      await mesh.setSchema(namespace, pattern, req.body, { force: req.query.force === true })
      return { version: mesh.version() }
    },
  )

  app.delete<{ Params: SchemaParams }>(
    '/v1/schemas/:namespace/:pattern',
    { schema: S.deleteSchema, config: WRITE },
    async (req) => {
      const deleted = find(req.params) !== undefined
      await mesh.deleteSchema(req.params.namespace, req.params.pattern)
      return { version: mesh.version(), deleted }
    },
  )

  app.get('/v1/validate', { schema: S.validate, config: READ }, async () => {
    const issues = mesh.validate()
    return { valid: issues.length === 0, issues }
  })
}
