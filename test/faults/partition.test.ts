/**
 * A 3/3 partition of 6 durable peers, long variant (`npm run test:faults`): both sides write for 15 s (see
 * `lib/partition-scenario.ts`). `CONFMESH_SEED` replays a run.
 */
import { describe, expect, it } from 'vitest'
import { testSeed } from '../helpers/cluster.js'
import { runPartition } from './lib/partition-scenario.js'

describe('faults: partition and heal', () => {
  it('6 peers split 3/3 write for 15 s on both sides; after the heal every write is everywhere, one winner per key', async () => {
    const seed = testSeed('faults partition')
    const report = await runPartition({ seed, writeMs: 15_000, hotKeys: 32 })
    console.log(`[faults partition] seed=${seed} ${JSON.stringify(report)}`)
    expect(report.writes).toBeGreaterThan(0)
  })
})
