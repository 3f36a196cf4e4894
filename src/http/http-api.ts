/**
 * `createHttpApi(mesh, { listen, tokens })`: the local HTTP API of one peer (what `confmesh node --http` serves), for
 * programs in any language next to it. Fastify 5 with JSON Schema validation on every route, the OpenAPI 3.1 document
 * generated from the same schemas (`GET /v1/openapi.json`), Server-Sent Events for watch, Prometheus metrics.
 *
 * Guarantees: a request is validated before a handler sees it; a bad request (malformed JSON, wrong types, bad keys,
 * too large) gets a 4xx `{ "error": { "code", "message" } }` and changes nothing; no request can crash the process (every
 * error ends in the mapping of `error-status.ts`, unknown ones as a 500 that is logged). With `tokens`, every request
 * but `GET /healthz` needs `Authorization: Bearer TOKEN` (401 without or unknown, 403 for a read token on a write);
 * without tokens the API listens on loopback only ({@link InsecureListenError} otherwise).
 *
 * It serves the peer's local replica: reads are local and instant, writes are local, then gossiped (AP, last writer
 * wins; two agents can answer differently for a few milliseconds).
 *
 * @module
 */
import { performance } from 'node:perf_hooks'
import fastifySwagger from '@fastify/swagger'
import { Ajv } from 'ajv'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import { serveConsole } from '../console/serve.js'
import type { MeshLogger } from '../logger.js'
import type { ConfigMesh } from '../mesh/config-mesh.js'
import { createMeshMetrics, type MeshMetrics } from '../metrics/mesh-metrics.js'
import { registerClusterRoutes } from './cluster-routes.js'
import { errorReply, toErrorReply } from './error-status.js'
import { InsecureListenError } from './errors.js'
import { createEventLog, type EventLogOptions } from './event-log.js'
import { registerFlagRoutes } from './flag-routes.js'
import { registerHttpMetrics } from './http-metrics.js'
import { registerKvRoutes } from './kv-routes.js'
import { DEFAULT_HTTP_LISTEN, isLoopbackHost, type ListenAddress, parseListenAddress, urlOf } from './listen-address.js'
import { packageVersion } from './package-version.js'
import { registerRolloutRoutes } from './rollout-routes.js'
import type { RouteContext } from './route-context.js'
import { registerSchemaRoutes } from './schema-routes.js'
import { ROUTE_SCHEMAS, SHARED_SCHEMAS } from './schemas.js'
import { createTokenChecker, type HttpToken } from './tokens.js'
import { registerVersionRoutes } from './version-routes.js'
import { createWatchStreams, type WatchStreamsOptions } from './watch-streams.js'

/** Default largest request body: 16 MiB, the mesh's default largest value. */
export const DEFAULT_HTTP_BODY_LIMIT = 16 * 1024 * 1024

/** Options of {@link createHttpApi}. */
export interface HttpApiOptions {
  /** `HOST:PORT` (`[::1]:PORT` for IPv6; port 0 picks a free one) or `{ host, port }`. Default `127.0.0.1:0`. */
  listen?: string | ListenAddress
  /**
   * Access tokens (`loadTokenFile(path)` reads a `read TOKEN` / `write TOKEN` file). Default none: every request is
   * allowed, and only a loopback `listen` address is accepted.
   */
  tokens?: readonly HttpToken[]
  /** Largest request body in bytes; larger ones get 413. Default {@link DEFAULT_HTTP_BODY_LIMIT}. */
  bodyLimit?: number
  /** Metrics to serve at `/metrics`. Default: `createMeshMetrics(mesh)`, stopped by `close()`. */
  metrics?: MeshMetrics
  /** The watch event log kept for `Last-Event-ID` resumes. Default 10,000 events / 32 MiB. */
  eventLog?: EventLogOptions
  /** Watch streams: keep-alive period (default 15 s), slow-client bound. */
  watch?: WatchStreamsOptions
  /** Where request errors are logged (4xx as `warn`, 5xx as `error`). Default: nowhere. */
  logger?: MeshLogger
}

/** A running HTTP API. */
export interface HttpApi {
  /** Base URL, e.g. `http://127.0.0.1:8500` (the unspecified address shown as loopback). */
  readonly url: string
  /** The address actually bound. */
  readonly address: ListenAddress
  /** The metrics it serves. */
  readonly metrics: MeshMetrics
  /** Ends watch streams, stops listening, waits for open requests. Idempotent. Does not stop the mesh. */
  close(): Promise<void>
}

/**
 * Serves `mesh` over HTTP. Resolves once listening. Throws {@link InsecureListenError} for a non-loopback address
 * without tokens, `InvalidTokenFileError` for malformed tokens, `InvalidListenAddressError` for a bad address.
 *
 * @example
 * ```ts
 * const mesh = await createMesh()
 * const api = await createHttpApi(mesh, { listen: '127.0.0.1:8500' })
 * await fetch(`${api.url}/v1/kv/default/feature.checkout`, { method: 'PUT', body: '{"enabled":true}' })
 * await api.close()
 * ```
 */
export async function createHttpApi(mesh: ConfigMesh, options: HttpApiOptions = {}): Promise<HttpApi> {
  const listen = parseListenAddress(options.listen ?? DEFAULT_HTTP_LISTEN)
  const tokens =
    options.tokens !== undefined && options.tokens.length > 0 ? createTokenChecker(options.tokens) : undefined
  if (tokens === undefined && !isLoopbackHost(listen.host)) {
    throw new InsecureListenError(
      `refusing to serve the HTTP API on ${listen.host} without access tokens: anyone who reaches it could change the ` +
        'configuration (give a token file, or listen on 127.0.0.1)',
    )
  }
  const log = createEventLog(options.eventLog)
  const unwatch = mesh.watchAll((e) => log.append(e)) // throws MeshStoppedError before anything else exists
  const ownMetrics = options.metrics === undefined
  let metrics: MeshMetrics
  try {
    metrics = options.metrics ?? createMeshMetrics(mesh)
  } catch (err) {
    unwatch()
    throw err
  }
  const streams = createWatchStreams(log, options.watch)
  const app = buildApp(options.bodyLimit ?? DEFAULT_HTTP_BODY_LIMIT, options.logger)
  const release = (): void => {
    streams.closeAll()
    if (ownMetrics) metrics.stop()
    try {
      unwatch()
    } catch {
      // the mesh stopped first: its watchers went with it
    }
  }
  try {
    app.addHook('onRequest', async (req, reply) => {
      const access = req.routeOptions.config?.access ?? 'read'
      if (access === 'open' || tokens === undefined) return
      const result = tokens.check(req.headers.authorization, access)
      if (result === 'ok') return
      const r =
        result === 'forbidden'
          ? errorReply(403, 'ERR_FORBIDDEN', 'this token may only read')
          : errorReply(401, 'ERR_UNAUTHENTICATED', 'a valid "Authorization: Bearer TOKEN" header is required')
      options.logger?.warn(`${req.method} ${req.url.slice(0, 200)} from ${req.ip}: ${r.status} ${r.body.error.code}`)
      await reply.code(r.status).header('www-authenticate', 'Bearer').send(r.body)
    })
    registerHttpMetrics(app, metrics.registry, streams)
    const context: RouteContext = {
      app,
      mesh,
      metrics,
      streams,
      softwareVersion: packageVersion(),
      startedAt: performance.now(),
      // a request reaching a route passed the auth hook: an unknown token only reaches `open` routes
      accessOf: (authorization) => (tokens === undefined ? 'open' : (tokens.accessOf(authorization) ?? 'read')),
    }
    await app.register(async (scope) => {
      const ctx = { ...context, app: scope }
      registerClusterRoutes(ctx)
      registerKvRoutes(ctx)
      registerVersionRoutes(ctx)
      registerSchemaRoutes(ctx)
      registerRolloutRoutes(ctx)
      registerFlagRoutes(ctx)
      scope.get('/v1/openapi.json', { schema: ROUTE_SCHEMAS.openapi, config: { access: 'read' } }, async () =>
        scope.swagger(),
      )
      await serveConsole(scope)
    })
    await app.listen({ host: listen.host, port: listen.port })
  } catch (err) {
    release()
    await app.close()
    throw err
  }
  const bound = app.server.address()
  const port = typeof bound === 'object' && bound !== null ? bound.port : listen.port
  let closing: Promise<void> | undefined
  return {
    url: urlOf(listen.host, port),
    address: { host: listen.host, port },
    metrics,
    close() {
      closing ??= (async () => {
        release()
        await app.close()
      })()
      return closing
    },
  }
}

/** The Fastify instance with validation, parsing, errors and the OpenAPI generator set up (routes come later). */
function buildApp(bodyLimit: number, logger: MeshLogger | undefined): FastifyInstance {
  const app = Fastify({
    logger: false,
    // errors before routing (an URL that does not decode): the same answers as every other error
    frameworkErrors: (err, _req, reply) => {
      const r = toErrorReply(err)
      void (reply as unknown as FastifyReply).code(r.status).send(r.body)
    },
    bodyLimit,
    routerOptions: { maxParamLength: 16_384 }, // a 1024-character key percent-encoded: up to 9,216
    forceCloseConnections: true,
    requestTimeout: 60_000, // a client must send its whole request within a minute (slow-loris); streams may last
    return503OnClosing: true,
  })
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema)
  // Query strings and params arrive as text: coerce `limit=5` to a number. Bodies are JSON: never coerce (a wrong
  // type is a 400, not silently a string).
  const coercing = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: false, strict: false })
  const exact = new Ajv({ coerceTypes: false, allErrors: false, strict: false })
  app.setValidatorCompiler(({ schema, httpPart }) => {
    if (httpPart !== 'body') return coercing.compile(schema)
    // A missing body (Fastify passes null) is checked as `{}`: optional for a body without required fields.
    const validate = exact.compile(schema)
    const check = (data: unknown): boolean => {
      const ok = validate(data === null ? {} : data)
      check.errors = validate.errors
      return ok
    }
    check.errors = validate.errors
    return check
  })
  // Every body is JSON whatever its content type (`curl -d` sends form encoding, `fetch` a string as text/plain),
  // parsed with Fastify's prototype-poisoning protection.
  const json = app.getDefaultJsonParser('error', 'error')
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string' }, json)
  app.addContentTypeParser('*', { parseAs: 'string' }, json)
  app.setErrorHandler((err, req, reply) => {
    const r = toErrorReply(err)
    const line = `${req.method} ${req.url.slice(0, 200)}: ${r.status} ${r.body.error.code}: ${r.body.error.message}`
    if (r.internal) logger?.error(`${line} (${(err as Error)?.stack ?? String(err)})`)
    else logger?.warn(line)
    return reply.code(r.status).send(r.body)
  })
  app.setNotFoundHandler((req, reply) => {
    const r = errorReply(404, 'ERR_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}`)
    return reply.code(r.status).send(r.body)
  })
  void app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'confmesh agent HTTP API',
        version: packageVersion(),
        description:
          "Serves one peer's local replica of a peer-to-peer configuration mesh: reads are local and instant, writes " +
          'are local, then gossiped (AP, last writer wins).',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  })
  return app
}
