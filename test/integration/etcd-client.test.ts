/**
 * The etcd API with the `etcd3` npm client, two in-process peers on 127.0.0.1: the same basics as the etcdctl test
 * (reads, writes, prefix, delete, watch across peers, txn, leases with keep-alive and revoke) plus reads at an old
 * revision, compaction and a value that is not UTF-8.
 */
import { Etcd3 } from 'etcd3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ConfigMesh, createEtcdApi, createMesh, type EtcdApi } from '../../src/index.js'
import { waitFor } from '../helpers/wait-for.js'

describe('etcd API with the etcd3 client', () => {
  const meshes: ConfigMesh[] = []
  const apis: EtcdApi[] = []
  let a: Etcd3
  let b: Etcd3

  beforeAll(async () => {
    const first = await createMesh({ timing: { heartbeatMs: 200 } })
    const second = await createMesh({ bootstrap: first.addresses, timing: { heartbeatMs: 200 } })
    meshes.push(first, second)
    for (const m of meshes) apis.push(await createEtcdApi(m, { listen: '127.0.0.1:0', leaseCheckMs: 50 }))
    a = new Etcd3({ hosts: apis[0]!.address })
    b = new Etcd3({ hosts: apis[1]!.address })
    await waitFor(() => first.peers().length === 1 && second.peers().length === 1, { message: 'peers connected' })
  })

  afterAll(async () => {
    a?.close()
    b?.close()
    for (const api of apis) await api.close()
    for (const m of meshes) await m.stop()
  })

  it('puts, gets, lists a prefix and deletes across peers; JSON values are served as their text', async () => {
    await a.put('cfg/host').value('db.local')
    await a.put('cfg/port').value('5432')
    await meshes[0]!.set('cfg/pool', { max: 10 })
    await waitFor(async () => (await b.get('cfg/pool').string()) === '{"max":10}', { message: 'cfg/pool on b' })
    expect(await b.getAll().prefix('cfg/').strings()).toEqual({
      'cfg/host': 'db.local',
      'cfg/pool': '{"max":10}',
      'cfg/port': '5432',
    })
    expect(meshes[1]!.get('cfg/port')).toBe('5432')
    await b.delete().key('cfg/host')
    await waitFor(async () => (await a.get('cfg/host').string()) === null, { message: 'cfg/host deleted on a' })
    expect(await a.getAll().prefix('cfg/').count()).toBe(2)
  })

  it('watches a prefix on one peer and sees puts and deletes made on the other', async () => {
    const watcher = await b.watch().prefix('w/').withPreviousKV().create()
    const seen: string[] = []
    watcher.on('put', (kv, prev) => seen.push(`put ${kv.key} ${kv.value} prev=${prev?.value ?? '-'}`))
    watcher.on('delete', (kv) => seen.push(`delete ${kv.key}`))
    try {
      await a.put('w/1').value('one')
      await a.put('w/1').value('uno')
      await a.delete().key('w/1')
      await waitFor(() => seen.length === 3, { message: `3 events, got ${JSON.stringify(seen)}` })
      expect(seen).toEqual(['put w/1 one prev=-', 'put w/1 uno prev=one', 'delete w/1'])
    } finally {
      await watcher.cancel()
    }
  })

  it('runs a txn: compares on the serving peer, then applies', async () => {
    await a.put('lock/owner').value('none')
    const won = await a.if('lock/owner', 'Value', '==', 'none').then(a.put('lock/owner').value('a')).commit()
    expect(won.succeeded).toBe(true)
    const lost = await a.if('lock/owner', 'Value', '==', 'none').then(a.put('lock/owner').value('b')).commit()
    expect(lost.succeeded).toBe(false)
    expect(await a.get('lock/owner').string()).toBe('a')
  })

  it('grants a lease, keeps it alive, and revoking it deletes its keys on every peer', async () => {
    const lease = a.lease(2)
    await lease.put('svc/web').value('10.0.0.2:80')
    const id = await lease.grant()
    await waitFor(async () => (await b.get('svc/web').string()) === '10.0.0.2:80', { message: 'svc/web on b' })
    // Keep-alives (every ttl/3) hold the key past its TTL: 4 of them span more than 2 s.
    let keepAlives = 0
    lease.on('keepaliveSucceeded', () => keepAlives++)
    await waitFor(() => keepAlives >= 4, { message: '4 keep-alives' })
    expect(await b.get('svc/web').string()).toBe('10.0.0.2:80')
    const ttl = await b.leaseClient.leaseTimeToLive({ ID: id, keys: true })
    expect(Number(ttl.grantedTTL)).toBe(2)
    expect(ttl.keys.map((k) => k.toString())).toEqual(['svc/web'])
    // attaching an existing key with an unchanged value is a change: a new revision carrying the lease
    await a.put('svc/static').value('1')
    await a.put('svc/static').value('1').lease(id)
    const attached = (await a.kv.range({ key: Buffer.from('svc/static') })).kvs
    expect(attached.map((kv) => [kv.version, kv.lease])).toEqual([['2', id]])
    await lease.revoke()
    await waitFor(async () => (await b.get('svc/static').string()) === null, { message: 'svc/static deleted on b' })
    await waitFor(async () => (await b.get('svc/web').string()) === null, { message: 'svc/web deleted on b' })
  })

  it('reads at an old revision until it is compacted; refuses a value that is not UTF-8', async () => {
    await a.put('hist').value('v1')
    const rev = Number((await a.kv.range({ key: Buffer.from('hist') })).header.revision)
    await a.put('hist').value('v2')
    expect(await a.get('hist').revision(rev).string()).toBe('v1')
    expect(await a.get('hist').string()).toBe('v2')
    await a.kv.compact({ revision: rev + 1 })
    await expect(a.get('hist').revision(rev).string()).rejects.toThrow(/required revision has been compacted/)
    await expect(a.put('bin').value(Buffer.from([0xff, 0xfe, 0x00]))).rejects.toThrow(/not UTF-8/)
    expect(await a.get('bin').string()).toBe(null)
  })
})
