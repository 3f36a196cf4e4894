/**
 * `/healthz`, `/v1/status`, `/v1/peers`, `/v1/ring`, `/metrics` and `/v1/watch`: the agent itself (with its own member
 * record and the caller's access), its view of the mesh (with the members' shares of the ring), and the change stream.
 *
 * @module
 */
import { performance } from 'node:perf_hooks'
import { createRingShares } from './ring-shares.js'
import { OPEN, READ, type RouteContext } from './route-context.js'
import { ROUTE_SCHEMAS } from './schemas.js'
import type { WatchFilter } from './watch-streams.js'

/** Registers the agent and cluster routes. */
export function registerClusterRoutes(ctx: RouteContext): void {
  const { app, mesh, metrics, streams, softwareVersion, startedAt } = ctx
  const shares = createRingShares(mesh.ring)
  app.get('/healthz', { schema: ROUTE_SCHEMAS.healthz, config: OPEN }, async () => ({ status: 'ok' as const }))

  app.get('/v1/status', { schema: ROUTE_SCHEMAS.status, config: READ }, async (req) => {
    const stats = await mesh.stats()
    return {
      peerId: mesh.peerId,
      meshName: mesh.meshName,
      addresses: mesh.addresses,
      version: softwareVersion,
      configVersion: mesh.version(),
      ...stats,
      peers: mesh.peers().length,
      members: mesh.ring.members().length,
      namespaces: mesh.namespaces(),
      uptimeSeconds: (performance.now() - startedAt) / 1000,
      access: ctx.accessOf(req.headers.authorization),
      member: { ...mesh.self(), self: true as const },
    }
  })

  app.get('/v1/peers', { schema: ROUTE_SCHEMAS.peers, config: READ }, async () => ({
    self: mesh.peerId,
    peers: mesh.peers(),
  }))

  app.get<{ Querystring: { key?: string; n?: number } }>(
    '/v1/ring',
    { schema: ROUTE_SCHEMAS.ring, config: READ },
    async (req) => {
      const members = mesh.ring.members()
      const { key, n } = req.query
      return key === undefined
        ? { members, shares: shares() }
        : { members, key, owners: mesh.ring.ownerOf(key, n ?? 1) }
    },
  )

  app.get('/metrics', { schema: ROUTE_SCHEMAS.metrics, config: READ }, async (_req, reply) => {
    const text = await metrics.text()
    return reply.type(metrics.contentType).send(text)
  })

  app.get<{ Querystring: WatchFilter & { lastEventId?: string } }>(
    '/v1/watch',
    { schema: ROUTE_SCHEMAS.watch, config: READ, exposeHeadRoute: false },
    (req, reply) => {
      const header = req.headers['last-event-id']
      const lastEventId = (Array.isArray(header) ? header[0] : header) ?? req.query.lastEventId
      const { namespace, prefix, key } = req.query
      reply.hijack()
      streams.open(reply.raw, { namespace, prefix, key }, lastEventId === '' ? undefined : lastEventId)
    },
  )
}
