/**
 * `serveConsole`: the console's files over real HTTP (Fastify listening on loopback, `fetch`): redirects, the CSP and
 * security headers, client-side routes answered with index.html, unknown files and path escapes refused, hidden from
 * the route's `access: open` only for its own paths, and a clear 404 when the console was not built.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { CONSOLE_CSP, serveConsole } from '../../src/console/serve.js'
import { removeTempDir, tempDir } from '../helpers/agent-process.js'

let app: FastifyInstance | undefined
let dir: string | undefined

afterEach(async () => {
  await app?.close()
  app = undefined
  if (dir !== undefined) await removeTempDir(dir)
  dir = undefined
})

/** A Fastify app with the console registered over `root`, listening on loopback; records each route's access. */
async function serve(root: string | undefined): Promise<{ url: string; access: Map<string, unknown> }> {
  app = Fastify()
  const access = new Map<string, unknown>()
  app.addHook('onRoute', (r) => {
    access.set(r.url, (r.config as { access?: unknown } | undefined)?.access)
  })
  await serveConsole(app, root === undefined ? {} : { root })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return { url: `http://127.0.0.1:${port}`, access }
}

/** GET with `path` sent exactly as given. */
function rawGet(url: string, path: string): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    request({ host: hostname, port, path, method: 'GET' }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (d: string) => {
        body += d
      })
      res.on('end', () => resolve(body))
    })
      .on('error', reject)
      .end()
  })
}

async function builtConsole(): Promise<string> {
  dir = await tempDir('confmesh-console-unit-')
  const root = join(dir, 'console')
  await mkdir(root)
  await writeFile(join(root, 'index.html'), '<!doctype html><title>console</title>')
  await writeFile(join(root, 'console.js'), 'console.log(1)')
  await writeFile(join(dir, 'secret.txt'), 'outside the console folder')
  return root
}

describe('serveConsole', () => {
  it('redirects / and /ui to /ui/, and serves index.html there with the CSP', async () => {
    const { url, access } = await serve(await builtConsole())
    for (const path of ['/', '/ui']) {
      const r = await fetch(`${url}${path}`, { redirect: 'manual' })
      expect(r.status).toBe(302)
      expect(r.headers.get('location')).toBe('/ui/')
    }
    const index = await fetch(`${url}/ui/`)
    expect(index.status).toBe(200)
    expect(index.headers.get('content-type')).toContain('text/html')
    expect(index.headers.get('content-security-policy')).toBe(CONSOLE_CSP)
    expect(index.headers.get('x-content-type-options')).toBe('nosniff')
    expect(await index.text()).toContain('<title>console</title>')
    // every console route is open (no token): the files hold no data
    expect([...access.values()].every((a) => a === 'open')).toBe(true)
  })

  it('serves assets, answers client-side routes with index.html, refuses unknown files and escapes', async () => {
    const { url } = await serve(await builtConsole())
    const js = await fetch(`${url}/ui/console.js`)
    expect(js.status).toBe(200)
    expect(js.headers.get('content-type')).toContain('javascript')
    expect(await js.text()).toBe('console.log(1)')
    const route = await fetch(`${url}/ui/history`)
    expect(route.status).toBe(200)
    expect(await route.text()).toContain('<title>console</title>')
    expect((await fetch(`${url}/ui/missing.js`)).status).toBe(404)
    // sent as raw request paths (fetch would normalise the dots away before sending)
    for (const path of [
      '/ui/../secret.txt',
      '/ui/%2e%2e/secret.txt',
      '/ui/..%2fsecret.txt',
      '/ui/%2e%2e%2fsecret.txt',
    ]) {
      const body = await rawGet(url, path)
      expect(body).not.toContain('outside the console folder')
    }
  })

  it('answers 404 with the build command when the console was not built', async () => {
    dir = await tempDir('confmesh-console-unit-')
    const { url } = await serve(join(dir, 'nothing-here'))
    const r = await fetch(`${url}/ui/`)
    expect(r.status).toBe(404)
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('ERR_CONSOLE_NOT_BUILT')
  })
})
