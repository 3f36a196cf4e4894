import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import {
  type ConfigMesh,
  InvalidRolloutError,
  ROLLOUT_NAMESPACE,
  RolloutConflictError,
  rolloutBucket,
  SchemaValidationError,
  UnknownRolloutError,
  type WatchEvent,
} from '../../src/index.js'
import { replicaState, startCluster, startMesh, stopAll, waitForMembers } from '../helpers/cluster.js'
import { waitFor } from '../helpers/wait-for.js'

let meshes: ConfigMesh[] = []
afterEach(async () => {
  await stopAll(meshes)
  meshes = []
})
const root = mkdtempSync(join(tmpdir(), 'confmesh-rollouts-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** Starts three peers; `c` carries the tag zone=eu. */
async function trio(): Promise<[ConfigMesh, ConfigMesh, ConfigMesh]> {
  const a = await startMesh()
  const boot = { bootstrap: [a.addresses[0]!] }
  const [b, c] = await Promise.all([startMesh(boot), startMesh({ ...boot, tags: { zone: 'eu' } })])
  meshes = [a, b!, c!]
  await waitForMembers(meshes)
  return meshes as [ConfigMesh, ConfigMesh, ConfigMesh]
}

/**
 * Convergence while rollouts are active: identical documents (state vectors, nothing pending). The JSON peers show
 * differs by design: a peer in a rollout's group sees its value.
 */
async function waitForConvergence(ms: ConfigMesh[]): Promise<void> {
  await waitFor(
    () => {
      const states = ms.map(replicaState)
      return states.every((s) => !s.pending && s.stateVector === states[0]!.stateVector)
    },
    { timeoutMs: 30_000, message: 'identical documents' },
  )
}

const values = (ms: ConfigMesh[], key: string) => ms.map((m) => m.get(key))
const sameRollouts = (ms: ConfigMesh[]) =>
  ms.every(
    (m) =>
      JSON.stringify(m.rollouts().map(({ self: _, ...r }) => r)) ===
      JSON.stringify(ms[0]!.rollouts().map(({ self: _, ...r }) => r)),
  )

describe('gray release between real peers', () => {
  it('listed peers, then tags, then percent see the new value; promote and abort reach every peer', async () => {
    const [a, b, c] = await trio()
    await a.set('checkout', 'v1')
    await waitForConvergence(meshes)
    const events = new Map<ConfigMesh, WatchEvent[]>(meshes.map((m) => [m, []]))
    for (const m of meshes) m.watch('checkout', (e) => events.get(m)!.push(e))

    // 1. a listed peer
    const { id } = await a.rollout('default', 'checkout', 'v2', { peers: [b.peerId] })
    await waitFor(() => b.get('checkout') === 'v2', { message: 'b to see the rollout' })
    await waitForConvergence(meshes)
    expect(values(meshes, 'checkout')).toEqual(['v1', 'v2', 'v1'])
    expect(b.namespace('default').toJSON()).toEqual({ checkout: 'v2' })
    expect(events.get(b)!.map((e) => [e.previous, e.value])).toEqual([['v1', 'v2']])
    expect(events.get(a)).toEqual([])
    for (const m of meshes) {
      expect(m.rollouts()).toHaveLength(1)
      expect(m.rollouts()[0]).toMatchObject({ id, key: 'checkout', value: 'v2', percent: 0, members: 1 })
      expect(m.rollouts()[0]!.memberIds).toEqual([b.peerId])
    }

    // 2. widen by tags: same id, c joins, b stays
    expect((await a.rollout('default', 'checkout', 'v2', { tags: { zone: 'eu' } })).id).toBe(id)
    await waitFor(() => c.get('checkout') === 'v2', { message: 'c to join by its tags' })
    await waitFor(() => sameRollouts(meshes), { message: 'the same rollout list everywhere' })
    expect(values(meshes, 'checkout')).toEqual(['v1', 'v2', 'v2'])
    for (const m of meshes) expect(m.rollouts()[0]!.memberIds).toEqual([b.peerId, c.peerId].sort())
    const during = a.version()

    // 3. a base change while in the group is hidden from the group
    await a.set('checkout', 'v1.1')
    await waitForConvergence(meshes)
    expect(values(meshes, 'checkout')).toEqual(['v1.1', 'v2', 'v2'])
    expect(events.get(b)).toHaveLength(1)
    expect(events.get(a)!.map((e) => e.value)).toEqual(['v1.1'])

    // 4. refused steps change nothing
    await expect(a.rollout('default', 'checkout', 'v3')).rejects.toBeInstanceOf(RolloutConflictError)
    await a.rollout('default', 'checkout', 'v2', { percent: 50 })
    await expect(a.rollout('default', 'checkout', 'v2', { percent: 10 })).rejects.toBeInstanceOf(InvalidRolloutError)
    await expect(a.rollout('default', 'checkout', 'v2', { percent: 101 })).rejects.toBeInstanceOf(InvalidRolloutError)
    await expect(a.rollout('default', 'checkout', 'v2', { peers: ['nope'] })).rejects.toBeInstanceOf(
      InvalidRolloutError,
    )
    await expect(a.promote('r0000000000000000')).rejects.toBeInstanceOf(UnknownRolloutError)

    // 5. 100 %: everyone
    await a.rollout('default', 'checkout', 'v2', { percent: 100 })
    await waitFor(() => a.get('checkout') === 'v2', { message: 'a to join at 100 %' })
    await waitFor(() => meshes.every((m) => m.rollouts()[0]?.members === 3), { message: 'three members in' })

    // 6. promote: the base everywhere, no record, no event where the value did not change
    const seenBefore = meshes.map((m) => events.get(m)!.length)
    await b.promote(id)
    await waitFor(() => meshes.every((m) => m.rollouts().length === 0), { message: 'promote to reach every peer' })
    await waitForConvergence(meshes)
    expect(values(meshes, 'checkout')).toEqual(['v2', 'v2', 'v2'])
    expect(a.namespace(ROLLOUT_NAMESPACE).toJSON()).toEqual({})
    expect(meshes.map((m) => events.get(m)!.length)).toEqual(seenBefore)

    // 7. abort: the group goes back to the base
    const second = await c.rollout('default', 'checkout', 'v3', { peers: [b.peerId] })
    await waitFor(() => b.get('checkout') === 'v3' && a.rollouts().length === 1, {
      message: 'second rollout to reach b and a',
    })
    await a.abort(second.id)
    await waitFor(() => b.get('checkout') === 'v2' && meshes.every((m) => m.rollouts().length === 0), {
      message: 'abort to reach every peer',
    })
    expect(
      events
        .get(b)!
        .slice(-2)
        .map((e) => e.value),
    ).toEqual(['v3', 'v2'])

    // 8. every step is in history, on every peer
    await waitForConvergence(meshes)
    const messages = a
      .history()
      .map((h) => h.message ?? '')
      .filter((m) => m.startsWith('rollout'))
    expect(messages.map((m) => m.split(' ').slice(2, 3)[0])).toEqual([
      'abort',
      'start',
      'promote',
      'widen',
      'widen',
      'widen',
      'start',
    ])
    for (const m of meshes) expect(m.history().map((h) => h.message)).toEqual(a.history().map((h) => h.message))

    // 9. rolling back to a version during the rollout restores the rollout as it was then (and the base of then)
    await a.rollback(during)
    await waitFor(() => meshes.every((m) => m.rollouts().length === 1 && m.rollouts()[0]!.percent === 0), {
      message: 'the rollback to restore the rollout everywhere',
    })
    await waitForConvergence(meshes)
    expect(values(meshes, 'checkout')).toEqual(['v1', 'v2', 'v2'])
    expect(a.rollouts()[0]!.id).toBe(id)
  })

  it('a rollout value is checked against the key’s schemas', async () => {
    meshes = await startCluster(2)
    const [a] = meshes as [ConfigMesh]
    await a.setSchema('default', 'workers', { type: 'integer', maximum: 8 })
    await expect(a.rollout('default', 'workers', 64, { percent: 10 })).rejects.toBeInstanceOf(SchemaValidationError)
    expect(a.rollouts()).toEqual([])
    const { id } = await a.rollout('default', 'workers', 6, { percent: 10 })
    expect(a.rollouts()).toHaveLength(1)
    // a schema the rollout's value breaks is refused like one current values break; forced, validate() names it
    const refused = await a.setSchema('default', 'workers', { type: 'integer', maximum: 4 }).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(SchemaValidationError)
    expect((refused as SchemaValidationError).issues[0]?.rollout).toBe(id)
    await a.setSchema('default', 'workers', { type: 'integer', maximum: 4 }, { force: true })
    expect(a.validate()).toEqual([
      { namespace: 'default', key: 'workers', pattern: 'workers', path: '', message: 'must be <= 4', rollout: id },
    ])
  })

  it('a restarted peer keeps its assignment (same identity, same replicated records)', async () => {
    const dataDir = join(root, 'b')
    const a = await startMesh()
    let b = await startMesh({ dataDir, bootstrap: [a.addresses[0]!] })
    meshes = [a, b]
    await waitForMembers(meshes)
    await a.set('limit', 1)
    const { id } = await a.rollout('default', 'limit', 2, { percent: 0 })
    // widen just past b's bucket: b is in, and so is anyone below it
    const percent = Math.min(100, Math.floor(rolloutBucket(id, b.peerId)) + 1)
    await a.rollout('default', 'limit', 2, { percent })
    await waitFor(() => b.get('limit') === 2, { message: 'b to join the rollout' })
    const before = b.rollouts()
    const peerId = b.peerId
    await b.stop()
    b = await startMesh({ dataDir }) // from its own disk, no peer in reach
    meshes = [a, b]
    expect(b.peerId).toBe(peerId)
    expect(b.get('limit')).toBe(2)
    expect(b.rollouts().map((r) => [r.id, r.percent, r.self])).toEqual(before.map((r) => [r.id, r.percent, true]))
  })
})
