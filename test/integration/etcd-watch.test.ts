/**
 * The etcd Watch and KV protocol details, with a plain grpc-js client built from etcd's own .proto files: watch ids,
 * replay from a start revision, filters, prev_kv, cancel, progress requests and notifications, compacted watches,
 * Range sorting and limits, and bad requests on a stream that keeps serving.
 */
import { Client, type ClientDuplexStream, credentials, type ServiceClientConstructor } from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadEtcdServices } from '../../src/etcd/proto.js'
import { type ConfigMesh, createEtcdApi, createMesh, type EtcdApi } from '../../src/index.js'
import { waitFor } from '../helpers/wait-for.js'

// biome-ignore lint/suspicious/noExplicitAny: decoded protobuf messages
type Msg = any

function client(ctor: ServiceClientConstructor, address: string): Client & Record<string, Msg> {
  return new ctor(address, credentials.createInsecure()) as Client & Record<string, Msg>
}

function call<T = Msg>(c: Record<string, Msg>, method: string, req: object): Promise<T> {
  return new Promise((resolve, reject) =>
    c[method](req, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))),
  )
}

/** A watch stream whose responses are collected. */
function watchStream(c: Record<string, Msg>): { stream: ClientDuplexStream<object, Msg>; responses: Msg[] } {
  const stream = c.Watch() as ClientDuplexStream<object, Msg>
  const responses: Msg[] = []
  stream.on('data', (r) => responses.push(r))
  stream.on('error', () => {})
  return { stream, responses }
}

const b = (s: string): Buffer => Buffer.from(s)

describe('etcd API protocol details (grpc-js client)', () => {
  let mesh: ConfigMesh
  let api: EtcdApi
  let kv: Client & Record<string, Msg>
  let watch: Client & Record<string, Msg>
  let lease: Client & Record<string, Msg>

  beforeAll(async () => {
    mesh = await createMesh()
    api = await createEtcdApi(mesh, { listen: '127.0.0.1:0', progressNotifyMs: 100, retainRevisions: 50 })
    const services = loadEtcdServices()
    kv = client(services.KV, api.address)
    watch = client(services.Watch, api.address)
    lease = client(services.Lease, api.address)
  })

  afterAll(async () => {
    kv?.close()
    watch?.close()
    lease?.close()
    await api?.close()
    await mesh?.stop()
  })

  it('replays from a start revision, filters, adds prev_kv, cancels', async () => {
    const put = (k: string, v: string) => call(kv, 'Put', { key: b(k), value: b(v) })
    const first = await put('r/a', '1')
    const start = Number(first.header.revision)
    await put('r/b', '2')
    await put('r/a', '3')
    await call(kv, 'DeleteRange', { key: b('r/b') })
    const { stream, responses } = watchStream(watch)
    stream.write({ create_request: { key: b('r/'), range_end: b('r0'), start_revision: start, prev_kv: true } })
    stream.write({ create_request: { key: b('r/'), range_end: b('r0'), start_revision: start, filters: ['NOPUT'] } })
    await waitFor(() => responses.filter((r) => r.events.length > 0).length === 2, { message: 'replays' })
    const [created0, replay0] = responses.filter((r) => r.watch_id === '0')
    expect(created0.created).toBe(true)
    expect(replay0.events.map((e: Msg) => `${e.type} ${e.kv.key} ${e.kv.value} ${e.prev_kv?.value ?? '-'}`)).toEqual([
      'PUT r/a 1 -',
      'PUT r/b 2 -',
      'PUT r/a 3 1',
      'DELETE r/b  2',
    ])
    const replay1 = responses.find((r) => r.watch_id === '1' && r.events.length > 0)
    expect(replay1.events.map((e: Msg) => `${e.type} ${e.kv.key} ${e.kv.mod_revision}`)).toEqual([
      `DELETE r/b ${start + 3}`,
    ])
    stream.write({ cancel_request: { watch_id: 1 } })
    await waitFor(() => responses.some((r) => r.watch_id === '1' && r.canceled))
    await put('r/c', '4')
    await waitFor(() => responses.some((r) => r.watch_id === '0' && r.events[0]?.kv.key.toString() === 'r/c'))
    expect(responses.filter((r) => r.watch_id === '1' && r.events.length > 0)).toHaveLength(1)
    stream.end()
  })

  it('replays a large backlog in responses a client with the default 4 MiB limit accepts', async () => {
    const big = Buffer.alloc(900 * 1024, 120)
    const first = await call(kv, 'Put', { key: b('big/0'), value: big })
    for (let i = 1; i < 6; i++) await call(kv, 'Put', { key: b(`big/${i}`), value: big })
    const { stream, responses } = watchStream(watch)
    stream.write({ create_request: { key: b('big/'), range_end: b('big0'), start_revision: first.header.revision } })
    const events = () => responses.flatMap((r) => r.events)
    await waitFor(() => events().length === 6, { message: `6 replayed events, got ${events().length}` })
    expect(responses.filter((r) => r.events.length > 0).length).toBeGreaterThan(1)
    stream.end()
  })

  it('answers progress requests and sends progress notifications to idle watches', async () => {
    const { stream, responses } = watchStream(watch)
    stream.write({ create_request: { key: b('idle'), progress_notify: true, watch_id: 7 } })
    stream.write({ progress_request: {} })
    await waitFor(() => responses.some((r) => r.watch_id === '-1'), { message: 'progress response' })
    await waitFor(
      () => responses.filter((r) => r.watch_id === '7' && !r.created && r.events.length === 0).length >= 2,
      {
        message: 'progress notifications',
      },
    )
    stream.write({ create_request: { key: b('idle'), watch_id: 7 } })
    await waitFor(() => responses.some((r) => r.canceled && /duplicate watch ID/.test(r.cancel_reason)))
    stream.end()
  })

  it('cancels a watch below the compacted revision with compact_revision', async () => {
    for (let i = 0; i < 80; i++) await call(kv, 'Put', { key: b('churn'), value: b(String(i)) })
    const range = await call(kv, 'Range', { key: b('churn') })
    const compacted = Number(range.header.revision) - 50
    const { stream, responses } = watchStream(watch)
    stream.write({ create_request: { key: b('churn'), start_revision: 2 } })
    await waitFor(() => responses.some((r) => r.canceled))
    const cancel = responses.find((r) => r.canceled)
    expect(Number(cancel.compact_revision)).toBeGreaterThanOrEqual(compacted - 10)
    expect(cancel.cancel_reason).toContain('compacted')
    await expect(call(kv, 'Range', { key: b('churn'), revision: 2 })).rejects.toThrow(/compacted/)
    stream.end()
  })

  it('sorts, limits and counts ranges; bad requests answer INVALID_ARGUMENT and change nothing', async () => {
    for (const [k, v] of [
      ['s/c', 'x'],
      ['s/a', 'z'],
      ['s/b', 'y'],
    ]) {
      await call(kv, 'Put', { key: b(k!), value: b(v!) })
    }
    const byValue = await call(kv, 'Range', {
      key: b('s/'),
      range_end: b('s0'),
      sort_target: 'VALUE',
      sort_order: 'DESCEND',
      limit: 2,
    })
    expect(byValue.kvs.map((x: Msg) => x.key.toString())).toEqual(['s/a', 's/b'])
    expect(byValue.more).toBe(true)
    expect(byValue.count).toBe('3')
    const count = await call(kv, 'Range', { key: b('s/'), range_end: b('s0'), count_only: true })
    expect([count.kvs.length, count.count]).toEqual([0, '3'])
    const before = mesh.toJSON()
    await expect(call(kv, 'Put', { key: b('bad\u0001key'), value: b('v') })).rejects.toMatchObject({ code: 3 })
    await expect(call(kv, 'Put', { key: Buffer.from([0xc3]), value: b('v') })).rejects.toMatchObject({ code: 3 })
    await expect(
      call(kv, 'Txn', {
        success: [{ request_put: { key: b('dup'), value: b('1') } }, { request_put: { key: b('dup'), value: b('2') } }],
      }),
    ).rejects.toThrow(/duplicate key/)
    await expect(
      call(kv, 'Txn', {
        success: [{ request_put: { key: b('ok'), value: b('1') } }, { request_put: { key: b(''), value: b('2') } }],
      }),
    ).rejects.toMatchObject({ code: 3 })
    await expect(call(kv, 'Put', { key: b('big'), value: Buffer.alloc(16 * 1024 * 1024, 97) })).rejects.toMatchObject({
      code: 3,
      details: expect.stringContaining('larger than the limit'),
    })
    expect(mesh.toJSON()).toEqual(before)
    const { stream, responses } = watchStream(watch)
    stream.write({ create_request: { key: b('') } })
    await waitFor(() => responses.some((r) => r.canceled && /key is not provided/.test(r.cancel_reason)))
    stream.end()
    // a keep-alive stream with a bad lease id ends with INVALID_ARGUMENT; the server keeps serving
    const keepAlive = lease.LeaseKeepAlive() as ClientDuplexStream<object, Msg>
    const ended = new Promise<Msg>((resolve) => keepAlive.on('error', resolve))
    keepAlive.on('data', () => {})
    keepAlive.write({ ID: -5 })
    expect(await ended).toMatchObject({ code: 3 })
    expect((await call(lease, 'LeaseTimeToLive', { ID: 42 })).TTL).toBe('-1')
    // bytes that are not a protobuf message: INVALID_ARGUMENT, on unary calls and on streams
    const raw = new Client(api.address, credentials.createInsecure())
    const garbage = Buffer.from([0x0a, 0xff, 0x01])
    const rawError = await new Promise<Msg>((resolve) =>
      raw.makeUnaryRequest(
        '/etcdserverpb.KV/Put',
        (x: Buffer) => x,
        (x: Buffer) => x,
        garbage,
        (err) => resolve(err),
      ),
    )
    expect(rawError).toMatchObject({ code: 3, details: expect.stringContaining('not a valid Put message') })
    const rawStream = raw.makeBidiStreamRequest(
      '/etcdserverpb.Watch/Watch',
      (x: Buffer) => x,
      (x: Buffer) => x,
    )
    const streamError = new Promise<Msg>((resolve) => rawStream.on('error', resolve))
    rawStream.on('data', () => {})
    rawStream.write(garbage)
    expect(await streamError).toMatchObject({ code: 3 })
    raw.close()
    expect(mesh.toJSON()).toEqual(before)
  })
})
