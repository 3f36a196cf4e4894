/**
 * Runs every comparative benchmark in order (propagation, throughput, join, footprint, scale), then prints and writes
 * the headline ratios confmesh vs etcd vs the y-websocket relay. Every option is passed to every script (see each
 * script's header); `--quick` makes the whole run take well under a minute of measuring. `--only=join,scale` runs a
 * subset.
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
import { writeResultsSection } from './lib/results.js'
import { fmt, summarize } from './lib/stats.js'
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
  return {
    headers: ['metric', 'confmesh', 'etcd', 'relay', 'confmesh / etcd', 'confmesh / relay', 'better is'],
    rows: heads.map((h) => [
      h.metric,
      h.confmesh === undefined ? 'n/a' : `${fmt(h.confmesh)} ${h.unit}`,
      h.etcd === undefined ? 'n/a' : `${fmt(h.etcd)} ${h.unit}`,
      h.relay === undefined ? 'n/a' : `${fmt(h.relay)} ${h.unit}`,
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

/** Run everything and print the headline. */
export async function runAll(argv: string[] = process.argv.slice(2)): Promise<Headline[]> {
  const cli = parseCli(argv)
  const machine = await sampleMachine()
  warnIfBusy(machine)
  const only = cli.str('only', 'propagation,throughput,join,footprint,scale').split(',')
  const heads: Headline[] = []
  const step = async (name: string, fn: () => Promise<void>) => {
    if (!only.includes(name)) return
    try {
      await fn()
    } catch (err) {
      note(`${name} failed: ${(err as Error).message}`)
    }
  }
  await step('propagation', async () => {
    const rows = await runPropagation({ argv })
    const maxN = Math.max(...rows.filter((r) => r.latencies.length > 0).map((r) => r.peers))
    const at = rows.filter((r) => r.peers === maxN)
    heads.push({
      metric: `propagation p99, ${maxN} peers`,
      unit: 'ms',
      lowerIsBetter: true,
      confmesh: pick(at, 'confmesh', (r) => summarize(r.latencies).p99),
      etcd: pick(at, 'etcd', (r) => summarize(r.latencies).p99),
      relay: pick(at, 'relay', (r) => summarize(r.latencies).p99),
    })
    heads.push({
      metric: `propagation p50, ${maxN} peers`,
      unit: 'ms',
      lowerIsBetter: true,
      confmesh: pick(at, 'confmesh', (r) => summarize(r.latencies).p50),
      etcd: pick(at, 'etcd', (r) => summarize(r.latencies).p50),
      relay: pick(at, 'relay', (r) => summarize(r.latencies).p50),
    })
  })
  await step('throughput', async () => {
    const rows = await runThroughput({ argv })
    for (const w of [1, 3]) {
      const at = rows.filter((r) => r.writers === w)
      if (at.length === 0) continue
      heads.push({
        metric: `converged updates/s, ${w} writer${w > 1 ? 's' : ''}`,
        unit: '/s',
        lowerIsBetter: false,
        confmesh: pick(at, 'confmesh', (r) => r.convergedRate),
        etcd: pick(at, 'etcd', (r) => r.convergedRate),
        relay: pick(at, 'relay', (r) => r.convergedRate),
      })
    }
  })
  await step('join', async () => {
    const rows = await runJoin({ argv })
    const maxMB = Math.max(...rows.map((r) => r.sizeMB))
    const at = rows.filter((r) => r.sizeMB === maxMB)
    heads.push({
      metric: `join catch-up, ${maxMB} MB`,
      unit: 's',
      lowerIsBetter: true,
      confmesh: pick(at, 'confmesh', (r) => summarize(r.caughtUpS).p50),
      etcd: pick(at, 'etcd', (r) => summarize(r.caughtUpS).p50),
      relay: pick(at, 'relay', (r) => summarize(r.caughtUpS).p50),
    })
  })
  await step('footprint', async () => {
    const rows = (await runFootprint({ argv })).filter((r) => r.role.startsWith('receiver'))
    heads.push({
      metric: 'RSS per peer with keys (receiver)',
      unit: 'MiB',
      lowerIsBetter: true,
      confmesh: pick(rows, 'confmesh', (r) => r.rssLoaded / 2 ** 20),
      etcd: pick(rows, 'etcd', (r) => r.rssLoaded / 2 ** 20),
      relay: pick(rows, 'relay', (r) => r.rssLoaded / 2 ** 20),
    })
    heads.push({
      metric: 'CPU per applied update (receiver)',
      unit: 'µs',
      lowerIsBetter: true,
      confmesh: pick(rows, 'confmesh', (r) => r.cpuUsPerUpdate),
      etcd: pick(rows, 'etcd', (r) => r.cpuUsPerUpdate),
      relay: pick(rows, 'relay', (r) => r.cpuUsPerUpdate),
    })
  })
  await step('scale', async () => {
    const rows = await runScale({ argv })
    const maxN = Math.max(...rows.map((r) => r.peers))
    const at = rows.filter((r) => r.peers === maxN)
    heads.push({
      metric: `reads per peer per write, ${maxN} peers`,
      unit: '',
      lowerIsBetter: true,
      confmesh: pick(at, 'confmesh', (r) => r.readsPerWrite),
      etcd: pick(at, 'etcd', (r) => r.readsPerWrite),
      relay: pick(at, 'relay', (r) => r.readsPerWrite),
    })
  })
  const table = headlineTable(heads)
  printTable('Headline: confmesh vs etcd vs y-websocket relay', table)
  writeResultsSection(
    'summary',
    [
      '## Headline: confmesh vs etcd vs y-websocket relay',
      '',
      machineLine(machine),
      '',
      `From the sections below, one run of \`bench/index.ts${cli.quick ? ' --quick' : ''}\`. "etcd" is the 3-member cluster where measured, else 1 member. Ratios are confmesh divided by the other; see "better is".${cli.quick ? ' **Quick run (tiny sizes): indicative only.**' : ''}`,
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
