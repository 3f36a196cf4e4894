import { afterEach, describe, expect, it } from 'vitest'
import { type ConfigMesh, UnknownVersionError, type Version, VersionPrunedError } from '../../src/index.js'
import { NetworkControl, reconnectAll, startCluster, stopAll, waitForConvergence } from '../helpers/cluster.js'
import { waitFor } from '../helpers/wait-for.js'

let meshes: ConfigMesh[] = []
afterEach(async () => {
  await stopAll(meshes)
  meshes = []
})

/** Every namespace of a mesh as JSON. */
const all = (m: ConfigMesh) => Object.fromEntries(m.namespaces().map((n) => [n, m.namespace(n).toJSON()]))

/** Waits until every mesh has the same replica state and lists the same history. */
async function converge(ms: ConfigMesh[]): Promise<void> {
  await waitForConvergence(ms)
  await waitFor(() => ms.every((m) => JSON.stringify(m.history()) === JSON.stringify(ms[0]!.history())), {
    message: 'identical history on every peer',
  })
}

/** Waits until `m` has seen version `v` (it includes every write `v` includes). */
const seen = (m: ConfigMesh, v: Version) =>
  waitFor(() => ['after', 'equal'].includes(m.compare(m.version(), v)), { message: 'version to arrive' })

describe('versions between real peers', () => {
  it('every peer lists the same history and shows any peer’s version with at() and diff()', async () => {
    meshes = await startCluster(3)
    const [a, b, c] = meshes as [ConfigMesh, ConfigMesh, ConfigMesh]
    await a.update({ 'feature.x': true, limit: 10 })
    await seen(b, a.version())
    await b.namespace('payments').set('currency', 'EUR')
    const release = await b.snapshot('release 1')
    await seen(c, release)
    await c.set('limit', 20)
    await c.delete('feature.x')
    await converge(meshes)

    const history = a.history()
    expect(history.map((e) => [e.author, e.message, e.changes.length])).toEqual([
      [c.peerId, undefined, 1],
      [c.peerId, undefined, 1],
      [b.peerId, 'release 1', 0],
      [b.peerId, undefined, 1],
      [a.peerId, undefined, 2],
    ])
    expect(history[0]!.changes).toEqual([{ namespace: 'default', key: 'feature.x', before: true, after: undefined }])
    expect(history.every((e) => e.available && e.time > 0)).toBe(true)
    for (const m of meshes) {
      // a version recorded on b, viewed anywhere
      expect(m.at(release.id).toJSON()).toEqual({ 'feature.x': true, limit: 10 })
      expect(m.at(release).namespace('payments').get('currency')).toBe('EUR')
      expect(m.at(m.version()).toJSONAll()).toEqual(all(m))
      expect(m.diff(release.id)).toEqual([
        { namespace: 'default', key: 'feature.x', before: true, after: undefined },
        { namespace: 'default', key: 'limit', before: 10, after: 20 },
      ])
      expect(m.compare(release, m.version())).toBe('before')
      expect((await m.stats()).versions).toBe(5)
    }
    expect(() => a.at('garbage!')).toThrow(UnknownVersionError)
  })

  it('rolls back everything, one namespace, or some keys; to a version recorded on another peer', async () => {
    meshes = await startCluster(3)
    const [a, b, c] = meshes as [ConfigMesh, ConfigMesh, ConfigMesh]
    await a.update({ x: 1, y: 1 })
    await a.namespace('payments').update({ limit: 1, cap: 1 })
    const good = a.version() // recorded by a only (not a snapshot): c has never seen it as a history entry
    await seen(b, good)
    await b.update({ x: 2, y: 2, z: 2 })
    await b.namespace('payments').update({ limit: 2, cap: 2 })
    await converge(meshes)

    await seen(c, good)
    const r1 = await c.rollback(good, { namespace: 'payments' })
    expect(r1.changes.map((ch) => ch.key)).toEqual(['cap', 'limit'])
    await converge(meshes)
    for (const m of meshes) expect(all(m)).toEqual({ default: { x: 2, y: 2, z: 2 }, payments: { limit: 1, cap: 1 } })

    await b.rollback(good.id, { keys: ['x'] })
    await converge(meshes)
    for (const m of meshes) expect(m.toJSON()).toEqual({ x: 1, y: 2, z: 2 })

    const r3 = await a.rollback(good)
    await converge(meshes)
    for (const m of meshes) {
      expect(all(m)).toEqual({ default: { x: 1, y: 1 }, payments: { limit: 1, cap: 1 } })
      const top = m.history()[0]!
      expect(top).toMatchObject({ id: r3.version.id, author: a.peerId, message: `rollback to ${good.id}` })
      expect(m.compare(good, r3.version)).toBe('before')
    }
    expect(c.history().filter((e) => e.message?.startsWith('rollback to')).length).toBe(3)
    // a write issued (not awaited) before a rollback is part of what the rollback undoes
    void a.set('x', 'not awaited')
    await a.rollback(good, { keys: ['x'] })
    expect(a.get('x')).toBe(1)
  })

  it('concurrent rollbacks and writes on different peers converge (last writer wins, key by key)', async () => {
    meshes = await startCluster(4)
    const [a, b, c, d] = meshes as [ConfigMesh, ConfigMesh, ConfigMesh, ConfigMesh]
    await a.update({ x: 'v1', y: 'v1', z: 'v1' })
    await converge(meshes)
    const v1 = a.version()
    await b.update({ x: 'v2', y: 'v2', z: 'v2' })
    await converge(meshes)
    const v2 = b.version()
    await c.update({ x: 'v3', y: 'v3' })
    await converge(meshes)
    // all at once, before any of them has seen the others
    await Promise.all([a.rollback(v1), b.rollback(v2, { keys: ['x'] }), c.set('z', 'c-write'), d.rollback(v1.id)])
    await converge(meshes)
    const json = all(a)
    for (const m of meshes) {
      expect(all(m)).toEqual(json)
      expect(m.at(m.version()).toJSONAll()).toEqual(json)
    }
    expect(Object.keys(json.default!)).toEqual(['x', 'y', 'z'])
  })

  it('a version taken on another peer a moment ago works at once: rollback, atAsync and diffAsync pull its writes', async () => {
    meshes = await startCluster(3)
    const [a, b, c] = meshes as [ConfigMesh, ConfigMesh, ConfigMesh]
    await a.set('timeout', 30)
    await converge(meshes)
    // as a new user would: set on a, take a's version, roll back on b right away
    await a.set('timeout', 10)
    const v = a.version()
    await a.set('timeout', 99)
    const r = await b.rollback(v)
    expect(r.changes).toEqual([{ namespace: 'default', key: 'timeout', before: 99, after: 10 }])
    await seen(a, r.version) // so a's next write comes after the rollback (not in the same millisecond, unordered)
    await a.update({ timeout: 5, retries: 3 })
    const w = a.version()
    expect((await c.atAsync(w)).toJSON()).toEqual({ timeout: 5, retries: 3 })
    const d = await b.diffAsync(v, w)
    expect(d).toEqual([
      { namespace: 'default', key: 'retries', before: undefined, after: 3 },
      { namespace: 'default', key: 'timeout', before: 10, after: 5 },
    ])
    await converge(meshes)
    for (const m of meshes) expect(m.get('timeout')).toBe(5)
  })

  it('a version whose writer is out of reach fails after timeoutMs, naming the writer; works once it is back', async () => {
    const network = new NetworkControl()
    meshes = await startCluster(2, { network })
    const [a, b] = meshes as [ConfigMesh, ConfigMesh]
    await a.set('x', 1)
    await converge(meshes)
    await network.split([[a], [b]])
    await waitFor(() => b.peers().every((p) => !p.connected), { message: 'b cut off' })
    await a.set('x', 2)
    const v = a.version()
    const err = await b.atAsync(v, { timeoutMs: 300 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UnknownVersionError)
    expect((err as UnknownVersionError).missing).toMatchObject([{ peerId: a.peerId }])
    expect((err as Error).message).toContain(`(${a.peerId}): has`)
    network.heal()
    const [view] = await Promise.all([b.atAsync(v, { timeoutMs: 30_000 }), reconnectAll(meshes)])
    expect(view.get('x')).toBe(2)
  })

  it('a rollback wins over an earlier write that reaches the rolling-back peer only after the rollback', async () => {
    const network = new NetworkControl()
    meshes = await startCluster(3, { network })
    const [a, b, c] = meshes as [ConfigMesh, ConfigMesh, ConfigMesh]
    await a.update({ timeout: 30, retries: 1 })
    await converge(meshes)
    const good = a.version()
    await a.set('retries', 2)
    await converge(meshes)
    await network.split([[a, b], [c]])
    await waitFor(() => c.peers().every((p) => !p.connected), { message: 'c cut off' })
    // on a: timeout 1 (c does not see it); then, later in time, c rolls back timeout and retries
    await a.set('timeout', 1)
    await a.set('created', 'a')
    await waitFor(() => b.get('created') === 'a', { message: 'a’s writes to reach b' })
    const written = Date.now()
    await waitFor(() => Date.now() > written, { message: 'the clock to pass a’s writes' })
    expect(c.get('timeout')).toBe(30) // equal to the target here: written anyway, it is named
    const named = await c.rollback(good, { keys: ['timeout', 'created'], timeoutMs: 0 })
    expect(named.changes.map((ch) => ch.key)).toEqual(['created', 'timeout'])
    // the whole config: retries differs; created's tombstone and timeout's entry are newer than good
    const whole = await c.rollback(good, { timeoutMs: 0 })
    expect(whole.changes.map((ch) => ch.key)).toEqual(['created', 'retries', 'timeout'])
    network.heal()
    await reconnectAll(meshes)
    await converge(meshes)
    for (const m of meshes) expect(all(m)).toEqual({ default: { timeout: 30, retries: 1 } })
  })

  it('prunes history past the retention on every peer; pruned versions fail with VersionPrunedError', async () => {
    meshes = await startCluster(3, { retention: { versions: 10 } })
    const [a, b, c] = meshes as [ConfigMesh, ConfigMesh, ConfigMesh]
    await a.set('written-once', 'kept')
    const first = a.version()
    await converge(meshes)
    for (let i = 0; i < 40; i++) {
      const m = meshes[i % 3]!
      await m.set(`k${i % 4}`, i)
      await seen(meshes[(i + 1) % 3]!, m.version()) // the next writer has seen this write
    }
    await converge(meshes)
    for (const m of meshes) {
      expect(m.history().length).toBeLessThanOrEqual(12) // 10 + 25 % slack
      expect(m.history().every((e) => e.available)).toBe(true)
      expect(() => m.at(first)).toThrow(VersionPrunedError)
      await expect(m.rollback(first)).rejects.toThrow(VersionPrunedError)
      // the key written once long ago survives in the compacted base, at every retained version
      for (const e of m.history()) expect(m.at(e.id).get('written-once')).toBe('kept')
      expect(m.toJSON()).toEqual({ 'written-once': 'kept', k0: 36, k1: 37, k2: 38, k3: 39 })
    }
    const oldest = c.history().at(-1)!
    const expected = c.at(oldest.id).toJSON()
    await b.rollback(oldest)
    await converge(meshes)
    expect(a.toJSON()).toEqual(expected)
  })
})
