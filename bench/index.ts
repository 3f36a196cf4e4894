/**
 * Runs every comparative benchmark in order (propagation, throughput, join, footprint, scale), then prints and writes
 * the headline ratios confmesh vs etcd vs the y-websocket relay. Every option is passed to every script (see each
 * script's header); `--quick` makes the whole run take under a minute (47 s on a busy 2-core machine). `--only=join,scale` runs a subset;
 * `--summary` runs nothing and rebuilds the headline from the saved data (`bench/data/*.json`).
 *
 * Run: `npm run bench -- --quick` or `npx tsx bench/index.ts [--quick] [--systems=confmesh,etcd,relay] [--only=...]`
 *
 * @module
 */
import { runFootprint } from './footprint.js'
import { runJoin } from './join.js'
import { isMain, runMain } from './lib/cleanup.js'
import { parseCli } from './lib/cli.js'
import { machineLine, sampleMachine, warnIfBusy } from './lib/machine.js'
import { note } from './lib/progress.js'
import { readResultsData, writeResultsSection } from './lib/results.js'
import { fmt, type Summary, summarize } from './lib/stats.js'
import { printTable, renderMarkdown, type Table } from './lib/table.js'
import { runPropagation } from './propagation.js'
import { runScale } from './scale.js'
import { runThroughput } from './throughput.js'

/** A headline metric: one value per system (undefined when not measured) and whether lower is better. */
export interface Headline {
  metric: string
  confmesh?: number
  etcd?: number
  relay?: number
  lowerIsBetter: boolean
  unit: string
}

/**
 * Ratio `a / b` as text (`n/a` when either is missing), e.g. `0.42x`.
 *
 * @param a - numerator
 * @param b - denominator
 */
export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !(b > 0) || !Number.isFinite(a)) return 'n/a'
  return `${fmt(a / b)}x`
}

/**
 * Build the headline table from the headline metrics.
 *
 * @param heads - the metrics
 */
export function headlineTable(heads: Headline[]): Table {
  const num = (v: number) => (Number.isInteger(v) ? v.toLocaleString('en-US') : fmt(v))
  const cell = (v: number | undefined, unit: string) => (v === undefined ? 'n/a' : `${num(v)}${unit ? ` ${unit}` : ''}`)
  return {
    headers: ['metric', 'confmesh', 'etcd', 'relay', 'confmesh / etcd', 'confmesh / relay', 'better is'],
    rows: heads.map((h) => [
      h.metric,
      cell(h.confmesh, h.unit),
      cell(h.etcd, h.unit),
      cell(h.relay, h.unit),
      ratio(h.confmesh, h.etcd),
      ratio(h.confmesh, h.relay),
      h.lowerIsBetter ? 'lower' : 'higher',
    ]),
  }
}

const ETCD_PREF = ['etcd (3 members)', 'etcd (1 member)']
const finite = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x : undefined)

function pick<R extends { label: string }>(
  rows: R[],
  system: 'confmesh' | 'etcd' | 'relay',
  f: (r: R) => number,
): number | undefined {
  const labels = system === 'confmesh' ? ['confmesh'] : system === 'etcd' ? ETCD_PREF : ['y-websocket relay']
  for (const l of labels) {
    const r = rows.find((x) => x.label === l)
    if (r) return finite(f(r))
  }
  return undefined
}

function metric<R extends { label: string }>(
  name: string,
  unit: string,
  lowerIsBetter: boolean,
  rows: R[],
  f: (r: R) => number,
): Headline {
  return {
    metric: name,
    unit,
    lowerIsBetter,
    confmesh: pick(rows, 'confmesh', f),
    etcd: pick(rows, 'etcd', f),
    relay: pick(rows, 'relay', f),
  }
}

interface Saved<R> {
  quick: boolean
  rows: R[]
}

/**
 * The headline metrics, from the data the scripts saved (`bench/data/*.json`).
 *
 * @returns the metrics, and whether any of the data came from a quick run
 */
export function headlinesFromData(): { heads: Headline[]; quick: boolean } {
  const heads: Headline[] = []
  let quick = false
  const prop = readResultsData<Saved<{ label: string; peers: number; latency: Summary; missed: number }>>('propagation')
  if (prop) {
    quick ||= prop.quick
    const maxN = Math.max(...prop.rows.filter((r) => r.latency.count > 0).map((r) => r.peers))
    for (const n of [...new Set(prop.rows.map((r) => r.peers))].sort((a, b) => a - b)) {
      const at = prop.rows.filter((r) => r.peers === n)
      heads.push(metric(`propagation p50, ${n} peers`, 'ms', true, at, (r) => r.latency.p50))
      heads.push(metric(`propagation p99, ${n} peers`, 'ms', true, at, (r) => r.latency.p99))
      if (n === maxN || at.some((r) => r.missed > 0)) {
        heads.push(metric(`missed deliveries, ${n} peers`, '', true, at, (r) => r.missed))
      }
    }
  }
  const tp = readResultsData<Saved<{ label: string; writers: number; convergedRate: number }>>('throughput')
  if (tp) {
    quick ||= tp.quick
    for (const w of [...new Set(tp.rows.map((r) => r.writers))].sort()) {
      const at = tp.rows.filter((r) => r.writers === w)
      heads.push(metric(`converged updates/s, ${w} writer${w > 1 ? 's' : ''}`, '/s', false, at, (r) => r.convergedRate))
    }
  }
  const join =
    readResultsData<Saved<{ label: string; sizeMB: number; caughtUpS: number[]; bytesRead: number[] }>>('join')
  if (join) {
    quick ||= join.quick
    for (const mb of [...new Set(join.rows.map((r) => r.sizeMB))].sort((a, b) => a - b)) {
      const at = join.rows.filter((r) => r.sizeMB === mb)
      heads.push(metric(`join catch-up, ${mb} MB`, 's', true, at, (r) => summarize(r.caughtUpS).p50))
      heads.push(metric(`join bytes read, ${mb} MB`, 'MiB', true, at, (r) => summarize(r.bytesRead).p50 / 2 ** 20))
    }
  }
  const fp =
    readResultsData<
      Saved<{
        label: string
        role: string
        rssIdle: number
        rssLoaded: number
        idleCpuPct: number
        cpuUsPerUpdate: number
      }>
    >('footprint')
  if (fp) {
    quick ||= fp.quick
    const rows = fp.rows.filter((r) => r.role.startsWith('receiver'))
    heads.push(metric('RSS per peer, idle', 'MiB', true, rows, (r) => r.rssIdle / 2 ** 20))
    heads.push(metric('RSS per peer, with keys', 'MiB', true, rows, (r) => r.rssLoaded / 2 ** 20))
    heads.push(metric('idle CPU per peer', '% core', true, rows, (r) => r.idleCpuPct))
    heads.push(metric('CPU per applied update', 'µs', true, rows, (r) => r.cpuUsPerUpdate))
  }
  const sc = readResultsData<Saved<{ label: string; peers: number; readsPerWrite: number }>>('scale')
  if (sc) {
    quick ||= sc.quick
    const maxN = Math.max(...sc.rows.map((r) => r.peers))
    heads.push(
      metric(
        `reads per peer per write, ${maxN} peers`,
        '',
        true,
        sc.rows.filter((r) => r.peers === maxN),
        (r) => r.readsPerWrite,
      ),
    )
  }
  return { heads, quick }
}

/** Run everything (unless `--summary`) and print the headline. */
export async function runAll(argv: string[] = process.argv.slice(2)): Promise<Headline[]> {
  const cli = parseCli(argv)
  const machine = await sampleMachine()
  warnIfBusy(machine)
  if (!cli.flag('summary')) {
    const only = cli.str('only', 'propagation,throughput,join,footprint,scale').split(',')
    const steps: Array<[string, () => Promise<unknown>]> = [
      ['propagation', () => runPropagation({ argv })],
      ['throughput', () => runThroughput({ argv })],
      ['join', () => runJoin({ argv })],
      ['footprint', () => runFootprint({ argv })],
      ['scale', () => runScale({ argv })],
    ]
    for (const [name, run] of steps) {
      if (!only.includes(name)) continue
      try {
        await run()
      } catch (err) {
        note(`${name} failed: ${(err as Error).message}`)
      }
    }
  }
  const { heads, quick } = headlinesFromData()
  const table = headlineTable(heads)
  printTable('Headline: confmesh vs etcd vs y-websocket relay', table)
  writeResultsSection(
    'summary',
    [
      '## Headline: confmesh vs etcd vs y-websocket relay',
      '',
      machineLine(machine),
      '',
      `Built from the sections below (their saved data in \`bench/data/\`). "etcd" is the 3-member cluster where measured, else 1 member; "relay" is the y-websocket relay. Ratios are confmesh divided by the other; see "better is". Latency percentiles cover delivered writes only: read them with "missed deliveries".${quick ? ' **Includes quick runs (tiny sizes): indicative only.**' : ''}`,
      '',
      renderMarkdown(table),
    ].join('\n'),
  )
  return heads
}

if (isMain(import.meta.url)) {
  await runMain(async () => {
    await runAll()
  })
}
