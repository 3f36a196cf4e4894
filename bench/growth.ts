/**
 * Question: does history keep the document bounded under churn, and does it slow ordinary writes down?
 *
 * Growth: 100 keys overwritten `--writes` times (default 20,000; values `{ i, pad: 20 x 'x' }`), one writer, on plain
 * Y.Docs in this process. documentBytes = `Y.encodeStateAsUpdate(doc).length`, compared with the live data (the JSON of
 * the whole config), with the retained history (the JSON of every retained entry's author, time and
 * `[namespace, key, value]` changes) and with a plain `Y.Map` doing the same writes (`gc: false`, which snapshots
 * need, and `gc: true`). Also 3 replicas taking turns (every write synced to the others at once).
 *
 * Throughput: a 10,000-set burst (`--sets`), each set its own change set: the store alone with and without its history
 * hook (no network), one mesh (no peers; `await set()` one after another) with `retention: { versions: 0 }` (history
 * off: the code path before versions existed) and with the default retention, and 3 real peers on 127.0.0.1 (writer
 * rate, and the rate until both other peers hold the last value). Best of `--rounds` (default 3).
 *
 * Writes the `growth` section of bench/RESULTS.md.
 *
 * Run: `npx tsx bench/growth.ts [--quick] [--writes=20000] [--sets=10000] [--rounds=3]`
 *
 * @module
 */
import * as Y from 'yjs'
import { createKvStore, type KvStore } from '../src/config/kv-store.js'
import type { JsonValue } from '../src/config/value.js'
import { createHybridLogicalClock } from '../src/doc/hlc.js'
import { type ConfigMesh, createMesh, type RetentionOptions } from '../src/index.js'
import { createVersions, type Versions } from '../src/versions/versions.js'
import { isMain, runMain } from './lib/cleanup.js'
import { parseCli } from './lib/cli.js'
import { machineLine, sampleMachine } from './lib/machine.js'
import { progress, progressDone } from './lib/progress.js'
import { writeResultsSection } from './lib/results.js'
import { fmt, fmtBytes } from './lib/stats.js'
import { printTable, renderMarkdown, type Table } from './lib/table.js'

const KEYS = 100
const value = (i: number): JsonValue => ({ i, pad: 'x'.repeat(20) })

/** One measured growth configuration. */
export interface GrowthRow {
  label: string
  /** documentBytes after 25 %, 50 % and 100 % of the writes. */
  bytes: [number, number, number]
  liveBytes: number
  versions: number
  historyBytes: number
}

/** One measured throughput configuration. */
export interface RateRow {
  label: string
  /** sets / wall-clock seconds of the burst */
  setsPerS: number
  /** sets / CPU seconds this process used during the burst (robust when other work shares the machine) */
  setsPerCpuS: number
  /** sets / seconds until the other peers held the last value */
  convergedPerS?: number
}

/** Wall and CPU time of `f`. */
async function timed(f: () => unknown): Promise<{ wallS: number; cpuS: number }> {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  await f()
  const c = process.cpuUsage(c0)
  return { wallS: (performance.now() - t0) / 1000, cpuS: (c.user + c.system) / 1e6 }
}

interface Replica {
  doc: Y.Doc
  store: KvStore
  versions: Versions | undefined
}

function replica(author: string, retention: RetentionOptions | undefined): Replica {
  const doc = new Y.Doc({ gc: true })
  const clock = createHybridLogicalClock()
  const versions = retention === undefined ? undefined : createVersions({ doc, author, clock, retention })
  const store = createKvStore({
    doc,
    author,
    clock,
    ...(versions === undefined ? {} : { onLocalWrite: versions.onLocalWrite }),
  })
  return { doc, store, versions }
}

const liveJson = (store: KvStore) =>
  JSON.stringify(Object.fromEntries(store.namespaces().map((n) => [n, Object.fromEntries(store.entries(n))])))

/** JSON size of what the retained history holds: per entry author, time, message and the values written. */
function historyJsonBytes(versions: Versions | undefined): number {
  if (versions === undefined) return 0
  const h = versions.history().map((e) => ({
    author: e.author,
    time: e.time,
    message: e.message,
    changes: e.changes.map((c) => [c.namespace, c.key, c.after ?? null]),
  }))
  return JSON.stringify(h).length
}

const checkpoints = (writes: number) => [Math.floor(writes / 4), Math.floor(writes / 2), writes]

function growStore(label: string, writes: number, retention: RetentionOptions | undefined, writers = 1): GrowthRow {
  const rs = Array.from({ length: writers }, (_, i) => replica(`12D3KooWGrowthBenchPeer${i}`, retention))
  const bytes: number[] = []
  const marks = checkpoints(writes)
  for (let i = 1; i <= writes; i++) {
    const w = rs[i % writers]!
    const before = Y.encodeStateVector(w.doc)
    w.store.write([{ namespace: 'default', key: `key-${i % KEYS}`, value: value(i) }])
    if (writers > 1) {
      const update = Y.encodeStateAsUpdate(w.doc, before)
      for (const r of rs) if (r !== w) Y.applyUpdate(r.doc, update, 'remote')
      // the others' garbage collection (deleting losers) travels back
      for (const r of rs) {
        if (r === w) continue
        const back = Y.encodeStateAsUpdate(r.doc, Y.encodeStateVector(w.doc))
        for (const o of rs) if (o !== r) Y.applyUpdate(o.doc, back, 'remote')
      }
    }
    if (marks.includes(i)) bytes.push(Y.encodeStateAsUpdate(rs[0]!.doc).length)
  }
  const r = rs[0]!
  return {
    label,
    bytes: bytes as [number, number, number],
    liveBytes: liveJson(r.store).length,
    versions: r.versions?.retained() ?? 0,
    historyBytes: historyJsonBytes(r.versions),
  }
}

function growYMap(label: string, writes: number, gc: boolean): GrowthRow {
  const doc = new Y.Doc({ gc })
  const map = doc.getMap<JsonValue>('config')
  const bytes: number[] = []
  const marks = checkpoints(writes)
  for (let i = 1; i <= writes; i++) {
    map.set(`key-${i % KEYS}`, value(i))
    if (marks.includes(i)) bytes.push(Y.encodeStateAsUpdate(doc).length)
  }
  return {
    label,
    bytes: bytes as [number, number, number],
    liveBytes: JSON.stringify({ default: map.toJSON() }).length,
    versions: 0,
    historyBytes: 0,
  }
}

async function storeRate(sets: number, history: boolean): Promise<RateRow> {
  const r = replica('12D3KooWGrowthBenchPeer0', history ? {} : undefined)
  for (let i = 0; i < 2_000; i++) r.store.write([{ namespace: 'default', key: `warm-${i % KEYS}`, value: value(i) }])
  const t = await timed(() => {
    for (let i = 0; i < sets; i++) r.store.write([{ namespace: 'default', key: `key-${i % KEYS}`, value: value(i) }])
  })
  return { label: '', setsPerS: sets / t.wallS, setsPerCpuS: sets / t.cpuS }
}

async function meshRate(sets: number, retention: RetentionOptions): Promise<RateRow> {
  const m = await createMesh({ retention })
  try {
    for (let i = 0; i < 2_000; i++) await m.set(`warm-${i % KEYS}`, value(i))
    const t = await timed(async () => {
      for (let i = 0; i < sets; i++) await m.set(`key-${i % KEYS}`, value(i))
    })
    return { label: '', setsPerS: sets / t.wallS, setsPerCpuS: sets / t.cpuS }
  } finally {
    await m.stop()
  }
}

const TIMING = { heartbeatMs: 250, memberTimeoutMs: 1_500, antiEntropyMs: 1_000 }

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 2))
  }
}

async function clusterRate(sets: number, retention: RetentionOptions, round: number): Promise<RateRow> {
  const a = await createMesh({ retention, timing: TIMING })
  const rest: ConfigMesh[] = []
  try {
    for (let i = 0; i < 2; i++) rest.push(await createMesh({ retention, timing: TIMING, bootstrap: [a.addresses[0]!] }))
    const all = [a, ...rest]
    await until(() => all.every((m) => m.peers().length === 2), 20_000, 'membership')
    await a.set('warm', 1)
    await until(() => rest.every((m) => m.get('warm') === 1), 20_000, 'warm-up')
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    for (let i = 0; i < sets; i++) await a.set(`key-${i % KEYS}`, { ...(value(i) as object), round })
    const tw = performance.now()
    const last = `key-${(sets - 1) % KEYS}`
    await until(
      () => rest.every((m) => (m.get(last) as { i?: number } | undefined)?.i === sets - 1),
      60_000,
      'convergence',
    )
    const tc = performance.now()
    const c = process.cpuUsage(c0)
    return {
      label: '',
      setsPerS: sets / ((tw - t0) / 1000),
      setsPerCpuS: sets / ((c.user + c.system) / 1e6),
      convergedPerS: sets / ((tc - t0) / 1000),
    }
  } finally {
    await Promise.all([a, ...rest].map((m) => m.stop()))
  }
}

const best = <T>(xs: T[], by: (x: T) => number): T => xs.reduce((b, x) => (by(x) > by(b) ? x : b))

/** Runs the benchmark, prints its tables and (unless `write` is false) writes RESULTS.md. */
export async function runGrowth(options: { argv?: string[]; write?: boolean } = {}): Promise<void> {
  const cli = parseCli(options.argv)
  const writes = cli.num('writes', 20_000, 4_000)
  const sets = cli.num('sets', 10_000, 2_000)
  const rounds = cli.num('rounds', 3, 1)
  const machine = await sampleMachine()

  const growth: GrowthRow[] = []
  progress('growth: Y.Map')
  growth.push(growYMap('plain Y.Map, gc: false', writes, false))
  growth.push(growYMap('plain Y.Map, gc: true', writes, true))
  progress('growth: store without history')
  growth.push(growStore('LWW store, history off', writes, undefined))
  for (const v of [100, 1000, 10_000]) {
    progress(`growth: store with history, ${v} versions`)
    growth.push(
      growStore(`LWW store + history, versions: ${v}${v === 1000 ? ' (default)' : ''}`, writes, { versions: v }),
    )
  }
  progress('growth: 3 writers taking turns')
  growth.push(growStore('LWW store, history off, 3 writers', writes, undefined, 3))
  growth.push(growStore('LWW store + history (default), 3 writers', writes, {}, 3))

  // Each round measures history off and on back to back, so both see the same machine load; best of the rounds.
  const runs: Array<[string, () => Promise<RateRow>]> = [
    ['LWW store, history off (no network)', () => storeRate(sets, false)],
    ['LWW store + history (no network)', () => storeRate(sets, true)],
    ['one mesh, versions: 0 (history off)', () => meshRate(sets, { versions: 0 })],
    ['one mesh, default retention', () => meshRate(sets, {})],
    ['3 peers, versions: 0 (history off)', () => clusterRate(sets, { versions: 0 }, 0)],
    ['3 peers, default retention', () => clusterRate(sets, {}, 1)],
  ]
  const measured = new Map<string, RateRow[]>(runs.map(([label]) => [label, []]))
  for (let r = 0; r < rounds; r++) {
    for (const [label, run] of runs) {
      progress(`throughput round ${r + 1}/${rounds}: ${label}`)
      measured.get(label)!.push({ ...(await run()), label })
    }
  }
  const rates = runs.map(([label]) => best(measured.get(label)!, (x) => x.setsPerCpuS))
  progressDone()

  const ymapFalse = growth[0]!.bytes[2]
  const growthTable: Table = {
    headers: [
      'configuration',
      `bytes @${checkpoints(writes)[0]}`,
      `bytes @${checkpoints(writes)[1]}`,
      `bytes @${writes}`,
      'live data',
      'versions',
      'history data',
      'bytes / (live + history)',
      'vs Y.Map gc:false',
    ],
    rows: growth.map((g) => [
      g.label,
      fmtBytes(g.bytes[0]),
      fmtBytes(g.bytes[1]),
      fmtBytes(g.bytes[2]),
      fmtBytes(g.liveBytes),
      String(g.versions),
      fmtBytes(g.historyBytes),
      `${fmt(g.bytes[2] / (g.liveBytes + g.historyBytes))}x`,
      `${fmt((100 * g.bytes[2]) / ymapFalse, 1)} %`,
    ]),
  }
  const rateTable: Table = {
    headers: ['configuration', 'sets / CPU-second', 'sets/s (wall)', 'converged sets/s (wall)'],
    rows: rates.map((r) => [
      r.label,
      fmt(r.setsPerCpuS),
      fmt(r.setsPerS),
      r.convergedPerS === undefined ? '' : fmt(r.convergedPerS),
    ]),
  }
  printTable(`Growth: ${KEYS} keys overwritten ${writes} times`, growthTable)
  printTable(`Throughput: ${sets}-set burst, each set its own change set (best of ${rounds})`, rateTable)
  if (options.write === false) return
  writeResultsSection(
    'growth',
    [
      '## Growth and write cost of history (versions)',
      '',
      machineLine(machine),
      '',
      `Command: \`npx tsx bench/growth.ts${cli.quick ? ' --quick' : ''}\`. ${KEYS} keys overwritten ${writes} times by one writer (values \`{ i, pad: 20 x 'x' }\`), plain Y.Docs in one process; bytes = \`Y.encodeStateAsUpdate(doc).length\`. Live data = JSON of the whole config; history data = JSON of the retained entries' author, time and \`[namespace, key, value]\` changes. "3 writers" = three replicas taking turns, every write synced at once. Retention prunes once the count exceeds the limit by 25 % (so up to 1.25x versions are held).${cli.quick ? ' **Quick run (smaller sizes).**' : ''}`,
      '',
      renderMarkdown(growthTable),
      '',
      findings(growth, writes),
      '',
      `Write throughput: ${sets} sets in a burst, each set awaited (its own change set and history entry), best of ${rounds} rounds (each round runs every row back to back, so history off and on see the same load). "sets / CPU-second" = sets / CPU time of this process during the burst (all 3 peers run in this process): the fairer figure on a busy machine. "History off" is \`retention: { versions: 0 }\` (no record is written: the write path before versions). 3 peers: libp2p on 127.0.0.1, one writer; "converged" = until both other peers hold the last value.`,
      '',
      renderMarkdown(rateTable),
    ].join('\n'),
  )
}

/** One paragraph reading the growth table. */
function findings(growth: GrowthRow[], writes: number): string {
  const row = (label: string) => growth.find((g) => g.label.startsWith(label))!
  const slope = (g: GrowthRow) => (g.bytes[2] - g.bytes[1]) / (writes - Math.floor(writes / 2))
  const def = row('LWW store + history, versions: 1000')
  const off3 = row('LWW store, history off, 3 writers')
  const on3 = row('LWW store + history (default), 3 writers')
  return [
    `One writer: with history the document stops growing once the retention is full (flat from ${fmt(writes / 4)} to`,
    `${fmt(writes)} writes at 100 and 1000 versions; 10,000 versions fill only after 12,500 writes); at the default`,
    `retention it is ${fmt(def.bytes[2] / (def.liveBytes + def.historyBytes))}x live data +`,
    `retained history, ${fmt((100 * def.bytes[2]) / growth[0]!.bytes[2], 1)} % of a \`gc: false\` Y.Map.`,
    `Three writers taking turns: the document grows by ${fmt(slope(off3), 1)} B per write without history and`,
    `${fmt(slope(on3), 1)} B per write with it. That growth is the key-value store's, not history's: Yjs keeps a deleted`,
    'item per write when writers alternate (deleted items of different clients never merge in the list).',
  ].join(' ')
}

if (isMain(import.meta.url)) {
  await runMain(async () => {
    await runGrowth()
  })
}
