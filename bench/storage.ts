/**
 * Benchmark of local durable storage: appends/s of small (~100 B) Yjs updates with group commit, with one transaction
 * (and fsync) per append, and with the in-memory engine; commit (fsync) latency per batch; and what a restart costs
 * (open with its integrity check, load, apply) before and after compaction.
 *
 * Run: `npx tsx bench/storage.ts` (`--quick` for small counts). The store lives under `CONFMESH_BENCH_DIR` (default:
 * the OS temp dir); fsync cost depends entirely on that disk. Prints tables and replaces the `storage` section of
 * `bench/RESULTS.md` (between `<!-- storage:start -->` and `<!-- storage:end -->`), leaving other sections alone.
 *
 * @module
 */
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import * as Y from 'yjs'
import { createMemoryStorage } from '../src/storage/memory-storage.js'
import { type CommitInfo, createSqliteStorage } from '../src/storage/sqlite-storage.js'
import type { Storage } from '../src/storage/storage.js'
import { machineLine } from './lib/machine.js'
import { writeResultsSection } from './lib/results.js'
import { fmt, fmtBytes, summarize } from './lib/stats.js'
import { printTable, renderMarkdown, type Table } from './lib/table.js'

const QUICK = process.argv.includes('--quick')
const COMMAND = `npx tsx bench/storage.ts${QUICK ? ' --quick' : ''}`
const ROOT = mkdtempSync(path.join(process.env.CONFMESH_BENCH_DIR ?? os.tmpdir(), 'confmesh-bench-storage-'))

/** ~100 B Yjs updates, as a config write makes them: one Y.Map set each. */
function makeUpdates(count: number): Uint8Array[] {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  const map = doc.getMap<string>('config')
  for (let i = 0; i < count; i++) map.set(`svc-${i % 50}/feature-${i % 1000}`, `value-${i}-${'x'.repeat(30)}`)
  return updates
}

interface Run {
  engine: string
  inFlight: number
  appends: number
  seconds: number
  commits: CommitInfo[]
  latencies: number[]
}

/** `inFlight` concurrent writers, each awaiting its append before the next: a closed loop. */
async function drive(engine: string, storage: Storage, updates: Uint8Array[], inFlight: number, commits: CommitInfo[]) {
  const latencies: number[] = []
  let next = 0
  const writer = async (): Promise<void> => {
    for (let i = next++; i < updates.length; i = next++) {
      const started = performance.now()
      await storage.append(updates[i]!)
      latencies.push(performance.now() - started)
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: inFlight }, writer))
  const seconds = (performance.now() - started) / 1000
  return { engine, inFlight, appends: updates.length, seconds, commits: [...commits], latencies } satisfies Run
}

async function runEngine(engine: string, count: number, inFlight: number, updates: Uint8Array[]): Promise<Run> {
  const commits: CommitInfo[] = []
  let storage: Storage
  if (engine === 'memory') storage = createMemoryStorage()
  else {
    const dataDir = path.join(ROOT, `${engine}-${inFlight}`)
    storage = createSqliteStorage({
      dataDir,
      groupCommit: engine === 'sqlite, group commit',
      onCommit: (c) => commits.push(c),
    })
  }
  await storage.open()
  try {
    return await drive(engine, storage, updates.slice(0, count), inFlight, commits)
  } finally {
    await storage.close()
  }
}

/** The disk's own floor: write 4 KiB and fsync, `count` times. */
function rawFsync(count: number): number[] {
  const file = path.join(ROOT, 'raw-fsync')
  const fd = openSync(file, 'w')
  const block = Buffer.alloc(4096, 1)
  const times: number[] = []
  try {
    for (let i = 0; i < count; i++) {
      const started = performance.now()
      writeSync(fd, block, 0, block.length, (i % 256) * 4096)
      fsyncSync(fd)
      times.push(performance.now() - started)
    }
  } finally {
    closeSync(fd)
  }
  return times
}

interface Restart {
  label: string
  bytes: number
  blobs: number
  openMs: number
  loadMs: number
  applyMs: number
}

async function restart(label: string, dataDir: string): Promise<Restart> {
  const storage = createSqliteStorage({ dataDir })
  const t0 = performance.now()
  await storage.open()
  const t1 = performance.now()
  const blobs = await storage.load()
  const t2 = performance.now()
  const doc = new Y.Doc()
  Y.transact(doc, () => {
    for (const blob of blobs) Y.applyUpdate(doc, blob)
  })
  const t3 = performance.now()
  const { bytes } = await storage.stats()
  await storage.close()
  return { label, bytes, blobs: blobs.length, openMs: t1 - t0, loadMs: t2 - t1, applyMs: t3 - t2 }
}

async function main(): Promise<void> {
  const counts = QUICK
    ? { memory: 20_000, group: 5_000, single: 500, sequential: 500 }
    : { memory: 100_000, group: 50_000, single: 5_000, sequential: 3_000 }
  const updates = makeUpdates(Math.max(counts.memory, counts.group))
  const meanSize = updates.reduce((sum, u) => sum + u.byteLength, 0) / updates.length
  console.log(`storage bench in ${ROOT}; updates average ${meanSize.toFixed(0)} B`)

  const load = os.loadavg()[0]!
  const raw = summarize(rawFsync(QUICK ? 200 : 1000))
  const runs: Run[] = []
  for (const [engine, count, inFlight] of [
    ['memory', counts.memory, 64],
    ['sqlite, group commit', counts.group, 64],
    ['sqlite, transaction per append', counts.single, 64],
    ['memory', counts.sequential, 1],
    ['sqlite, group commit', counts.sequential, 1],
    ['sqlite, transaction per append', counts.sequential, 1],
  ] as const) {
    const run = await runEngine(engine, count, inFlight, updates)
    runs.push(run)
    console.log(`${engine} (${inFlight} in flight): ${fmt(run.appends / run.seconds)} appends/s`)
  }

  const table: Table = {
    headers: [
      'engine',
      'in flight',
      'appends',
      'appends/s',
      'commits',
      'appends/commit',
      'commit mean ms',
      'commit p50 ms',
      'commit p99 ms',
      'append p50 ms',
      'append p99 ms',
    ],
    rows: runs.map((run) => {
      const commit = summarize(run.commits.map((c) => c.durationMs))
      const latency = summarize(run.latencies)
      const durable = run.engine !== 'memory'
      return [
        run.engine,
        String(run.inFlight),
        run.appends.toLocaleString('en-US'),
        fmt(run.appends / run.seconds),
        durable ? run.commits.length.toLocaleString('en-US') : '-',
        durable ? fmt(run.appends / run.commits.length, 1) : '-',
        durable ? fmt(commit.mean, 3) : '-',
        durable ? fmt(commit.p50, 3) : '-',
        durable ? fmt(commit.p99, 3) : '-',
        fmt(latency.p50, 3),
        fmt(latency.p99, 3),
      ]
    }),
  }
  printTable('Appends of ~100 B Yjs updates', table)

  // Restart cost: the group-commit store holds `counts.group` updates; then compact it and measure again.
  const groupDir = path.join(ROOT, 'sqlite, group commit-64')
  const before = await restart(`${counts.group.toLocaleString('en-US')} updates, no snapshot`, groupDir)
  const storage = createSqliteStorage({ dataDir: groupDir })
  await storage.open()
  const doc = new Y.Doc()
  for (const blob of await storage.load()) Y.applyUpdate(doc, blob)
  const snapshot = Y.encodeStateAsUpdate(doc)
  const t0 = performance.now()
  await storage.compact(snapshot)
  const compactMs = performance.now() - t0
  await storage.close()
  const after = await restart(`after compact (snapshot ${fmtBytes(snapshot.byteLength)})`, groupDir)
  const restartTable: Table = {
    headers: ['store', 'on disk', 'blobs', 'open ms', 'load ms', 'apply ms'],
    rows: [before, after].map((r) => [
      r.label,
      fmtBytes(r.bytes),
      r.blobs.toLocaleString('en-US'),
      fmt(r.openMs, 1),
      fmt(r.loadMs, 1),
      fmt(r.applyMs, 1),
    ]),
  }
  printTable(`Restart (open includes PRAGMA quick_check); compaction itself took ${fmt(compactMs, 1)} ms`, restartTable)
  console.log(`\nraw 4 KiB write + fsync on this disk: p50 ${fmt(raw.p50, 3)} ms, p99 ${fmt(raw.p99, 3)} ms`)

  const group = runs.find((r) => r.engine === 'sqlite, group commit' && r.inFlight === 64)!
  const single = runs.find((r) => r.engine === 'sqlite, transaction per append' && r.inFlight === 64)!
  const speedup = group.appends / group.seconds / (single.appends / single.seconds)
  const markdown = [
    '## Storage: durable appends (SQLite, group commit)',
    '',
    `Command: \`${COMMAND}\``,
    '',
    `${machineLine()} Load average at start: ${load.toFixed(2)} (other work on the machine makes fsync times noisy).`,
    `Disk: the OS temp dir (\`${os.tmpdir()}\`) unless \`CONFMESH_BENCH_DIR\` is set; raw 4 KiB write + fsync there: ` +
      `p50 ${fmt(raw.p50, 3)} ms, p99 ${fmt(raw.p99, 3)} ms.${QUICK ? ' **Quick run (small counts).**' : ''}`,
    '',
    `Real Yjs updates (one \`Y.Map.set\` each, ${meanSize.toFixed(0)} B on average), appended by N concurrent writers ` +
      'that each await their append before issuing the next (closed loop). Every SQLite append resolves only after ' +
      'its transaction is fsync\'d (WAL, `synchronous=FULL`). "commit" = one transaction incl. fsync, during which ' +
      'the event loop is blocked (better-sqlite3 is synchronous); "append" = call to resolve.',
    '',
    renderMarkdown(table),
    '',
    `Group commit vs one transaction per append at 64 in flight: **${fmt(speedup, 1)}x** the appends/s, at the same ` +
      'durability. With a single writer (1 in flight) there is nothing to group and both cost one fsync per append.',
    '',
    `Restart cost (what a node pays on start-up; compaction took ${fmt(compactMs, 1)} ms):`,
    '',
    renderMarkdown(restartTable),
  ].join('\n')
  writeResultsSection('storage', markdown)
  console.log('\nwrote the storage section of bench/RESULTS.md')
}

try {
  await main()
} finally {
  rmSync(ROOT, { recursive: true, force: true })
}
