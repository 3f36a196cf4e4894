/**
 * Crash safety through `createMesh({ dataDir })`, fast variant: a writer process SIGKILLed at seeded random moments
 * after acknowledged sets (see `test/faults/lib/crash-scenario.ts`). The 50-kill variant runs in `npm run test:faults`.
 * `CONFMESH_SEED` replays a run; `CONFMESH_KILLS` changes the number of rounds.
 */
import { describe, expect, it } from 'vitest'
import { runCrashRounds } from '../faults/lib/crash-scenario.js'
import { testSeed } from '../helpers/cluster.js'

const rounds = Number(process.env.CONFMESH_KILLS ?? 5)

describe('durability: crashes (SIGKILL) of a writer process', () => {
  it(`loses no acknowledged write over ${rounds} kills, reopens cleanly, reuses its writer id`, {
    timeout: 30_000 + rounds * 10_000,
  }, async () => {
    const seed = testSeed('durability crash')
    const report = await runCrashRounds({ rounds, seed })
    console.log(`[durability crash] seed=${seed} ${JSON.stringify(report)}`)
    expect(report.lost).toBe(0)
    expect(report.acknowledged).toBeGreaterThan(0)
    expect(report.writerIds).toBe(1)
  })
})
