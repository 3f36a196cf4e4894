/**
 * Replayable whole-stack random tests on the simulated network: whole confmesh peers (createMesh) with random writes,
 * deletes, batches, rollbacks, partitions, crashes and restarts from their own storage; half the seeds run a private
 * mesh whose writer set changes during the run, with writes of peers that are not writers (refused locally) and
 * updates forged by peers that never were (refused by every replica). Every run also takes leases (acquire, renew,
 * release, use with crashes and partitions; exclusion and fencing-token order checked on virtual time) and joins
 * through ring-served join sync. Every run ends with identical JSON, state
 * vectors, history and writer sets everywhere, complete rings, nothing pending. The same seed gives the same run
 * (trace hash). `CONFMESH_SEED=<n>` replays one seed; the slow suite (`test/faults/simulated-mesh.test.ts`) runs
 * thousands, with up to 20 peers.
 */
import { describe, expect, it } from 'vitest'
import { seedFromEnv } from '../../src/transport/seeded-random.js'
import { randomRun } from '../helpers/simulated-mesh.js'
import { runSeeds } from '../helpers/simulated-seeds.js'

const base = seedFromEnv()
const SEEDS = Number(process.env.CONFMESH_SIM_SEEDS ?? 100)
/** Seeds that once failed (run first, every time). */
const REGRESSIONS: number[] = [
  2415264175, // a writer set changed concurrently with the removal of its author: replicas differed for good (§4)
  2661478991, // read-only peers (one a removed writer) pruned history under their own client id: state vectors differed
]

describe('whole peers on the simulated network', () => {
  it('the same seed replays the same run, event for event (open and private meshes)', async () => {
    for (const writers of [false, true]) {
      const first = await randomRun(base, { peers: 4, steps: 30, writers })
      const again = await randomRun(base, { peers: 4, steps: 30, writers })
      console.log(
        `[simulated mesh] seed ${base}${writers ? ' (writer set)' : ''}: trace ${first.hash}, ${first.events} events, ` +
          `${first.ops} writes, ${first.writerChanges} writer-set changes, ${first.refused} refused, ` +
          `${first.joinParts} join slices, leases ${JSON.stringify(first.leases)}`,
      )
      expect(again.hash).toBe(first.hash)
      expect(again.json).toBe(first.json)
      // Open meshes join through ring-served join sync on virtual time; how many slices a run fetches depends on the
      // seed (peers restarted with state do not run it, so a run may fetch none): printed above, not asserted.
    }
  })

  it(`${SEEDS} random seeds, 3-8 peers, half with a changing writer set: every replica identical at the end`, async () => {
    const regressions = process.env.CONFMESH_SEED === undefined ? REGRESSIONS : []
    await runSeeds({ base, count: SEEDS, maxPeers: 8, writersEvery: 2, regressions, label: 'simulated mesh' })
  }, 600_000)
})
