/**
 * Churn, short variant: 4 peer processes, 3 writers, a random peer SIGKILLed and restarted (same data dir) every 2 s
 * for 8 s (see `test/faults/lib/churn-scenario.ts`; 8 peers for 40 s in `npm run test:faults`). `CONFMESH_SEED`
 * replays the kill schedule.
 */
import { describe, expect, it } from 'vitest'
import { runChurn } from '../faults/lib/churn-scenario.js'
import { testSeed } from '../helpers/cluster.js'

describe('durability: churn of peer processes', () => {
  it('4 peers, 3 writers, kill and restart every 2 s for 8 s: nothing acknowledged lost, no duplicates', {
    timeout: 150_000,
  }, async () => {
    const seed = testSeed('durability churn')
    const report = await runChurn({ seed, peers: 4, writers: 3, durationMs: 8_000 })
    console.log(`[durability churn] seed=${seed} ${JSON.stringify(report)}`)
    expect(report.lost).toBe(0)
    expect(report.duplicates).toBe(0)
    expect(report.unexpected).toBe(0)
    expect(report.writerIds).toBeLessThanOrEqual(report.peers) // not one more per restart
  })
})
