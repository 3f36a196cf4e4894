/**
 * A data dir restored from an older backup: the mesh holds writes under this peer's writer id (Yjs client id) that
 * the restored store lacks. Reusing the stored epoch would write new, different content under (client, clock) pairs
 * peers already hold, and replicas would diverge for good. The peer must notice and write under a fresh epoch, also
 * when it writes before it has reached any peer (its writes then go under a fresh id at once).
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ConnectionGater } from '@libp2p/interface'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { ConfigMesh } from '../../src/index.js'
import { startMesh, stopAll, waitForConvergence, waitForMembers } from '../helpers/cluster.js'
import { waitFor } from '../helpers/wait-for.js'

const root = mkdtempSync(join(tmpdir(), 'confmesh-backup-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let meshes: Array<ConfigMesh | undefined> = []
afterEach(async () => {
  await stopAll(meshes)
  meshes = []
})
const track = <T extends ConfigMesh>(m: T): T => {
  meshes.push(m)
  return m
}
const counter = (m: ConfigMesh, name: string) => m.diagnostics().counters[`storage.${name}`]

describe('durability: a data dir restored from an older backup', () => {
  it('takes a fresh writer id before writing when the mesh holds newer writes under the stored one', async () => {
    const dir = join(root, 'peer')
    const backup = join(root, 'backup')
    let a = track(await startMesh({ dataDir: dir }))
    const b = track(await startMesh({ bootstrap: [a.addresses[0]!] })) // the rest of the mesh (in memory)
    await waitForMembers([a, b])
    await a.set('x', 1)
    await waitFor(() => b.get('x') === 1)
    await a.stop()
    cpSync(dir, backup, { recursive: true }) // the backup, taken of a stopped peer

    a = track(await startMesh({ dataDir: dir, bootstrap: [b.addresses[0]!] }))
    const writerId = counter(a, 'writerId')
    expect(counter(a, 'writerReused')).toBe(1)
    await a.update({ x: 2, y: 2 }) // writes after the backup (after the first catch-up), held by b, reused id
    await waitFor(() => b.get('y') === 2)
    await a.stop()

    rmSync(dir, { recursive: true, force: true })
    cpSync(backup, dir, { recursive: true }) // restored: the store lacks the writes b holds under writerId
    a = track(await startMesh({ dataDir: dir, bootstrap: [b.addresses[0]!] }))
    expect(a.get('y')).toBeUndefined()
    await waitFor(() => a.get('y') === 2, { message: 'the restored peer to catch up' })
    expect(counter(a, 'writerReplaced')).toBe(1)
    const fresh = counter(a, 'writerId')
    expect(fresh).not.toBe(writerId)
    await a.set('z', 3)
    expect(Object.keys(a.diagnostics().stateVector)).toContain(String(fresh))
    await waitForConvergence([a, b])
    expect(b.get('z')).toBe(3)
    expect(b.diagnostics().stateVector[String(writerId)]).toBe(a.diagnostics().stateVector[String(writerId)])
    await a.stop()

    // the fresh epoch was persisted: the next start reuses it
    a = track(await startMesh({ dataDir: dir, bootstrap: [b.addresses[0]!] }))
    expect(counter(a, 'writerReused')).toBe(1)
    expect(counter(a, 'writerId')).toBe(fresh)
  })

  it('writes made before the first contact wait for it, then go under a fresh writer id; every replica identical', async () => {
    const dir = join(root, 'early')
    const backup = join(root, 'early-backup')
    let a = track(await startMesh({ dataDir: dir }))
    const b = track(await startMesh({ bootstrap: [a.addresses[0]!] }))
    await waitForMembers([a, b])
    await a.set('x', 1)
    await waitFor(() => b.get('x') === 1)
    await a.stop()
    cpSync(dir, backup, { recursive: true })

    a = track(await startMesh({ dataDir: dir, bootstrap: [b.addresses[0]!] }))
    const writerId = counter(a, 'writerId')
    expect(counter(a, 'writerGuarded')).toBe(1)
    await a.update({ x: 2, y: 2 }) // waits for the first catch-up, which confirms the reused id
    expect(counter(a, 'writerId')).toBe(writerId)
    expect(counter(a, 'writerGuarded')).toBe(0)
    await waitFor(() => b.get('y') === 2)
    await a.stop()

    // restore the old backup and start cut off from every peer (a gater that refuses every connection)
    const restore = (): void => {
      rmSync(dir, { recursive: true, force: true })
      cpSync(backup, dir, { recursive: true })
    }
    let cutOff = true
    const gater: ConnectionGater = {
      denyDialMultiaddr: () => cutOff,
      denyInboundConnection: () => cutOff,
      denyOutboundConnection: () => cutOff,
    }
    restore()
    a = track(await startMesh({ dataDir: dir, bootstrap: [b.addresses[0]!], connectionGater: gater }))
    expect(counter(a, 'writerReused')).toBe(1)
    const early = a.update({ z: 3, x: 3 }) // before any contact: held, must not reuse pairs b holds
    await Promise.resolve()
    expect(a.get('z')).toBeUndefined()
    cutOff = false // reconnect: the catch-up brings b's writes under writerId, the held write goes under a fresh id
    await a.connect(b.addresses[0]!)
    await early
    const fresh = counter(a, 'writerId')
    expect(fresh).not.toBe(writerId)
    expect(counter(a, 'writerReplaced')).toBe(1)
    await a.set('w', 4) // after reconnecting
    await waitForConvergence([a, b])
    for (const m of [a, b]) {
      expect(m.toJSON()).toEqual({ x: 3, y: 2, z: 3, w: 4 })
      expect(m.diagnostics().stateVector[String(writerId)]).toBe(b.diagnostics().stateVector[String(writerId)])
    }
    await a.stop()

    // again from the backup, and no peer within the hold: the write goes ahead alone, under a fresh writer id
    restore()
    cutOff = true
    a = track(await startMesh({ dataDir: dir, bootstrap: [b.addresses[0]!], connectionGater: gater }))
    await a.set('v', 5) // resolves after the hold (writerHoldMs, 10 s)
    const alone = counter(a, 'writerId')
    expect(alone).not.toBe(writerId)
    expect(counter(a, 'writerUnverified')).toBe(1)
    expect(b.diagnostics().stateVector[String(alone)]).toBeUndefined()
    cutOff = false
    await a.connect(b.addresses[0]!)
    await waitForConvergence([a, b])
    for (const m of [a, b]) expect(m.toJSON()).toEqual({ x: 3, y: 2, z: 3, w: 4, v: 5 })
    await a.stop()

    // the fresh epoch was persisted: the next start reuses it
    a = track(await startMesh({ dataDir: dir, bootstrap: [b.addresses[0]!] }))
    expect(counter(a, 'writerId')).toBe(alone)
    await waitForConvergence([a, b])
    expect(a.toJSON()).toEqual(b.toJSON())
  })
})
