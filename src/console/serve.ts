/**
 * `serveConsole(app)`: serves the web console (the single-page app built by `npm run build` into `dist/console/`) from
 * the agent's HTTP API at `/ui/`, with `/` redirecting there.
 *
 * Guarantees: the console's static files need no token (they hold no data: every API call the page makes carries the
 * token the operator typed, and the API checks it); they are served with a strict Content-Security-Policy (everything
 * from this agent, nothing from anywhere else: no CDN, no web fonts, no inline script); a path under `/ui/` that is not
 * a file answers the app's `index.html` (client-side routes), and a path that tries to leave the console's folder is
 * refused by @fastify/static. The routes are hidden from the OpenAPI document (they are not part of the API). When the
 * console was not built, `/ui/` answers 404 with the command that builds it, and the API works as before.
 *
 * @module
 */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply } from 'fastify'

/** Where the console is served. */
export const CONSOLE_PATH = '/ui/'

/** The Content-Security-Policy of the console's files: everything from this agent, nothing else. */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/** Route config: the console's files need no token (the auth hook of `createHttpApi` reads `access`). */
const OPEN = { access: 'open' } as const

/**
 * The folder holding the built console (`index.html`, `console.js`, `console.css`): `dist/console/` of the package,
 * found from the compiled file (`dist/src/console/`) and from the sources (`src/console/`). Undefined when not built.
 */
export function consoleAssetsDir(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url))
  const candidates = [join(here, '../../console'), join(here, '../../dist/console')]
  return candidates.find((dir) => existsSync(join(dir, 'index.html')))
}

/** Options of {@link serveConsole}. */
export interface ServeConsoleOptions {
  /** Folder of the built console (holding `index.html`). Default {@link consoleAssetsDir}(). */
  root?: string
}

/**
 * Registers the console's routes on `app` (call before `listen`): `GET /` and `GET /ui` redirect to
 * {@link CONSOLE_PATH}, files under it are served without a token.
 */
export async function serveConsole(app: FastifyInstance, options: ServeConsoleOptions = {}): Promise<void> {
  const given = options.root ?? consoleAssetsDir()
  const root = given !== undefined && existsSync(join(given, 'index.html')) ? given : undefined
  const hidden = { hide: true }
  const toConsole = (_req: unknown, reply: FastifyReply) => reply.redirect(CONSOLE_PATH, 302)
  app.get('/', { schema: hidden, config: OPEN }, toConsole)
  app.get(CONSOLE_PATH.slice(0, -1), { schema: hidden, config: OPEN }, toConsole)
  if (root === undefined) {
    const notBuilt = (_req: unknown, reply: FastifyReply) =>
      reply.code(404).send({
        error: { code: 'ERR_CONSOLE_NOT_BUILT', message: 'the web console is not built: run `npm run build`' },
      })
    app.get(CONSOLE_PATH, { schema: hidden, config: OPEN }, notBuilt)
    app.get(`${CONSOLE_PATH}*`, { schema: hidden, config: OPEN }, notBuilt)
    return
  }
  await app.register(fastifyStatic, { root, serve: false, decorateReply: true, dotfiles: 'deny', index: false })
  const send = (file: string, reply: FastifyReply) =>
    reply
      .header('content-security-policy', CONSOLE_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache')
      .sendFile(file)
  app.get(CONSOLE_PATH, { schema: hidden, config: OPEN }, (_req, reply) => send('index.html', reply))
  app.get<{ Params: { '*': string } }>(`${CONSOLE_PATH}*`, { schema: hidden, config: OPEN }, (req, reply) => {
    const path = req.params['*']
    // an asset (a name with an extension) is served or 404s; anything else is a client-side route of the app
    const isAsset = /^[\w-]+\.[a-z0-9]+$/i.test(path)
    if (!isAsset) return send('index.html', reply)
    if (!existsSync(join(root, path))) {
      return reply.code(404).send({ error: { code: 'ERR_NOT_FOUND', message: `no console file ${path}` } })
    }
    return send(path, reply)
  })
}
