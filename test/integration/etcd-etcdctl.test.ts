/**
 * The etcd API against the real etcdctl (Debian's etcd-client), with agents as OS processes (`confmesh node --etcd`,
 * the compiled package: `npm run build` first): reads and writes on one agent seen on the others, a watch on one agent
 * seeing a put on another, txn, leases (grant, put --lease, keep-alive on another agent, expiry deleting the key
 * everywhere after the granting agent is SIGKILLed), `endpoint status`, and bad requests answered with clean errors
 * while the agent keeps serving.
 */
import { spawnSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHashRing } from '../../src/ring/hash-ring.js'
import { type EtcdPeer, etcdctl, etcdctlWatch, spawnEtcdPeer } from '../helpers/etcd-processes.js'
import { waitFor } from '../helpers/wait-for.js'

const hasEtcdctl = spawnSync('etcdctl', ['version'], { env: { ...process.env, ETCDCTL_API: '3' } }).status === 0

/** The value of `key` on an agent (`undefined` when absent), via `etcdctl get --print-value-only`. */
async function value(peer: EtcdPeer, key: string): Promise<string | undefined> {
  const r = await etcdctl(peer.etcd, ['get', key, '--print-value-only'])
  if (r.code !== 0) throw new Error(`etcdctl get failed: ${r.stderr}`)
  return r.stdout === '' ? undefined : r.stdout.replace(/\n$/, '')
}

describe.skipIf(!hasEtcdctl)('etcd API with etcdctl, agents as processes', () => {
  let a: EtcdPeer
  let b: EtcdPeer
  let c: EtcdPeer

  beforeAll(async () => {
    a = await spawnEtcdPeer()
    ;[b, c] = await Promise.all([spawnEtcdPeer({ bootstrap: a.addresses }), spawnEtcdPeer({ bootstrap: a.addresses })])
    for (const p of [a, b, c]) {
      await waitFor(
        async () => {
          const r = await etcdctl(p.etcd, ['member', 'list', '-w', 'json'])
          return r.code === 0 && (JSON.parse(r.stdout) as { members: unknown[] }).members.length === 3
        },
        { timeoutMs: 30_000, intervalMs: 200, message: `${p.peerId} to see 3 members` },
      )
    }
  }, 120_000)

  afterAll(async () => {
    await Promise.all([a, b, c].map((p) => p?.stop()))
  })

  it('put, get, get --prefix and del, seen on every agent', async () => {
    expect((await etcdctl(a.etcd, ['put', 'app/name', 'checkout'])).stdout).toBe('OK\n')
    expect((await etcdctl(a.etcd, ['put', 'app/limit', '500'])).code).toBe(0)
    expect((await etcdctl(b.etcd, ['put', 'other', 'x'])).code).toBe(0)
    for (const p of [a, b, c]) {
      await waitFor(async () => (await value(p, 'app/limit')) === '500', { message: 'app/limit everywhere' })
      await waitFor(async () => (await value(p, 'other')) === 'x', { message: 'other everywhere' })
    }
    const prefix = await etcdctl(c.etcd, ['get', '--prefix', 'app/'])
    expect(prefix.stdout).toBe('app/limit\n500\napp/name\ncheckout\n')
    const json = JSON.parse((await etcdctl(c.etcd, ['get', 'app/name', '-w', 'json'])).stdout)
    expect(json.kvs[0].version).toBe(1)
    expect(json.kvs[0].create_revision).toBe(json.kvs[0].mod_revision)
    expect(json.header.cluster_id).toBeTruthy()
    expect((await etcdctl(b.etcd, ['del', 'app/name'])).stdout).toBe('1\n')
    for (const p of [a, b, c]) await waitFor(async () => (await value(p, 'app/name')) === undefined)
    expect((await etcdctl(a.etcd, ['get', '--prefix', 'app/', '--keys-only'])).stdout).toBe('app/limit\n\n')
  })

  it('a watch on one agent sees a put made on another', async () => {
    const start = JSON.parse((await etcdctl(b.etcd, ['get', 'w/', '-w', 'json'])).stdout).header.revision as number
    // Watch from the next revision: nothing is missed even if the watch is set up after the put.
    const watch = etcdctlWatch(b.etcd, ['--prefix', 'w/', `--rev=${start + 1}`, '--prev-kv'])
    try {
      expect((await etcdctl(a.etcd, ['put', 'w/one', 'v1'])).code).toBe(0)
      expect((await etcdctl(c.etcd, ['put', 'w/one', 'v2'])).code).toBe(0)
      await waitFor(() => watch.lines.join('\n').includes('PUT\nw/one\nv1\nw/one\nv2'), {
        timeoutMs: 20_000,
        message: `watch lines, got ${JSON.stringify(watch.lines)}`,
      })
      expect(watch.lines.slice(0, 3)).toEqual(['PUT', 'w/one', 'v1'])
    } finally {
      await watch.stop()
    }
  })

  it('txn compares and applies on the serving agent', async () => {
    await etcdctl(a.etcd, ['put', 'tx/k', 'old'])
    const ok = await etcdctl(
      a.etcd,
      ['txn'],
      'value("tx/k") = "old"\n\nput tx/k new\nput tx/other yes\n\nput tx/k failed\n\n',
    )
    expect(ok.stdout.split('\n')[0]).toBe('SUCCESS')
    expect(await value(a, 'tx/k')).toBe('new')
    expect(await value(a, 'tx/other')).toBe('yes')
    const failed = await etcdctl(a.etcd, ['txn'], 'value("tx/k") = "old"\n\nput tx/k never\n\nget tx/k\n\n')
    expect(failed.stdout.split('\n')).toEqual(['FAILURE', '', 'tx/k', 'new', ''])
    const version = await etcdctl(a.etcd, ['txn'], 'version("tx/none") = "0"\n\nput tx/none created\n\n\n')
    expect(version.stdout.split('\n')[0]).toBe('SUCCESS')
  })

  it('a leased key is deleted everywhere after the granting agent is killed', async () => {
    const members = await createHashRing({ members: [a.peerId, b.peerId, c.peerId] })
    // Grant on A until A is the agent that expires the lease: its crash must hand expiry to another agent.
    let lease = ''
    for (let i = 0; i < 50 && lease === ''; i++) {
      const hex = /lease ([0-9a-f]+) granted/.exec((await etcdctl(a.etcd, ['lease', 'grant', '4'])).stdout)![1]!
      const id = BigInt(`0x${hex}`).toString()
      if (members.ownerOf(`etcd-lease/${id}`, 3)[0] === a.peerId) lease = hex
      else await etcdctl(a.etcd, ['lease', 'revoke', hex])
    }
    expect(lease).not.toBe('')
    expect((await etcdctl(a.etcd, ['put', 'svc/api', '10.0.0.1:80', `--lease=${lease}`])).code).toBe(0)
    for (const p of [b, c]) await waitFor(async () => (await value(p, 'svc/api')) === '10.0.0.1:80')
    const ttl = await etcdctl(c.etcd, ['lease', 'timetolive', lease, '--keys'])
    expect(ttl.stdout).toContain('attached keys([svc/api])')
    const kept = await etcdctl(b.etcd, ['lease', 'keep-alive', '--once', lease])
    expect(kept.stdout).toContain(`lease ${lease} keepalived with TTL(4)`)
    await a.kill()
    for (const p of [b, c]) {
      await waitFor(async () => (await value(p, 'svc/api')) === undefined, {
        timeoutMs: 30_000,
        intervalMs: 200,
        message: 'the leased key to be deleted after its agent was killed',
      })
    }
    expect((await etcdctl(b.etcd, ['lease', 'timetolive', lease])).stdout).toContain('already expired')
    expect((await etcdctl(c.etcd, ['lease', 'list'])).stdout).not.toContain(lease)
  }, 90_000)

  it('endpoint status reports the agent; bad requests get clean errors and change nothing', async () => {
    const status = JSON.parse((await etcdctl(b.etcd, ['endpoint', 'status', '-w', 'json'])).stdout)[0].Status
    expect(status.version).toBe('3.5.0')
    expect(status.leader).toBe(status.header.member_id)
    expect(status.raftIndex).toBe(status.header.revision)
    const everything = async () => JSON.parse((await etcdctl(b.etcd, ['get', '', '--from-key', '-w', 'json'])).stdout)
    const before = await everything()
    const rev = before.header.revision as number
    const empty = await etcdctl(b.etcd, ['put', '', 'x'])
    expect(empty.code).not.toBe(0)
    expect(empty.stderr).toContain('etcdserver: key is not provided')
    const long = await etcdctl(b.etcd, ['put', 'k'.repeat(1025), 'x'])
    expect(long.stderr).toContain('code = InvalidArgument')
    const future = await etcdctl(b.etcd, ['get', 'x', `--rev=${rev + 1000}`])
    expect(future.stderr).toContain('required revision is a future revision')
    const noLease = await etcdctl(b.etcd, ['put', 'k', 'v', '--lease=1234abcd'])
    expect(noLease.stderr).toContain('requested lease not found')
    const alarm = await etcdctl(b.etcd, ['alarm', 'list'])
    expect(alarm.stderr).toContain('code = Unimplemented')
    expect((await everything()).kvs).toEqual(before.kvs)
    expect((await etcdctl(b.etcd, ['endpoint', 'health'])).code).toBe(0)
  })
})
