/**
 * Replayable whole-stack random tests on the simulated network: whole confmesh peers (createMesh) with random writes,
 * deletes, batches, rollbacks, partitions, crashes and restarts from their own storage; every run ends with identical
 * JSON, state vectors and history everywhere, complete rings, nothing pending. The same seed gives the same run (trace
 * hash). `CONFMESH_SEED=<n>` replays one seed; `CONFMESH_FAULTS=full` runs many more seeds and larger meshes.
 */
import { describe, expect, it } from 'vitest'
import { seedFromEnv } from '../../src/transport/seeded-random.js'
import { randomRun } from '../helpers/simulated-mesh.js'

const FULL = process.env.CONFMESH_FAULTS === 'full'
const base = seedFromEnv()
const SEEDS = Number(process.env.CONFMESH_SIM_SEEDS ?? (FULL ? 1000 : 100))

describe('whole peers on the simulated network', () => {
  it('the same seed replays the same run, event for event', async () => {
    const first = await randomRun(base, { peers: 4, steps: 30 })
    const again = await randomRun(base, { peers: 4, steps: 30 })
    console.log(`[simulated mesh] seed ${base}: trace ${first.hash}, ${first.events} events, ${first.ops} writes`)
    expect(again.hash).toBe(first.hash)
    expect(again.json).toBe(first.json)
  })

  it(`${SEEDS} random seeds, 3-${FULL ? 20 : 8} peers: every replica identical at the end`, async () => {
    const started = Date.now()
    let ops = 0
    for (let i = 0; i < SEEDS; i++) {
      const seed = (base + i) >>> 0
      const peers = 3 + (seed % (FULL ? 18 : 6))
      try {
        const r = await randomRun(seed, { peers, steps: 40 })
        ops += r.ops
      } catch (err) {
        console.log(
          `[simulated mesh] seed ${seed} (${peers} peers) failed; replay: CONFMESH_SEED=${seed} CONFMESH_SIM_SEEDS=1`,
        )
        throw err
      }
    }
    const seconds = (Date.now() - started) / 1000
    console.log(
      `[simulated mesh] ${SEEDS} seeds from ${base} in ${seconds.toFixed(1)} s (${(SEEDS / seconds).toFixed(2)} seeds/s), ${ops} writes`,
    )
  }, 600_000)
})
