/**
 * A 3/3 partition of 6 durable peers, fast variant (see `test/faults/lib/partition-scenario.ts`); the long variant
 * runs in `npm run test:faults`. `CONFMESH_SEED` replays a run.
 */
import { describe, expect, it } from 'vitest'
import { runPartition } from '../faults/lib/partition-scenario.js'
import { testSeed } from '../helpers/cluster.js'

describe('durability: partition and heal', () => {
  it('6 peers split 3/3 write on both sides; after the heal every write is everywhere, one winner per key', async () => {
    const seed = testSeed('durability partition')
    const report = await runPartition({ seed, writeMs: 1_500 })
    console.log(`[durability partition] seed=${seed} ${JSON.stringify(report)}`)
    expect(report.writes).toBeGreaterThan(0)
  })
})
