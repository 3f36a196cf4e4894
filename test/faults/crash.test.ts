/**
 * Crash safety through `createMesh({ dataDir })`, slow variant (`npm run test:faults`): 50 SIGKILLs of a writer
 * process at seeded random moments after acknowledged sets (see `lib/crash-scenario.ts`). `CONFMESH_SEED` replays a
 * run; `CONFMESH_KILLS` changes the number of rounds.
 */
import { describe, expect, it } from 'vitest'
import { testSeed } from '../helpers/cluster.js'
import { runCrashRounds } from './lib/crash-scenario.js'

const rounds = Number(process.env.CONFMESH_KILLS ?? 50)

describe('faults: crashes (SIGKILL) of a writer process', () => {
  it(`loses no acknowledged write over ${rounds} kills, reopens cleanly, reuses its writer id`, {
    timeout: 60_000 + rounds * 10_000,
  }, async () => {
    const seed = testSeed('faults crash')
    const report = await runCrashRounds({ rounds, seed, maxRunMs: 1_000 })
    console.log(`[faults crash] seed=${seed} ${JSON.stringify(report)}`)
    expect(report.lost).toBe(0)
    expect(report.acknowledged).toBeGreaterThan(0)
    expect(report.writerIds).toBe(1)
  })
})
