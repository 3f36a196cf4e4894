/**
 * Crash safety of the SQLite engine: a child process appends numbered Yjs updates (compacting now and then) and prints
 * each number once its append resolved; we SIGKILL it at a seeded random moment, and check that every acknowledged
 * number survived, and that what survived is a gap-free prefix (writes are committed in order). The same data dir goes
 * through every round, so the store also recovers from a crash on top of a crash.
 *
 * `CONFMESH_KILLS` sets the number of rounds (default 10; the slow fault suite uses 50). `CONFMESH_SEED` replays a run.
 */

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createSqliteStorage } from '../../src/storage/sqlite-storage.js'
import { docFrom } from '../helpers/storage-acceptance.js'
import { seededRandom, spawnStorageChild } from '../helpers/storage-child.js'

const kills = Number(process.env.CONFMESH_KILLS ?? 10)
const seed = Number(process.env.CONFMESH_SEED ?? Math.floor(Math.random() * 2 ** 31))
/** Most acknowledged appends to wait for before a kill. */
const MAX_ACKS_BEFORE_KILL = 1500

describe('sqlite storage: crash safety', () => {
  const root = mkdtempSync(join(tmpdir(), 'confmesh-crash-'))
  afterAll(() => rmSync(root, { recursive: true, force: true }))

  it(`keeps every acknowledged append across ${kills} SIGKILLs (seed ${seed})`, {
    timeout: 30_000 + kills * 10_000,
  }, async () => {
    console.log(`storage crash test: CONFMESH_SEED=${seed} CONFMESH_KILLS=${kills}`)
    const random = seededRandom(seed)
    const dataDir = join(root, 'data')
    let acknowledged = -1 // highest number acknowledged in any round so far
    let verifiedInProcess = 0

    for (let round = 0; round < kills; round++) {
      const context = `seed ${seed}, round ${round}`
      const child = spawnStorageChild(['writer', dataDir, String(Math.floor(random() * 2 ** 31))])
      try {
        const ready = await child.waitForLine((line) => line.startsWith('ready '))
        const next = Number(ready.split(' ')[1])
        // The child rebuilt its doc from the store: everything acknowledged before is there.
        expect(next, context).toBeGreaterThan(acknowledged)
        const target = Math.floor(random() * MAX_ACKS_BEFORE_KILL)
        if (target > 0) await child.waitForLine((line) => line === `ack ${next + target - 1}`)
      } finally {
        child.process.kill('SIGKILL')
      }
      expect(await child.exited, `${context}: ${child.stderr()}`).toBe('SIGKILL')
      for (const line of child.lines) {
        if (line.startsWith('ack ')) acknowledged = Math.max(acknowledged, Number(line.slice(4)))
      }

      // Every other round (seeded), check in this process; otherwise the next child recovers the crashed store.
      if (random() < 0.5 || round === kills - 1) {
        verifiedInProcess++
        const store = createSqliteStorage({ dataDir })
        await store.open()
        try {
          const numbers = docFrom(await store.load()).getMap<number>('n')
          for (let i = 0; i <= acknowledged; i++) {
            if (numbers.get(String(i)) !== i) expect.fail(`${context}: acknowledged append ${i} is missing`)
          }
          // A gap-free prefix: nothing after a missing number. (Y.Map#size is O(n): read it once.)
          const stored = numbers.size
          for (let i = 0; i < stored; i++) {
            if (numbers.get(String(i)) !== i) expect.fail(`${context}: ${stored} numbers stored but ${i} missing`)
          }
        } finally {
          await store.close()
        }
      }
    }
    expect(acknowledged).toBeGreaterThan(0)
    expect(verifiedInProcess).toBeGreaterThan(0)
  })
})
