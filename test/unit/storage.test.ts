import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { shouldCompact } from '../../src/storage/compaction-policy.js'
import { createGroupCommit } from '../../src/storage/group-commit.js'
import { createMemoryStorage, createMemoryVolume } from '../../src/storage/memory-storage.js'
import { type CommitInfo, createSqliteStorage } from '../../src/storage/sqlite-storage.js'
import { runStorageAcceptance } from '../helpers/storage-acceptance.js'

runStorageAcceptance('memory', () => ({
  create: () => createMemoryStorage(),
  durable: false,
  teardown: async () => {},
}))

runStorageAcceptance("memory volume (a simulated peer's disk)", () => {
  const volume = createMemoryVolume()
  return { create: () => createMemoryStorage({ volume }), durable: true, teardown: async () => {} }
})

runStorageAcceptance('sqlite', () => {
  const root = mkdtempSync(join(tmpdir(), 'confmesh-storage-'))
  return {
    create: () => createSqliteStorage({ dataDir: join(root, 'data') }),
    durable: true,
    teardown: async () => rmSync(root, { recursive: true, force: true }),
  }
})

describe('group commit', () => {
  it('commits the writes of one tick in one batch, in order', async () => {
    const batches: number[][] = []
    const queue = createGroupCommit<number>({ commit: (ops) => batches.push([...ops]) })
    const first = [1, 2, 3].map((n) => queue.submit(n))
    expect(queue.pending).toBe(3)
    await Promise.all(first)
    await Promise.all([queue.submit(4), queue.submit(5)])
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ])
  })

  it('rejects the whole batch when the commit throws, and carries on', async () => {
    let fail = true
    const queue = createGroupCommit<number>({
      commit: () => {
        if (fail) throw new Error('disk on fire')
      },
    })
    const results = await Promise.allSettled([queue.submit(1), queue.submit(2)])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    fail = false
    await expect(queue.submit(3)).resolves.toBeUndefined()
  })

  it('flush() commits at once; disabled grouping commits each write alone', async () => {
    const batches: number[][] = []
    const queue = createGroupCommit<number>({ commit: (ops) => batches.push([...ops]) })
    const pending = queue.submit(1)
    queue.flush()
    expect(batches).toEqual([[1]])
    await pending
    const single: number[][] = []
    const solo = createGroupCommit<number>({ enabled: false, commit: (ops) => single.push([...ops]) })
    await Promise.all([solo.submit(1), solo.submit(2)])
    expect(single).toEqual([[1], [2]])
  })
})

describe('sqlite storage: group commit', () => {
  it('makes one transaction of concurrent appends, and one per append without grouping', async () => {
    const root = mkdtempSync(join(tmpdir(), 'confmesh-storage-'))
    try {
      for (const groupCommit of [true, false]) {
        const commits: CommitInfo[] = []
        const store = createSqliteStorage({
          dataDir: join(root, String(groupCommit)),
          groupCommit,
          onCommit: (c) => commits.push(c),
        })
        await store.open()
        await Promise.all(Array.from({ length: 50 }, (_, i) => store.append(new Uint8Array([i]))))
        expect(commits.map((c) => c.writes)).toEqual(groupCommit ? [50] : Array(50).fill(1))
        expect(commits.every((c) => c.durationMs >= 0)).toBe(true)
        expect((await store.load()).map((u) => u[0])).toEqual(Array.from({ length: 50 }, (_, i) => i))
        await store.close()
      }
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
})

describe('shouldCompact', () => {
  const stats = (updates: number, updateBytes: number, snapshotBytes: number) => ({
    bytes: 0,
    updates,
    updateBytes,
    snapshotBytes,
  })

  it('compacts when the log outweighs the snapshot, or holds too many updates', () => {
    expect(shouldCompact(stats(0, 0, 0))).toBe(false)
    expect(shouldCompact(stats(10, 1_000, 0))).toBe(false) // small log: not worth a transaction
    expect(shouldCompact(stats(3_000, 300_000, 1_000_000))).toBe(false) // log < snapshot
    expect(shouldCompact(stats(3_000, 300_000, 200_000))).toBe(true) // log > snapshot, > 256 KiB
    expect(shouldCompact(stats(5_000, 100_000, 10_000_000))).toBe(true) // too many updates to replay
  })

  it('takes its thresholds from the init', () => {
    expect(shouldCompact(stats(10, 1_000, 0), { minLogBytes: 500 })).toBe(true)
    expect(shouldCompact(stats(10, 1_000, 600), { minLogBytes: 500, logToSnapshotRatio: 2 })).toBe(false)
    expect(shouldCompact(stats(10, 1, 1_000), { maxUpdates: 10 })).toBe(true)
  })
})
