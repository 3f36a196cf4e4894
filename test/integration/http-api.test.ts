/**
 * The HTTP API embedded in a process (`createHttpApi`) over two real libp2p peers on 127.0.0.1, called with the
 * platform `fetch`. Every answer is checked against the OpenAPI 3.1 document the API itself serves (ajv, JSON Schema
 * 2020-12), so the document cannot drift from the behaviour.
 */

import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type ConfigMesh,
  createHttpApi,
  createMesh,
  generateIdentity,
  type HttpApi,
  type HttpToken,
  InsecureListenError,
  InvalidTokenFileError,
  parseTokens,
} from '../../src/index.js'
import { seededRandom, startCluster, TEST_TIMING, testSeed, waitForMembers } from '../helpers/cluster.js'
import { type ApiCall, type OpenApiDoc, openApiCaller } from '../helpers/openapi-call.js'
import { openSse, type SseStream } from '../helpers/sse-client.js'
import { waitFor } from '../helpers/wait-for.js'

const READ_TOKEN = 'read-token-0123456789abcdef'
const WRITE_TOKEN = 'write-token-0123456789abcdef'
const TOKENS: HttpToken[] = parseTokens(`# tokens\nread ${READ_TOKEN}\n\nwrite ${WRITE_TOKEN}\n`)

let a: ConfigMesh
let b: ConfigMesh
let api: HttpApi
let secured: HttpApi
let small: HttpApi
let openapi: OpenApiDoc
let call: ApiCall
const streams: SseStream[] = []

beforeAll(async () => {
  // fast heartbeats to form quickly; a long member timeout so a loaded machine never drops a member mid-test
  const timing = { ...TEST_TIMING, memberTimeoutMs: 60_000 }
  ;[a, b] = (await startCluster(2, { timing })) as [ConfigMesh, ConfigMesh]
  await waitForMembers([a, b])
  api = await createHttpApi(a)
  secured = await createHttpApi(a, { tokens: TOKENS })
  small = await createHttpApi(a, { bodyLimit: 64 * 1024 })
  ;({ doc: openapi, call } = await openApiCaller(api))
})

afterAll(async () => {
  for (const s of streams) s.close()
  await Promise.all([api, secured, small].map((x) => x?.close()))
  await Promise.all([a, b].map((m) => m?.stop()))
})

const enc = encodeURIComponent

describe('HTTP API: every route', () => {
  it('serves an OpenAPI 3.1 document describing every route', async () => {
    expect(openapi.openapi).toBe('3.1.0')
    for (const path of [
      '/healthz',
      '/v1/status',
      '/v1/kv',
      '/v1/kv/{namespace}',
      '/v1/kv/{namespace}/{key}',
      '/v1/watch',
      '/v1/history',
      '/v1/diff',
      '/v1/snapshot',
      '/v1/rollback',
      '/v1/peers',
      '/v1/ring',
      '/metrics',
      '/v1/schemas',
      '/v1/schemas/{namespace}/{pattern}',
      '/v1/validate',
      '/v1/rollouts',
      '/v1/rollouts/{id}/promote',
      '/v1/rollouts/{id}/abort',
      '/v1/flags/import',
    ]) {
      expect(openapi.paths, path).toHaveProperty([path])
    }
    const ids = Object.values(openapi.paths).flatMap((p) =>
      Object.values(p).map((op) => (op as { operationId?: string }).operationId),
    )
    expect(ids).toContain('getKey')
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('healthz, status, peers, ring', async () => {
    expect((await call('GET', '/healthz')).body).toEqual({ status: 'ok' })
    const status = (await call('GET', '/v1/status')).body
    expect(status).toMatchObject({ peerId: a.peerId, addresses: a.addresses, peers: 1, members: 2 })
    expect(status.documentBytes).toBeGreaterThan(0)
    expect(status.access).toBe('open') // no tokens: anyone may write
    expect(status.member).toMatchObject({ peerId: a.peerId, weight: 1, tags: {}, ready: true, self: true })
    const peers = (await call('GET', '/v1/peers')).body
    expect(peers.self).toBe(a.peerId)
    expect(peers.peers.map((p: { peerId: string }) => p.peerId)).toEqual([b.peerId])
    const ring = (await call('GET', `/v1/ring?key=${enc('tenant:42')}&n=2`)).body
    expect(ring.owners).toEqual(a.ring.ownerOf('tenant:42', 2))
    expect(new Set(ring.members)).toEqual(new Set([a.peerId, b.peerId]))
    const whole = (await call('GET', '/v1/ring')).body
    expect(whole.shares.map((m: { peerId: string }) => m.peerId)).toEqual([a.peerId, b.peerId].sort())
    const total = whole.shares.reduce((sum: number, m: { share: number }) => sum + m.share, 0)
    expect(total).toBeCloseTo(1, 9)
    for (const m of whole.shares) expect(m).toMatchObject({ weight: 1, share: expect.any(Number) })
  })

  it('kv: put, get, list with prefix, batch, delete, namespaces; writes reach the other peer', async () => {
    const put = await call('PUT', '/v1/kv/payments/limit', { body: '{"daily":500}' })
    expect(put.status).toBe(200)
    expect(put.body.version.id).toBe(a.version().id)
    const got = (await call('GET', '/v1/kv/payments/limit')).body
    expect(got).toMatchObject({ namespace: 'payments', key: 'limit', value: { daily: 500 }, author: a.peerId })
    expect(got.time).toBeGreaterThan(0)
    await waitFor(() => b.namespace('payments').get('limit') !== undefined)
    // a key with a slash and spaces, percent-encoded
    expect((await call('PUT', `/v1/kv/payments/${enc('eu/card fees')}`, { body: '0.3' })).status).toBe(200)
    expect(a.namespace('payments').get('eu/card fees')).toBe(0.3)
    expect((await call('GET', `/v1/kv/payments/${enc('eu/card fees')}`)).body.value).toBe(0.3)
    // the longest key, percent-encoded to 9,216 characters
    const longest = '€'.repeat(1024)
    expect((await call('PUT', `/v1/kv/payments/${enc(longest)}`, { body: '1' })).status).toBe(200)
    expect((await call('DELETE', `/v1/kv/payments/${enc(longest)}`)).body.deleted).toBe(true)
    // a body sent as text/plain is JSON all the same (fetch with a string body, curl -d)
    const res = await fetch(`${api.url}/v1/kv/payments/text`, { method: 'PUT', body: '"plain"' })
    expect(res.status).toBe(200)
    expect(a.namespace('payments').get('text')).toBe('plain')
    const batch = await call('POST', '/v1/kv/payments', {
      body: JSON.stringify({ set: { 'eu/vat': 0.2, 'eu/max': 9000 }, delete: ['text'] }),
    })
    expect(batch.status).toBe(200)
    expect(a.namespace('payments').has('text')).toBe(false)
    expect(
      a
        .history({ limit: 1 })[0]!
        .changes.map((c) => c.key)
        .sort(),
    ).toEqual(['eu/max', 'eu/vat', 'text'])
    const list = (await call('GET', `/v1/kv/payments?prefix=${enc('eu/')}`)).body
    expect(list).toEqual({ namespace: 'payments', entries: { 'eu/card fees': 0.3, 'eu/max': 9000, 'eu/vat': 0.2 } })
    expect((await call('GET', '/v1/kv/payments')).body.entries).toHaveProperty('limit')
    expect((await call('GET', '/v1/kv')).body.namespaces).toContain('payments')
    const del = await call('DELETE', '/v1/kv/payments/eu%2Fmax')
    expect(del.body.deleted).toBe(true)
    expect((await call('DELETE', '/v1/kv/payments/eu%2Fmax')).body.deleted).toBe(false)
    const missing = await call('GET', '/v1/kv/payments/eu%2Fmax')
    expect(missing.status).toBe(404)
    expect(missing.body.error.code).toBe('ERR_KEY_NOT_FOUND')
    await waitFor(() => b.namespace('payments').get('eu/vat') === 0.2 && !b.namespace('payments').has('eu/max'))
  })

  it('history, diff, snapshot, rollback', async () => {
    const before = (await call('POST', '/v1/snapshot', { body: '{"message":"before flags"}' })).body.version
    expect(a.history({ limit: 1 })[0]!.message).toBe('before flags')
    await call('PUT', '/v1/kv/flags/checkout', { body: 'true' })
    await call('PUT', '/v1/kv/flags/search', { body: '"beta"' })
    const history = (await call('GET', '/v1/history?limit=2')).body.entries
    expect(history).toHaveLength(2)
    expect(history[0].changes).toEqual([{ namespace: 'flags', key: 'search', after: 'beta' }])
    expect((await call('GET', '/v1/history?namespace=flags&key=checkout')).body.entries).toHaveLength(1)
    const diff = (await call('GET', `/v1/diff?from=${enc(before.id)}`)).body.changes
    expect(diff).toEqual([
      { namespace: 'flags', key: 'checkout', after: true },
      { namespace: 'flags', key: 'search', after: 'beta' },
    ])
    const rollback = await call('POST', '/v1/rollback', {
      body: JSON.stringify({ version: before.id, namespace: 'flags', keys: ['search'] }),
    })
    expect(rollback.status).toBe(200)
    expect(rollback.body.changes).toEqual([{ namespace: 'flags', key: 'search', before: 'beta' }])
    expect(a.namespace('flags').toJSON()).toEqual({ checkout: true })
    expect((await call('POST', '/v1/snapshot')).status).toBe(200) // no body: no message
  })

  it('metrics: Prometheus text with the confmesh_ metrics', async () => {
    await call('PUT', '/v1/kv/metrics/x', { body: '1' }) // a remote write seen by b; a local one here
    const m = await call('GET', '/metrics')
    expect(m.status).toBe(200)
    expect(m.type).toContain('text/plain')
    for (const name of [
      'confmesh_peers',
      'confmesh_members',
      'confmesh_document_bytes',
      'confmesh_versions',
      'confmesh_updates_applied_total',
      'confmesh_updates_refused_total',
      'confmesh_gossip_messages_total',
      'confmesh_catchup_bytes_total',
      'confmesh_membership_events_total',
      'confmesh_membership_health_score',
      'confmesh_pulls_total',
      'confmesh_storage_commit_seconds',
      'confmesh_write_apply_seconds',
      'confmesh_event_loop_lag_seconds',
      'confmesh_http_requests_total',
      'confmesh_http_request_seconds',
      'confmesh_http_watch_streams',
    ]) {
      expect(m.text, name).toContain(`# TYPE ${name} `)
    }
    expect(m.text).toMatch(/^confmesh_members 2$/m)
    expect(m.text).toMatch(
      /^confmesh_http_requests_total\{method="PUT",route="\/v1\/kv\/:namespace\/:key",status="200"\} \d+$/m,
    )
    // remote writes seen by a's watchers feed the write-to-apply histogram
    await b.namespace('metrics').set('from-b', 1)
    await waitFor(() => a.namespace('metrics').get('from-b') === 1)
    const after = (await call('GET', '/metrics')).text
    expect(Number(/^confmesh_write_apply_seconds_count (\d+)$/m.exec(after)?.[1])).toBeGreaterThan(0)
    expect(m.text).toMatch(/^confmesh_peers\{connected="true"\} 1$/m)
  })
})

describe('HTTP API: auth', () => {
  const routes: Array<[method: string, path: string, body: string | undefined, access: 'read' | 'write']> = [
    ['GET', '/v1/status', undefined, 'read'],
    ['GET', '/v1/kv/auth/k', undefined, 'read'],
    ['GET', '/v1/kv/auth', undefined, 'read'],
    ['GET', '/v1/history?limit=1', undefined, 'read'],
    ['GET', '/v1/peers', undefined, 'read'],
    ['GET', '/v1/ring', undefined, 'read'],
    ['GET', '/metrics', undefined, 'read'],
    ['GET', '/v1/openapi.json', undefined, 'read'],
    ['PUT', '/v1/kv/auth/k', '1', 'write'],
    ['POST', '/v1/kv/auth', '{"set":{"j":2}}', 'write'],
    ['DELETE', '/v1/kv/auth/j', undefined, 'write'],
    ['POST', '/v1/snapshot', '{}', 'write'],
  ]

  it('401 without or with an unknown token, 403 for a read token on a write, 2xx/404 otherwise', async () => {
    await a.namespace('auth').set('k', 0)
    for (const [method, path, body, access] of routes) {
      const ask = (token?: string) =>
        call(method, path, {
          base: secured,
          ...(body === undefined ? {} : { body }),
          ...(token === undefined ? {} : { token }),
        })
      const none = await ask()
      expect(none.status, `${method} ${path} without a token`).toBe(401)
      expect(none.body.error.code).toBe('ERR_UNAUTHENTICATED')
      expect((await ask('not-a-known-token-at-all')).status, `${method} ${path} unknown token`).toBe(401)
      const read = await ask(READ_TOKEN)
      expect(read.status, `${method} ${path} read token`).toBe(access === 'read' ? 200 : 403)
      if (access === 'write') expect(read.body.error.code).toBe('ERR_FORBIDDEN')
      expect((await ask(WRITE_TOKEN)).status, `${method} ${path} write token`).toBe(200)
    }
    expect((await call('GET', '/healthz', { base: secured })).status).toBe(200) // liveness probes need no token
    const access = async (token: string) => (await call('GET', '/v1/status', { base: secured, token })).body.access
    expect(await access(READ_TOKEN)).toBe('read')
    expect(await access(WRITE_TOKEN)).toBe('write')
    const sse = await fetch(`${secured.url}/v1/watch`)
    expect(sse.status).toBe(401)
    await sse.body?.cancel()
  })

  it('refuses to listen beyond loopback without tokens; refuses malformed tokens', async () => {
    await expect(createHttpApi(a, { listen: '0.0.0.0:0' })).rejects.toBeInstanceOf(InsecureListenError)
    await expect(createHttpApi(a, { listen: '[::]:0' })).rejects.toBeInstanceOf(InsecureListenError)
    expect(() => parseTokens('admin abcdefabcdefabcdefabcdef')).toThrow(InvalidTokenFileError)
    expect(() => parseTokens('read short')).toThrow(InvalidTokenFileError)
    await expect(createHttpApi(a, { tokens: [{ token: 'x', access: 'write' }] })).rejects.toBeInstanceOf(
      InvalidTokenFileError,
    )
  })
})

describe('HTTP API: bad requests get a clean 4xx and change nothing', () => {
  const bad: Array<[what: string, method: string, path: string, body: string | undefined, status: number]> = [
    ['malformed JSON', 'PUT', '/v1/kv/bad/k', '{"a":', 400],
    ['empty body', 'PUT', '/v1/kv/bad/k', '', 400],
    ['prototype poisoning', 'PUT', '/v1/kv/bad/k', '{"__proto__":{"x":1}}', 400],
    ['batch: not an object', 'POST', '/v1/kv/bad', '[1,2]', 400],
    ['batch: delete of a number', 'POST', '/v1/kv/bad', '{"delete":[1]}', 400],
    ['batch: set as an array', 'POST', '/v1/kv/bad', '{"set":[1]}', 400],
    ['batch: unknown field', 'POST', '/v1/kv/bad', '{"put":{"a":1}}', 400],
    ['batch: empty', 'POST', '/v1/kv/bad', '{}', 400],
    ['batch: set and delete the same key', 'POST', '/v1/kv/bad', '{"set":{"a":1},"delete":["a"]}', 400],
    ['batch: an invalid key', 'POST', '/v1/kv/bad', '{"set":{"ok":1,"":2}}', 400],
    ['a key with a control character', 'PUT', '/v1/kv/bad/a%01b', '1', 400],
    ['a key over 1024 characters', 'PUT', `/v1/kv/bad/${'k'.repeat(1025)}`, '1', 400],
    ['a key of 1025 three-byte characters', 'PUT', `/v1/kv/bad/${encodeURIComponent('€'.repeat(1025))}`, '1', 400],
    ['a namespace over the limit', 'PUT', `/v1/kv/${'n'.repeat(300)}/k`, '1', 400],
    ['a lone surrogate in a key', 'PUT', '/v1/kv/bad/%ED%A0%80', '1', 400],
    ['rollback without a version', 'POST', '/v1/rollback', '{"namespace":"bad"}', 400],
    ['rollback to a garbage version', 'POST', '/v1/rollback', '{"version":"!!!"}', 404],
    ['snapshot message of the wrong type', 'POST', '/v1/snapshot', '{"message":5}', 400],
    ['history limit not a number', 'GET', '/v1/history?limit=abc', undefined, 400],
    ['history limit 0', 'GET', '/v1/history?limit=0', undefined, 400],
    ['diff without from', 'GET', '/v1/diff', undefined, 400],
    ['diff from a garbage version', 'GET', '/v1/diff?from=zzzz', undefined, 404],
    ['ring n out of range', 'GET', '/v1/ring?key=a&n=0', undefined, 400],
    ['unknown route', 'GET', '/v1/nothing', undefined, 404],
    ['a write to an internal namespace', 'PUT', '/v1/kv/__confmesh/writers', '["x"]', 403],
    ['a batch in an internal namespace', 'POST', '/v1/kv/__confmesh.leases', '{"delete":["a"]}', 403],
    ['a rollback of an internal namespace', 'POST', '/v1/rollback', '{"version":"AA","namespace":"__confmesh"}', 403],
  ]

  it.each(bad)('%s', async (_what, method, path, body, status) => {
    const version = a.version().id
    const answer = await call(method, path, body === undefined ? {} : { body })
    expect(answer.status).toBe(status)
    expect(typeof answer.body.error.code).toBe('string')
    expect(typeof answer.body.error.message).toBe('string')
    expect(a.version().id).toBe(version)
    expect(a.namespace('bad').keys()).toEqual([])
  })

  it('seeded random bodies, paths and queries never get a 5xx; a refused request changes nothing', async () => {
    const seed = testSeed('http bad requests')
    const rand = seededRandom(seed)
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!
    const text = (max: number): string =>
      Array.from({ length: Math.floor(rand() * max) }, () =>
        pick([
          '{',
          '}',
          '[',
          ']',
          '"',
          ':',
          ',',
          'a',
          '1',
          '-',
          'e',
          '\\',
          '\u0000',
          'null',
          'true',
          ' ',
          '\ud800',
          'é',
        ]),
      ).join('')
    const json = (depth: number): unknown =>
      depth === 0 || rand() < 0.3
        ? pick([null, true, 0, -1.5e300, 'x', '', '\u0000', '__proto__'])
        : rand() < 0.5
          ? Array.from({ length: Math.floor(rand() * 4) }, () => json(depth - 1))
          : Object.fromEntries(
              Array.from({ length: Math.floor(rand() * 4) }, () => [
                pick(['set', 'delete', 'version', 'keys', 'message', 'namespace', '', 'k']),
                json(depth - 1),
              ]),
            )
    /** Percent-encodes, writing a lone surrogate as the invalid UTF-8 it would be (encodeURIComponent throws). */
    const enc = (t: string): string =>
      Array.from(t, (ch) => (/[\ud800-\udfff]/.test(ch) ? '%ED%A0%80' : encodeURIComponent(ch))).join('')
    const targets: Array<[string, () => string]> = [
      ['PUT', () => `/v1/kv/fuzz/${enc(text(8) || 'k')}`],
      ['POST', () => '/v1/kv/fuzz'],
      ['POST', () => '/v1/rollback'],
      ['POST', () => '/v1/snapshot'],
      ['GET', () => `/v1/history?limit=${enc(text(4))}&namespace=${enc(text(4))}`],
      ['GET', () => `/v1/diff?from=${enc(text(10))}`],
      ['GET', () => `/v1/ring?key=${enc(text(6))}&n=${enc(text(3))}`],
      ['DELETE', () => `/v1/kv/${enc(text(5) || 'n')}/${enc(text(5) || 'k')}`],
    ]
    for (let i = 0; i < 300; i++) {
      const [method, path] = pick(targets)
      const body =
        method === 'GET' || method === 'DELETE' ? undefined : rand() < 0.5 ? text(40) : JSON.stringify(json(3))
      const version = a.version().id
      const answer = await call(method, path(), body === undefined ? {} : { body })
      expect(answer.status, `seed ${seed} case ${i}: ${method} ${body}`).toBeLessThan(500)
      if (answer.status >= 400) expect(a.version().id, `seed ${seed} case ${i}`).toBe(version)
    }
    expect((await call('GET', '/healthz')).status).toBe(200)
  })

  it('malformed HTTP on the socket gets 400 and the API keeps serving', async () => {
    const { hostname, port } = new URL(api.url)
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => socket.end('GARBAGE / NOT-HTTP\r\n\r\n'))
      let data = ''
      socket.setEncoding('utf8').on('data', (d: string) => {
        data += d
      })
      socket.on('close', () => resolve(data))
      socket.on('error', reject)
    })
    expect(reply).toMatch(/^HTTP\/1\.1 400/)
    expect((await call('GET', '/healthz')).status).toBe(200)
  })

  it('a peer outside the writer set gets 403 on writes and still serves reads', async () => {
    const other = await generateIdentity()
    const reader = await createMesh({ writers: [other.peerId] })
    const readerApi = await createHttpApi(reader)
    try {
      const refused = await call('PUT', '/v1/kv/app/x', { base: readerApi, body: '1' })
      expect(refused.status).toBe(403)
      expect(refused.body.error.code).toBe('ERR_NOT_AUTHORIZED')
      expect(reader.namespace('app').has('x')).toBe(false)
      expect((await call('GET', '/v1/kv/app/x', { base: readerApi })).status).toBe(404)
    } finally {
      await readerApi.close()
      await reader.stop()
    }
  })

  it('a body over the limit gets 413 and changes nothing', async () => {
    const version = a.version().id
    const huge = JSON.stringify('x'.repeat(100 * 1024))
    const answer = await call('PUT', '/v1/kv/bad/huge', { base: small, body: huge })
    expect(answer.status).toBe(413)
    expect(answer.body.error.code).toBe('ERR_BODY_TOO_LARGE')
    expect(a.version().id).toBe(version)
    expect((await call('GET', '/healthz', { base: small })).status).toBe(200)
  })
})

describe('HTTP API: watch (Server-Sent Events)', () => {
  const watch = async (query: string, headers: Record<string, string> = {}): Promise<SseStream> => {
    const s = await openSse(`${api.url}/v1/watch${query}`, headers)
    streams.push(s)
    expect(s.status).toBe(200)
    return s
  }

  it('streams local and remote changes with ids, filtered by namespace and prefix', async () => {
    const all = await watch('?namespace=live')
    const prefixed = await watch(`?namespace=live&prefix=${enc('db.')}`)
    await b.namespace('live').set('db.host', 'a.example') // remote: written on the other peer
    await call('PUT', '/v1/kv/live/cache.ttl', { body: '30' }) // local: through this agent
    await b.namespace('other').set('db.host', 'ignored')
    const remote = await all.next((e) => (e.data as { key?: string }).key === 'db.host')
    expect(remote.id).toMatch(/^[0-9a-f]+-\d+$/)
    expect(remote.data).toMatchObject({
      namespace: 'live',
      key: 'db.host',
      value: 'a.example',
      source: 'remote',
      author: b.peerId,
      deleted: false,
    })
    const local = await all.next((e) => (e.data as { key?: string }).key === 'cache.ttl')
    expect(local.data).toMatchObject({ value: 30, source: 'local', author: a.peerId })
    await prefixed.next((e) => (e.data as { key?: string }).key === 'db.host')
    await call('DELETE', '/v1/kv/live/db.host')
    const deleted = await prefixed.next((e) => (e.data as { deleted?: boolean }).deleted === true)
    expect(deleted.data).toMatchObject({ key: 'db.host', previous: 'a.example' })
    expect(deleted.data).not.toHaveProperty('value')
    expect(prefixed.events.every((e) => (e.data as { key: string }).key.startsWith('db.'))).toBe(true)
    expect(all.events.some((e) => (e.data as { namespace: string }).namespace !== 'live')).toBe(false)
  })

  it('a client reconnecting with Last-Event-ID gets what it missed; an unknown id gets a reload event', async () => {
    const first = await watch('?namespace=resume')
    await b.namespace('resume').set('k1', 1)
    await first.next((e) => (e.data as { key?: string }).key === 'k1')
    const last = first.lastEventId!
    first.close() // the connection drops
    await first.ended
    await b.namespace('resume').set('k2', 2) // missed while disconnected
    await b.namespace('resume').set('k3', 3)
    await waitFor(() => a.namespace('resume').get('k3') === 3)
    const again = await watch('?namespace=resume', { 'last-event-id': last })
    await again.next((e) => (e.data as { key?: string }).key === 'k3')
    expect(again.events.map((e) => (e.data as { key: string }).key)).toEqual(['k2', 'k3'])
    // an id from another agent run (or garbage): told to reload, then streamed from now on
    const stale = await watch('?namespace=resume', { 'last-event-id': 'deadbeef0000-5' })
    const reload = await stale.next((e) => e.event === 'reload')
    expect(reload.data).toMatchObject({ reason: expect.any(String) })
    await b.namespace('resume').set('k4', 4)
    await stale.next((e) => (e.data as { key?: string }).key === 'k4')
    // the id of the reload frame resumes from there
    expect(stale.lastEventId).toMatch(/^[0-9a-f]+-\d+$/)
  })

  it('sends keep-alive comments on an idle stream', async () => {
    const chatty = await createHttpApi(a, { watch: { keepAliveMs: 20 } })
    try {
      const s = await openSse(`${chatty.url}/v1/watch?namespace=idle`)
      streams.push(s)
      await waitFor(() => s.comments >= 2, { message: 'two keep-alive comments' })
      expect(s.events).toEqual([])
    } finally {
      await chatty.close() // ends the open stream
    }
  })

  it('drops a client that stops reading once its unsent data passes the bound; others keep streaming', async () => {
    const alone = await createMesh()
    const bounded = await createHttpApi(alone, { watch: { maxBufferedBytes: 256 * 1024 } })
    try {
      const { hostname, port } = new URL(bounded.url)
      const stalled = connect(Number(port), hostname)
      await new Promise<void>((resolve) => stalled.once('connect', () => resolve()))
      stalled.write(`GET /v1/watch HTTP/1.1\r\nHost: ${hostname}\r\nAccept: text/event-stream\r\n\r\n`)
      stalled.pause() // never reads: the kernel buffers fill, then the server's
      let closed = false
      stalled.once('close', () => {
        closed = true
      })
      const reader = await openSse(`${bounded.url}/v1/watch`)
      streams.push(reader)
      const big = 'x'.repeat(1024 * 1024)
      for (let i = 0; i < 32 && !closed; i++) {
        await alone.set(`big${i}`, `${i}${big}`)
        await reader.next((e) => (e.data as { key?: string }).key === `big${i}`)
      }
      stalled.resume() // drain what the kernel holds; the server has ended the connection
      await waitFor(() => closed, { message: 'the stalled client disconnected by the server' })
      await alone.set('after', 1)
      await reader.next((e) => (e.data as { key?: string }).key === 'after')
    } finally {
      await bounded.close()
      await alone.stop()
    }
  })

  it('a watch opened before any event resumes without a gap (the first frame carries an id)', async () => {
    const s = await watch('?namespace=gapless')
    await waitFor(() => s.lastEventId !== undefined)
    const position = s.lastEventId!
    s.close()
    await s.ended
    await b.namespace('gapless').set('x', 1)
    await waitFor(() => a.namespace('gapless').get('x') === 1)
    const again = await watch('?namespace=gapless', { 'last-event-id': position })
    await again.next((e) => (e.data as { key?: string }).key === 'x')
  })
})
