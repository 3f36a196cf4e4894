/**
 * The slow suite's share of the whole-stack random tests (`test/helpers/simulated-mesh.ts`): 1,000 seeds (or
 * `CONFMESH_SIM_SEEDS`) of 3-20 whole peers on the simulated network, half of them private meshes with a changing
 * writer set, each ending in the full comparison of every replica. A failing seed prints its replay command; once
 * fixed it joins the regression list of `test/integration/simulated-mesh.test.ts`.
 */
import { describe, it } from 'vitest'
import { seedFromEnv } from '../../src/transport/seeded-random.js'
import { runSeeds } from '../helpers/simulated-seeds.js'

const SEEDS = Number(process.env.CONFMESH_SIM_SEEDS ?? 1000)

describe('whole peers on the simulated network (slow suite)', () => {
  it(
    `${SEEDS} random seeds, 3-20 peers: every replica identical at the end`,
    async () => {
      await runSeeds({
        base: seedFromEnv(),
        count: SEEDS,
        maxPeers: 20,
        writersEvery: 2,
        label: 'simulated mesh, full',
      })
    },
    4 * 3600_000,
  )
})
