/**
 * `/v1/kv`: read and write keys of the local replica. Reads are local and instant; writes are applied locally (durable
 * with a data dir) and then gossiped: confmesh is AP, last writer wins.
 *
 * @module
 */
import type { JsonValue } from '../config/value.js'
import { InvalidValueError } from '../errors.js'
import { isInternalNamespace } from '../versions/rollback.js'
import { errorReply } from './error-status.js'
import { ReadOnlyNamespaceError } from './errors.js'
import { READ, type RouteContext, WRITE } from './route-context.js'
import { ROUTE_SCHEMAS } from './schemas.js'

interface KeyParams {
  namespace: string
  key: string
}

/** Throws {@link ReadOnlyNamespaceError} for an internal namespace (`__confmesh*`). */
export function assertWritableNamespace(namespace: string): void {
  if (isInternalNamespace(namespace)) {
    throw new ReadOnlyNamespaceError(`namespace ${JSON.stringify(namespace)} is internal: read-only over HTTP`)
  }
}

/** Registers the kv routes. */
export function registerKvRoutes({ app, mesh }: RouteContext): void {
  app.get('/v1/kv', { schema: ROUTE_SCHEMAS.listNamespaces, config: READ }, async () => ({
    namespaces: mesh.namespaces(),
  }))

  app.get<{ Params: KeyParams }>(
    '/v1/kv/:namespace/:key',
    { schema: ROUTE_SCHEMAS.getKey, config: READ },
    async (req, reply) => {
      const { namespace, key } = req.params
      const entry = mesh.namespace(namespace).getEntry(key)
      if (entry === undefined) {
        const r = errorReply(404, 'ERR_KEY_NOT_FOUND', `${namespace}/${key} has no value`)
        return reply.code(r.status).send(r.body)
      }
      return { namespace, key, value: entry.value, author: entry.author, time: entry.time }
    },
  )

  app.put<{ Params: KeyParams; Body: JsonValue }>(
    '/v1/kv/:namespace/:key',
    { schema: ROUTE_SCHEMAS.putKey, config: WRITE },
    async (req) => {
      const { namespace, key } = req.params
      assertWritableNamespace(namespace)
      if (req.body === undefined) throw new InvalidValueError('the request body must be the JSON value to set')
      await mesh.namespace(namespace).set(key, req.body)
      return { version: mesh.version() }
    },
  )

  app.delete<{ Params: KeyParams }>(
    '/v1/kv/:namespace/:key',
    { schema: ROUTE_SCHEMAS.deleteKey, config: WRITE },
    async (req) => {
      const { namespace, key } = req.params
      assertWritableNamespace(namespace)
      const ns = mesh.namespace(namespace)
      const deleted = ns.has(key)
      await ns.delete(key)
      return { version: mesh.version(), deleted }
    },
  )

  app.get<{ Params: { namespace: string }; Querystring: { prefix?: string } }>(
    '/v1/kv/:namespace',
    { schema: ROUTE_SCHEMAS.listKeys, config: READ },
    async (req) => {
      const { namespace } = req.params
      const prefix = req.query.prefix ?? ''
      const entries: Record<string, JsonValue> = {}
      for (const [k, v] of mesh.namespace(namespace).entries()) if (k.startsWith(prefix)) entries[k] = v
      return { namespace, entries }
    },
  )

  app.post<{ Params: { namespace: string }; Body: { set?: Record<string, JsonValue>; delete?: string[] } }>(
    '/v1/kv/:namespace',
    { schema: ROUTE_SCHEMAS.batch, config: WRITE },
    async (req) => {
      assertWritableNamespace(req.params.namespace)
      const changes: Record<string, JsonValue | undefined> = { ...req.body.set }
      for (const key of req.body.delete ?? []) {
        if (Object.hasOwn(changes, key))
          throw new InvalidValueError(`key ${JSON.stringify(key)} is both set and deleted`)
        changes[key] = undefined
      }
      await mesh.namespace(req.params.namespace).update(changes)
      return { version: mesh.version() }
    },
  )
}
