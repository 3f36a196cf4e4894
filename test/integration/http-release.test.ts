/**
 * Schemas, gray releases and flag files over the HTTP API (`createHttpApi`) of real libp2p peers on 127.0.0.1, with
 * the platform `fetch`; every answer is checked against the served OpenAPI document. Also: the error mapping (422 with
 * `issues`, 409, 404, 400), write tokens on every write, and `valid: false` on watch events of a peer's bad value.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ConfigMesh, createHttpApi, type HttpApi, parseTokens } from '../../src/index.js'
import { NetworkControl, reconnectAll, startCluster, waitForConvergence } from '../helpers/cluster.js'
import { type ApiCall, openApiCaller } from '../helpers/openapi-call.js'
import { openSse, type SseStream } from '../helpers/sse-client.js'

const READ_TOKEN = 'read-token-0123456789abcdef'
const WRITE_TOKEN = 'write-token-0123456789abcdef'

const network = new NetworkControl()
let a: ConfigMesh
let b: ConfigMesh
let api: HttpApi
let secured: HttpApi
let call: ApiCall
const streams: SseStream[] = []

beforeAll(async () => {
  ;[a, b] = (await startCluster(2, {
    network,
    timing: { heartbeatMs: 250, memberTimeoutMs: 60_000, antiEntropyMs: 1_000 },
    tags: { zone: 'eu' },
  })) as [ConfigMesh, ConfigMesh]
  api = await createHttpApi(a)
  secured = await createHttpApi(a, { tokens: parseTokens(`read ${READ_TOKEN}\nwrite ${WRITE_TOKEN}\n`) })
  ;({ call } = await openApiCaller(api))
})

afterAll(async () => {
  for (const s of streams) s.close()
  await Promise.all([api, secured].map((x) => x?.close()))
  await Promise.all([a, b].map((m) => m?.stop()))
})

const json = (v: unknown) => JSON.stringify(v)

describe('HTTP API: schemas', () => {
  it('stores, lists, reads and deletes a schema; a write it refuses is 422 with issues and changes nothing', async () => {
    const limit = { type: 'integer', maximum: 8 }
    expect((await call('PUT', '/v1/schemas/app/workers', { body: json(limit) })).status).toBe(200)
    expect((await call('GET', '/v1/schemas')).body.schemas).toMatchObject([
      { namespace: 'app', pattern: 'workers', schema: limit, author: a.peerId },
    ])
    expect((await call('GET', '/v1/schemas/app/workers')).body).toMatchObject({ pattern: 'workers', schema: limit })
    const missing = await call('GET', '/v1/schemas/app/nothing')
    expect(missing.status).toBe(404)
    expect(missing.body.error.code).toBe('ERR_SCHEMA_NOT_FOUND')

    const refused = await call('PUT', '/v1/kv/app/workers', { body: '64' })
    expect(refused.status).toBe(422)
    expect(refused.body.error).toMatchObject({
      code: 'ERR_SCHEMA_VALIDATION',
      issues: [{ namespace: 'app', key: 'workers', pattern: 'workers', path: '', message: 'must be <= 8' }],
    })
    expect(a.namespace('app').has('workers')).toBe(false)
    expect((await call('PUT', '/v1/kv/app/workers', { body: '4' })).status).toBe(200)

    const del = await call('DELETE', '/v1/schemas/app/workers')
    expect(del.body.deleted).toBe(true)
    expect((await call('DELETE', '/v1/schemas/app/workers')).body.deleted).toBe(false)
    expect(a.schemas()).toEqual([])
  })

  it('a schema the current values break is 422 unless force=true; then /v1/validate lists them', async () => {
    await a.namespace('limits').update({ 'cpu.max': 90, 'mem.max': 200 })
    const schema = json({ type: 'number', maximum: 100 })
    const refused = await call('PUT', '/v1/schemas/limits/*.max', { body: schema })
    expect(refused.status).toBe(422)
    expect(refused.body.error.issues.map((i: { key: string }) => i.key)).toEqual(['mem.max'])
    expect(a.schemas()).toEqual([])
    expect((await call('GET', '/v1/validate')).body).toEqual({ valid: true, issues: [] })
    expect((await call('PUT', '/v1/schemas/limits/*.max?force=true', { body: schema })).status).toBe(200)
    expect((await call('GET', '/v1/validate')).body).toEqual({
      valid: false,
      issues: [{ namespace: 'limits', key: 'mem.max', pattern: '*.max', path: '', message: 'must be <= 100' }],
    })
    await call('DELETE', `/v1/schemas/limits/${encodeURIComponent('*.max')}`)
    expect(a.schemas()).toEqual([])
  })

  it('a schema that does not compile is 400; a bad pattern or namespace is 400', async () => {
    const bad = await call('PUT', '/v1/schemas/app/x', { body: json({ type: 'no-such-type' }) })
    expect(bad.status).toBe(400)
    expect(bad.body.error.code).toBe('ERR_INVALID_SCHEMA')
    const internal = await call('PUT', '/v1/schemas/__confmesh.schemas/x', { body: '{}' })
    expect(internal.body.error.code).toBe('ERR_INVALID_NAMESPACE')
    expect((await call('PUT', '/v1/schemas/__confmesh.writers/x', { body: '{}' })).status).toBe(403)
    expect(
      (await call('PUT', '/v1/schemas/app/x', { body: '{}', headers: { 'content-type': 'text/plain' } })).status,
    ).toBe(200)
    await a.deleteSchema('app', 'x')
    expect(a.schemas()).toEqual([])
  })

  it('a peer value that breaks a schema reaches watchers as valid: false', async () => {
    await a.namespace('peer').set('n', 1)
    await waitForConvergence([a, b])
    const sse = await openSse(`${api.url}/v1/watch?namespace=peer`)
    streams.push(sse)
    await network.split([[a], [b]])
    await call('PUT', '/v1/schemas/peer/n', { body: json({ type: 'integer', maximum: 8 }) })
    await b.namespace('peer').set('n', 64) // b has not seen the schema
    network.heal()
    await reconnectAll([a, b])
    const event = await sse.next((e) => (e.data as { key?: string }).key === 'n', 30_000)
    expect(event.data).toMatchObject({ namespace: 'peer', key: 'n', value: 64, source: 'remote', valid: false })
    await a.deleteSchema('peer', 'n')
  })
})

describe('HTTP API: rollouts', () => {
  it('start, widen, list, conflict (409), bad options (400), unknown id (404), promote', async () => {
    await a.namespace('app').set('color', 'blue')
    const start = await call('POST', '/v1/rollouts', {
      body: json({ namespace: 'app', key: 'color', value: 'green', percent: 0, tags: { zone: 'eu' } }),
    })
    expect(start.status).toBe(200)
    const id = start.body.id as string
    expect(id).toMatch(/^r[0-9a-f]{16}$/)
    const listed = (await call('GET', '/v1/rollouts')).body.rollouts
    expect(listed).toMatchObject([{ id, namespace: 'app', key: 'color', value: 'green', self: true }])
    expect(a.namespace('app').get('color')).toBe('green') // a has zone=eu

    const conflict = await call('POST', '/v1/rollouts', {
      body: json({ namespace: 'app', key: 'color', value: 'red' }),
    })
    expect(conflict.status).toBe(409)
    expect(conflict.body.error.code).toBe('ERR_ROLLOUT_CONFLICT')
    const widened = await call('POST', '/v1/rollouts', {
      body: json({ namespace: 'app', key: 'color', value: 'green', percent: 50 }),
    })
    expect(widened.body.id).toBe(id)
    const lower = await call('POST', '/v1/rollouts', {
      body: json({ namespace: 'app', key: 'color', value: 'green', percent: 10 }),
    })
    expect(lower.status).toBe(400)
    expect(lower.body.error.code).toBe('ERR_INVALID_ROLLOUT')
    expect(
      (await call('POST', '/v1/rollouts', { body: json({ namespace: 'app', key: 'c', value: 1, percent: 101 }) }))
        .status,
    ).toBe(400)

    const unknown = await call('POST', '/v1/rollouts/r0123456789abcdef/promote')
    expect(unknown.status).toBe(404)
    expect(unknown.body.error.code).toBe('ERR_UNKNOWN_ROLLOUT')
    expect((await call('POST', '/v1/rollouts/not-an-id/abort')).status).toBe(400)

    expect((await call('POST', `/v1/rollouts/${id}/promote`)).status).toBe(200)
    expect((await call('GET', '/v1/rollouts')).body.rollouts).toEqual([])
    expect(a.namespace('app').get('color')).toBe('green')
  })

  it('a rollout value a schema refuses is 422; abort restores the base value', async () => {
    await a.setSchema('app', 'size', { type: 'integer', maximum: 8 })
    await a.namespace('app').set('size', 2)
    const bad = await call('POST', '/v1/rollouts', {
      body: json({ namespace: 'app', key: 'size', value: 64, percent: 100 }),
    })
    expect(bad.status).toBe(422)
    expect(bad.body.error.issues[0]).toMatchObject({ key: 'size', message: 'must be <= 8' })
    const { id } = (
      await call('POST', '/v1/rollouts', { body: json({ namespace: 'app', key: 'size', value: 4, percent: 100 }) })
    ).body
    expect(a.namespace('app').get('size')).toBe(4)
    expect((await call('POST', `/v1/rollouts/${id}/abort`)).status).toBe(200)
    expect(a.namespace('app').get('size')).toBe(2)
    await a.deleteSchema('app', 'size')
  })
})

const FLAGS = {
  flags: {
    'new-checkout': { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off' },
    'header-color': { state: 'ENABLED', variants: { red: '#f00', blue: '#00f' }, defaultVariant: 'red' },
  },
}

describe('HTTP API: flags', () => {
  it('imports a flagd file as one change; a file flagd refuses is 400 and writes nothing', async () => {
    const before = a.history().length
    const ok = await call('POST', '/v1/flags/import?namespace=web', { body: json(FLAGS) })
    expect(ok.status).toBe(200)
    expect(ok.body.flags).toEqual(['header-color', 'new-checkout'])
    expect(a.namespace('web').get('new-checkout')).toEqual(FLAGS.flags['new-checkout'])
    expect(a.history().length).toBe(before + 1)
    const broken = { flags: { x: { state: 'ON', variants: { a: 1 }, defaultVariant: 'a' } } }
    const bad = await call('POST', '/v1/flags/import?namespace=web2', { body: json(broken) })
    expect(bad.status).toBe(400)
    expect(bad.body.error.code).toBe('ERR_INVALID_FLAGS')
    expect(a.namespace('web2').keys()).toEqual([])
    expect((await call('POST', '/v1/flags/import', { body: '[1]' })).status).toBe(400)
  })
})

describe('HTTP API: release routes need a write token to write', () => {
  it('401 without a token, 403 with a read token, reads with either', async () => {
    const writes: Array<[string, string, string | undefined]> = [
      ['PUT', '/v1/schemas/auth/k', '{"type":"integer"}'],
      ['DELETE', '/v1/schemas/auth/k', undefined],
      ['POST', '/v1/rollouts', json({ namespace: 'auth', key: 'k', value: 1 })],
      ['POST', '/v1/rollouts/r0123456789abcdef/promote', undefined],
      ['POST', '/v1/rollouts/r0123456789abcdef/abort', undefined],
      ['POST', '/v1/flags/import?namespace=auth', json(FLAGS)],
    ]
    for (const [method, path, body] of writes) {
      const opts = { base: secured, ...(body === undefined ? {} : { body }) }
      expect((await call(method, path, opts)).status, `${method} ${path}`).toBe(401)
      const read = await call(method, path, { ...opts, token: READ_TOKEN })
      expect(read.status, `${method} ${path} read token`).toBe(403)
      expect((await call(method, path, { ...opts, token: WRITE_TOKEN })).status).not.toBe(403)
    }
    expect(a.namespace('auth').keys()).toEqual(['header-color', 'new-checkout']) // only the write-token import
    for (const path of ['/v1/schemas', '/v1/validate', '/v1/rollouts', '/v1/schemas/auth/k']) {
      expect((await call('GET', path, { base: secured })).status).toBe(401)
      expect([200, 404]).toContain((await call('GET', path, { base: secured, token: READ_TOKEN })).status)
    }
  })

  it('status shows the agent itself with its tags', async () => {
    const status = (await call('GET', '/v1/status')).body
    expect(status.member).toMatchObject({ peerId: a.peerId, tags: { zone: 'eu' }, weight: 1, self: true })
  })
})
