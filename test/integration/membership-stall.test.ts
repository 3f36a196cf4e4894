/**
 * Local health awareness: a peer whose own event loop stalls longer than the member timeout must not drop the members
 * whose heartbeats are waiting unread in its sockets (on a saturated machine members flapped, rings moved, leases
 * and address books lost peers). The stall is simulated by blocking the event loop, shared by every peer here.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { ConfigMesh } from '../../src/index.js'
import { NetworkControl, startCluster, stopAll, TEST_TIMING } from '../helpers/cluster.js'
import { waitFor } from '../helpers/wait-for.js'

let meshes: ConfigMesh[] = []
afterEach(async () => {
  await stopAll(meshes)
  meshes = []
})

/** Blocks the event loop for `ms` (what a descheduled process or a long GC does to every peer in it). */
function stall(ms: number): void {
  const until = Date.now() + ms
  while (Date.now() < until) {
    // busy: no timer, socket or promise callback runs meanwhile
  }
}

describe('membership on a stalled event loop', () => {
  it('a stall longer than the member timeout drops nobody; a peer that really went silent is still dropped', async () => {
    const network = new NetworkControl()
    meshes = await startCluster(3, { network })
    const changes: string[][] = []
    for (const m of meshes) m.events.addEventListener('peers:change', (e) => changes.push([...e.detail.left]))
    stall(TEST_TIMING.memberTimeoutMs + 1_000)
    await new Promise((r) => setTimeout(r, 0)) // the late membership ticks run first, then the unread heartbeats
    expect(meshes.map((m) => m.peers().length)).toEqual([2, 2, 2])
    expect(changes.flat()).toEqual([])
    // the failure detector still works: a peer cut off (silent, no goodbye) is dropped by the others
    const [a, b, c] = meshes as [ConfigMesh, ConfigMesh, ConfigMesh]
    await network.split([[a, b], [c]])
    await waitFor(() => a.peers().length === 1 && b.peers().length === 1, { message: 'c dropped by a and b' })
  })
})
