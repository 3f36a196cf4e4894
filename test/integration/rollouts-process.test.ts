/**
 * A peer restarted as a new OS process keeps its rollout assignment: the group is a pure function of the replicated
 * records (restored from its own disk), its peer id (restored identity) and its tags. Children run the compiled
 * package (`npm run build` first; `npm test` does).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { type ConfigMesh, rolloutBucket } from '../../src/index.js'
import { startMesh, TEST_TIMING } from '../helpers/cluster.js'
import { type PeerProcess, spawnPeer } from '../helpers/peer-process.js'
import { waitFor } from '../helpers/wait-for.js'

const root = mkdtempSync(join(tmpdir(), 'confmesh-rollouts-process-'))
let mesh: ConfigMesh | undefined
let child: PeerProcess | undefined
afterEach(async () => {
  await child?.kill()
  await mesh?.stop()
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('rollout assignment across a process restart', () => {
  it('a peer in a group by tags and by percent is in the same groups after it restarts from its data dir', async () => {
    const dataDir = join(root, 'child')
    mesh = await startMesh()
    const options = { dataDir, timing: TEST_TIMING, tags: { zone: 'eu' } }
    child = await spawnPeer({ mesh: { ...options, bootstrap: [mesh.addresses[0]!] } })
    await waitFor(() => mesh!.peers().some((p) => p.peerId === child!.peerId), { message: 'the child to join' })
    await mesh.update({ 'by.tags': 'base', 'by.percent': 'base', outside: 'base' })
    await mesh.rollout('default', 'by.tags', 'new', { tags: { zone: 'eu' } })
    const { id } = await mesh.rollout('default', 'by.percent', 'new', { percent: 0 })
    await mesh.rollout('default', 'by.percent', 'new', {
      percent: Math.min(100, Math.floor(rolloutBucket(id, child.peerId)) + 1),
    })
    const other = await mesh.rollout('default', 'outside', 'new', { peers: [mesh.peerId] })
    const expected = { 'by.tags': 'new', 'by.percent': 'new', outside: 'base' }
    const read = async (c: PeerProcess) =>
      Object.fromEntries(
        await Promise.all(Object.keys(expected).map(async (key) => [key, await c.call('get', { key })])),
      )
    await waitFor(async () => JSON.stringify(await read(child!)) === JSON.stringify(expected), {
      message: 'the child to see its rollouts',
    })
    expect(other.id).not.toBe(id)

    const peerId = child.peerId
    await child.stop()
    child = await spawnPeer({ mesh: options }) // no bootstrap: the records come from its own disk
    expect(child.peerId).toBe(peerId)
    expect(await read(child)).toEqual(expected)
  })
})
