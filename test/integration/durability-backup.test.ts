/**
 * A data dir restored from an older backup: the mesh holds writes under this peer's writer id (Yjs client id) that
 * the restored store lacks. Reusing the stored epoch would write new, different content under (client, clock) pairs
 * peers already hold, and replicas would diverge for good. The peer must notice and write under a fresh epoch.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
    await a.update({ x: 2, y: 2 }) // writes after the backup, held by b
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
})
