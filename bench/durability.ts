/**
 * Benchmark of durability through the public API: what `createMesh({ dataDir })` costs compared with a mesh in memory.
 *
 * - sets/s: N concurrent writers, each awaiting its `set()` before the next (closed loop). With a data dir a set
 *   resolves only once its change is fsync'd; the writes of one synchronous run share one transaction and one fsync.
 * - propagation: `set()` on one peer to the change event on another (2 peers in this process), one at a time. With a
 *   data dir the publish waits until the change is on disk (what makes reusing the writer id after a crash safe).
 * - restart: `createMesh({ dataDir })` on a store holding many writes, before and after compaction.
 *
 * Run: `npx tsx bench/durability.ts` (`--quick` for small counts). Data dirs live under `CONFMESH_BENCH_DIR` (default:
 * the OS temp dir); fsync cost depends entirely on that disk. Prints tables and replaces the `durability` section of
 * `bench/RESULTS.md` (between `<!-- durability:start -->` and `<!-- durability:end -->`), leaving other sections alone.
 *
 * @module
 */
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { createMesh, type MeshOptions } from '../src/index.js'
import { machineLine, sampleMachine, warnIfBusy } from './lib/machine.js'
import { writeResultsSection } from './lib/results.js'
import { fmt, fmtBytes, summarize } from './lib/stats.js'
import { printTable, renderMarkdown, type Table } from './lib/table.js'

const QUICK = process.argv.includes('--quick')
const COMMAND = `npx tsx bench/durability.ts${QUICK ? ' --quick' : ''}`
const ROOT = mkdtempSync(path.join(process.env.CONFMESH_BENCH_DIR ?? os.tmpdir(), 'confmesh-bench-durability-'))
const TIMING = { heartbeatMs: 250, memberTimeoutMs: 1_500, antiEntropyMs: 1_000 }
let dirs = 0
const newDir = (): string => path.join(ROOT, `mesh-${dirs++}`)

interface SetRun {
  mode: 'memory' | 'dataDir'
  inFlight: number
  sets: number
  seconds: number
  latencies: number[]
}

/** `inFlight` writers, each awaiting its set before the next; `count` sets in all. */
async function setsPerSecond(mode: SetRun['mode'], inFlight: number, count: number): Promise<SetRun> {
  const mesh = await createMesh({ timing: TIMING, ...(mode === 'dataDir' ? { dataDir: newDir() } : {}) })
  try {
    const latencies: number[] = []
    let next = 0
    const writer = async (): Promise<void> => {
      for (let i = next++; i < count; i = next++) {
        const started = performance.now()
        await mesh.set(`svc-${i % 50}.feature-${i % 1000}`, { enabled: i % 2 === 0, limit: i })
        latencies.push(performance.now() - started)
      }
    }
    const started = performance.now()
    await Promise.all(Array.from({ length: inFlight }, writer))
    return { mode, inFlight, sets: count, seconds: (performance.now() - started) / 1000, latencies }
  } finally {
    await mesh.stop()
  }
}

/** `count` sets on one peer, each awaited until another peer's watcher saw it. */
async function propagation(mode: SetRun['mode'], count: number): Promise<number[]> {
  const options = (): MeshOptions => ({ timing: TIMING, ...(mode === 'dataDir' ? { dataDir: newDir() } : {}) })
  const a = await createMesh(options())
  const b = await createMesh({ ...options(), bootstrap: [a.addresses[0]!] })
  try {
    await until(() => a.peers().length === 1 && b.peers().length === 1)
    const times: number[] = []
    for (let i = -20; i < count; i++) {
      const key = `p${i}`
      const seen = new Promise<number>((resolve) => {
        const off = b.watch(key, () => {
          off()
          resolve(performance.now())
        })
      })
      const started = performance.now()
      await a.set(key, i)
      const at = await seen
      if (i >= 0) times.push(at - started) // the first 20 warm up the gossip mesh
    }
    return times
  } finally {
    await Promise.all([a.stop(), b.stop()])
  }
}

interface Restart {
  label: string
  bytes: number
  startMs: number
  keys: number
  writerIds: number
}

async function restart(label: string, dataDir: string): Promise<Restart> {
  const started = performance.now()
  const mesh = await createMesh({ dataDir, timing: TIMING })
  const startMs = performance.now() - started
  const keys = mesh.keys().length
  const writerIds = Object.keys(mesh.diagnostics().stateVector).length
  const bytes = Number(mesh.diagnostics().counters['storage.restoredBytes'])
  await mesh.stop()
  return { label, bytes, startMs, keys, writerIds }
}

function rawFsync(count: number): number[] {
  const fd = openSync(path.join(ROOT, 'raw-fsync'), 'w')
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

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the peers to meet')
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function main(): Promise<void> {
  const machine = await sampleMachine()
  warnIfBusy(machine)
  const load = os.loadavg()[0]!
  const raw = summarize(rawFsync(QUICK ? 200 : 1000))
  const counts = QUICK
    ? { one: 300, many: 3_000, propagation: 100, restart: 3_000 }
    : { one: 2_000, many: 20_000, propagation: 300, restart: 20_000 }

  const runs: SetRun[] = []
  for (const [mode, inFlight, count] of [
    ['memory', 1, counts.one],
    ['dataDir', 1, counts.one],
    ['memory', 16, counts.many],
    ['dataDir', 16, counts.many],
    ['memory', 256, counts.many],
    ['dataDir', 256, counts.many],
  ] as const) {
    const run = await setsPerSecond(mode, inFlight, count)
    runs.push(run)
    console.log(`${mode}, ${inFlight} in flight: ${fmt(run.sets / run.seconds)} sets/s`)
  }
  const setsTable: Table = {
    headers: ['mode', 'in flight', 'sets', 'sets/s', 'set p50 ms', 'set p99 ms'],
    rows: runs.map((r) => {
      const s = summarize(r.latencies)
      return [
        r.mode === 'memory' ? 'memory (no dataDir)' : 'dataDir (durable)',
        String(r.inFlight),
        r.sets.toLocaleString('en-US'),
        fmt(r.sets / r.seconds),
        fmt(s.p50, 3),
        fmt(s.p99, 3),
      ]
    }),
  }
  printTable('sets/s through createMesh', setsTable)

  const prop: Array<[string, number[]]> = []
  for (const mode of ['memory', 'dataDir', 'memory', 'dataDir'] as const) {
    prop.push([mode, await propagation(mode, counts.propagation)])
    console.log(`propagation ${mode}: p50 ${fmt(summarize(prop.at(-1)![1]).p50, 3)} ms`)
  }
  const merged = (mode: string) => prop.filter(([m]) => m === mode).flatMap(([, t]) => t)
  const propTable: Table = {
    headers: ['mode', 'samples', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
    rows: ['memory', 'dataDir'].map((mode) => {
      const s = summarize(merged(mode))
      const label = mode === 'memory' ? 'memory (no dataDir)' : 'dataDir (publish after fsync)'
      return [label, String(s.count), fmt(s.p50, 3), fmt(s.p95, 3), fmt(s.p99, 3), fmt(s.max, 3)]
    }),
  }
  printTable('set() on peer A -> change event on peer B (2 peers, loopback)', propTable)

  // Restart: a store with `counts.restart` writes in its log (compaction threshold not reached: 5,000 updates or
  // 256 KiB and the snapshot's size), then the same store after stop() compacted it.
  const dataDir = newDir()
  const writer = await createMesh({ dataDir, timing: TIMING })
  for (let i = 0; i < counts.restart; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => writer.set(`k${(i + j) % 5_000}`, { v: i + j })))
  }
  await writer.stop() // compacts if due
  const restarts: Restart[] = [await restart(`${counts.restart.toLocaleString('en-US')} sets`, dataDir)]
  const restartTable: Table = {
    headers: ['store', 'restored bytes', 'createMesh ms', 'keys', 'writer ids'],
    rows: restarts.map((r) => [r.label, fmtBytes(r.bytes), fmt(r.startMs, 1), String(r.keys), String(r.writerIds)]),
  }
  printTable('Restart from the data dir', restartTable)

  const rate = (mode: string, inFlight: number) => {
    const r = runs.find((x) => x.mode === mode && x.inFlight === inFlight)!
    return r.sets / r.seconds
  }
  const markdown = [
    '## Durability: createMesh({ dataDir }) vs memory',
    '',
    `Command: \`${COMMAND}\``,
    '',
    `${machineLine(machine)} Load average at start: ${load.toFixed(2)}.`,
    `Disk: the OS temp dir (\`${os.tmpdir()}\`) unless \`CONFMESH_BENCH_DIR\` is set; raw 4 KiB write + fsync there: ` +
      `p50 ${fmt(raw.p50, 3)} ms, p99 ${fmt(raw.p99, 3)} ms.${QUICK ? ' **Quick run (small counts).**' : ''}`,
    '',
    'sets/s: N writers in one process, each awaiting its `set()` before the next. With a data dir a set resolves ' +
      "once its change is fsync'd; the sets of one synchronous run are one transaction, one Yjs update, one fsync.",
    '',
    renderMarkdown(setsTable),
    '',
    `One writer: ${fmt(rate('dataDir', 1))} durable sets/s vs ${fmt(rate('memory', 1))} in memory (one fsync each). ` +
      `256 writers: ${fmt(rate('dataDir', 256))} vs ${fmt(rate('memory', 256))}: concurrent writes share fsyncs.`,
    '',
    'Propagation: `set()` on A to the change event on B, one at a time, both peers in this process. With a data dir ' +
      'the gossip publish waits until the change is durable (nothing leaves a peer before it is on disk).',
    '',
    renderMarkdown(propTable),
    '',
    'Restart: `createMesh({ dataDir })` until it resolves (open with integrity check, load, apply, libp2p start).',
    '',
    renderMarkdown(restartTable),
  ].join('\n')
  writeResultsSection('durability', markdown)
  console.log(`\nwrote the durability section of bench/RESULTS.md`)
}

main()
  .catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
  .finally(() => rmSync(ROOT, { recursive: true, force: true }))
