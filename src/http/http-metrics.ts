/**
 * Metrics of the HTTP API itself, in the peer's registry next to the mesh's: requests by route and status, request
 * duration, and open watch streams. Routes are the templates (`/v1/kv/:namespace/:key`), never raw URLs, so a client
 * cannot grow the label set; unknown routes count as `unmatched`.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { WatchStreams } from './watch-streams.js'

/** Adds the request metrics hook to `app` and the metrics to `registry`. */
export function registerHttpMetrics(app: FastifyInstance, registry: Registry, streams: WatchStreams): void {
  const registers = [registry]
  const requests = new Counter({
    name: 'confmesh_http_requests_total',
    help: 'HTTP API requests answered, by method, route template and status',
    labelNames: ['method', 'route', 'status'],
    registers,
  })
  const duration = new Histogram({
    name: 'confmesh_http_request_seconds',
    help: 'HTTP API request duration (watch streams excluded), by route template',
    labelNames: ['route'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers,
  })
  new Gauge({
    name: 'confmesh_http_watch_streams',
    help: 'Open watch (SSE) streams',
    registers,
    collect() {
      this.set(streams.size)
    },
  })
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched'
    requests.inc({ method: req.method, route, status: String(reply.statusCode) })
    if (route !== '/v1/watch') duration.observe({ route }, reply.elapsedTime / 1000)
  })
}
