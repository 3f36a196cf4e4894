/**
 * Churn, full variant (`npm run test:faults`): 8 peer processes, 3 writers, a random peer SIGKILLed and restarted
 * (same data dir) every 2 s for 40 s, checked like Jepsen's set-full (see `lib/churn-scenario.ts`). `CONFMESH_SEED`
 * replays the kill schedule.
 */
import { describe, expect, it } from 'vitest'
import { testSeed } from '../helpers/cluster.js'
import { runChurn } from './lib/churn-scenario.js'

describe('faults: churn of peer processes', () => {
  it('8 peers, 3 writers, kill and restart every 2 s for 40 s: nothing acknowledged lost, no duplicates', {
    timeout: 900_000,
  }, async () => {
    const seed = testSeed('faults churn')
    const report = await runChurn({ seed, peers: 8, writers: 3, durationMs: 40_000, writePauseMs: 50 })
    console.log(`[faults churn] seed=${seed} ${JSON.stringify(report)}`)
    expect(report.lost).toBe(0)
    expect(report.duplicates).toBe(0)
    expect(report.unexpected).toBe(0)
    expect(report.writerIds).toBeLessThanOrEqual(report.peers) // not one more per restart
  })
})
