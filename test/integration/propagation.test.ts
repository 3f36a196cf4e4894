import { afterEach, describe, expect, it } from 'vitest'
import type { ConfigMesh, WatchEvent } from '../../src/index.js'
import {
  NetworkControl,
  reconnectAll,
  startCluster,
  startMesh,
  stopAll,
  waitForConvergence,
} from '../helpers/cluster.js'
import { waitFor } from '../helpers/wait-for.js'

let meshes: ConfigMesh[] = []
afterEach(async () => {
  await stopAll(meshes)
  meshes = []
})

describe('propagation between real peers on 127.0.0.1', () => {
  it('delivers a set to every other peer, exactly once per change, with source and previous', async () => {
    meshes = await startCluster(3)
    const [a, b, c] = meshes as [ConfigMesh, ConfigMesh, ConfigMesh]
    const events = new Map<ConfigMesh, WatchEvent[]>(meshes.map((m) => [m, []]))
    for (const m of meshes) m.watch('feature.checkout', (e) => events.get(m)!.push(e))

    await a.set('feature.checkout', { enabled: true })
    await waitFor(() => b.get('feature.checkout') !== undefined && c.get('feature.checkout') !== undefined)
    await b.set('feature.checkout', { enabled: false })
    await waitFor(() => meshes.every((m) => events.get(m)!.length === 2))
    await a.delete('feature.checkout')
    await waitFor(() => meshes.every((m) => events.get(m)!.length === 3))
    await waitForConvergence(meshes)

    for (const m of meshes) {
      const evs = events.get(m)!
      expect(evs.map((e) => [e.value, e.previous])).toEqual([
        [{ enabled: true }, undefined],
        [{ enabled: false }, { enabled: true }],
        [undefined, { enabled: false }],
      ])
      expect(evs.map((e) => e.source)).toEqual([
        m === a ? 'local' : 'remote',
        m === b ? 'local' : 'remote',
        m === a ? 'local' : 'remote',
      ])
      expect(evs[0]!.author).toBe(a.peerId)
    }
    // Nothing more arrives later (no echo, no duplicate delivery).
    await a.set('other', 1)
    await waitFor(() => c.get('other') === 1 && b.get('other') === 1)
    for (const m of meshes) expect(events.get(m)!.length).toBe(3)
  })

  it('keeps namespaces separate and supports prefix and namespace-wide watches', async () => {
    meshes = await startCluster(2)
    const [a, b] = meshes as [ConfigMesh, ConfigMesh]
    const prefixed: string[] = []
    const wide: string[] = []
    b.namespace('payments').watch({ prefix: 'db.' }, (e) => prefixed.push(e.key))
    b.namespace('payments').watch((e) => wide.push(e.key))
    await a.namespace('payments').update({ 'db.host': 'pg-1', 'db.port': 5432, limit: { daily: 500 } })
    await a.set('limit', 'default-namespace')
    await waitFor(() => b.get('limit') === 'default-namespace' && b.namespace('payments').keys().length === 3)
    expect(b.namespace('payments').toJSON()).toEqual({ 'db.host': 'pg-1', 'db.port': 5432, limit: { daily: 500 } })
    expect(b.toJSON()).toEqual({ limit: 'default-namespace' })
    expect(prefixed.sort()).toEqual(['db.host', 'db.port'])
    expect(wide.sort()).toEqual(['db.host', 'db.port', 'limit'])
    expect(b.namespaces()).toEqual(['default', 'payments'])
  })

  it('a late joiner bootstrapping to any single member ends with the full state', async () => {
    meshes = await startCluster(3)
    const [a, b] = meshes as [ConfigMesh, ConfigMesh]
    for (let i = 0; i < 50; i++) await a.set(`k${i}`, i)
    await b.namespace('ns').set('x', 'y')
    await waitForConvergence(meshes)
    const late = await startMesh({ bootstrap: [meshes[2]!.addresses[0]!] })
    meshes.push(late)
    await waitForConvergence(meshes)
    expect(late.get('k49')).toBe(49)
    expect(late.namespace('ns').get('x')).toBe('y')
  })

  it('keeps working after the bootstrap peer stops: peers met each other beyond it', async () => {
    meshes = await startCluster(4)
    const [boot, ...rest] = meshes as [ConfigMesh, ...ConfigMesh[]]
    // Every non-bootstrap peer is directly connected to the others, not only to the bootstrap peer.
    await waitFor(() => rest.every((m) => m.peers().filter((p) => p.connected).length >= 3))
    await boot.stop()
    await waitFor(() => rest.every((m) => m.peers().length === 2), { message: 'bootstrap peer dropped' })
    await rest[0]!.set('after', 'bootstrap-stopped')
    await waitFor(() => rest.every((m) => m.get('after') === 'bootstrap-stopped'))
    await waitForConvergence(rest)
  })

  it('concurrent writes to one key converge to the later write on every peer', async () => {
    meshes = await startCluster(3)
    const [a, b, c] = meshes as [ConfigMesh, ConfigMesh, ConfigMesh]
    // Truly concurrent: all three write in the same tick before any gossip is processed.
    await Promise.all([a.set('race', 'a'), b.set('race', 'b'), c.set('race', 'c')])
    await waitForConvergence(meshes)
    const winner = a.get('race')
    for (const m of meshes) expect(m.get('race')).toBe(winner)
    // A write made after the others were seen wins everywhere, whoever made it.
    await a.set('race', 'later-from-a')
    await waitForConvergence(meshes)
    for (const m of meshes) expect(m.get('race')).toBe('later-from-a')
    // History is on (the default): the losing and replaced entries are recorded (their change sets' records read the
    // values from them), so they stay until pruned, the same on every peer; without history they are garbage-collected
    // at once (test/unit/kv-store.test.ts), and pruning deletes them (test/unit/versions-storage.test.ts).
    await waitFor(() => meshes.every((m) => m.diagnostics().entries === 4))
    for (const m of meshes) expect(m.history({ key: 'race' })).toHaveLength(4)
  })

  it('moves 10 MB of config (2,000 keys x 5 KB) and a single 5 MB value to every peer and a new joiner', async () => {
    meshes = await startCluster(3)
    const [a] = meshes as [ConfigMesh]
    const chunk = 'v'.repeat(5 * 1024)
    const batch: Record<string, string> = {}
    for (let i = 0; i < 2000; i++) batch[`bulk.${i}`] = `${i}:${chunk}`
    await a.namespace('bulk').update(batch)
    const big = 'B'.repeat(5 * 1024 * 1024)
    await a.set('big', big)
    await waitForConvergence(meshes, 60_000)
    const joiner = await startMesh({ bootstrap: [meshes[1]!.addresses[0]!] })
    meshes.push(joiner)
    await waitForConvergence(meshes, 60_000)
    expect(joiner.namespace('bulk').keys().length).toBe(2000)
    expect(joiner.get('big')).toBe(big)
    expect((await joiner.stats()).documentBytes).toBeGreaterThan(15_000_000)
  })

  it('a peer that missed messages while cut off catches up by state-vector exchange', async () => {
    const network = new NetworkControl()
    meshes = await startCluster(3, { network })
    const [a, b, c] = meshes as [ConfigMesh, ConfigMesh, ConfigMesh]
    await network.split([[a, b], [c]])
    await waitFor(() => c.peers().filter((p) => p.connected).length === 0)
    for (let i = 0; i < 20; i++) await a.set(`missed.${i}`, i)
    await c.set('offline-write', true)
    await waitFor(() => b.get('missed.19') === 19)
    expect(c.get('missed.0')).toBeUndefined()
    network.heal()
    await reconnectAll(meshes)
    await waitForConvergence(meshes)
    expect(c.get('missed.19')).toBe(19)
    expect(a.get('offline-write')).toBe(true)
  })
})
