/**
 * Question: after a write on one node, how long until every other node's watcher sees it?
 *
 * For each system and peer count (default 3, 10, 30): start the peers (one OS process each; plus confmesh with all
 * peers in one process), warm up, then do `--writes` closed-loop writes with a rotating writer, at most one in flight,
 * at least `--interval` ms apart. Latency = watcher callback time - writer's call time, both on CLOCK_MONOTONIC.
 * Writes a `propagation` section to bench/RESULTS.md and bench/propagation.svg.
 *
 * Run: `npx tsx bench/propagation.ts [--quick] [--systems=confmesh,etcd,relay] [--peers=3,10,30] [--writes=200]
 *       [--interval=20] [--inproc=30] [--delivery-timeout=5000] [--stagger=0]`
 *
 * @module
 */
import path from 'node:path'
import { writeLineChart } from './lib/chart.js'
import { isMain, runMain } from './lib/cleanup.js'
import { parseCli } from './lib/cli.js'
import { machineLine, sampleMachine, warnIfBusy } from './lib/machine.js'
import { note, progress, progressDone } from './lib/progress.js'
import { resultsPath, writeResultsData, writeResultsSection } from './lib/results.js'
import { fmt, summarize } from './lib/stats.js'
import { printTable, renderMarkdown, type Table } from './lib/table.js'
import { measurePropagation, warmUp } from './runs/propagate.js'
import { standardVariants, unavailable, type Variant, withVariant } from './runs/systems.js'

/** One measured configuration. */
export interface PropagationRow {
  label: string
  peers: number
  writes: number
  latencies: number[]
  allSeen: number[]
  missed: number
  /** Most peers lost at once (missed 3 writes in a row). */
  lostPeers: number
  /** Whether every warm-up write reached every peer. */
  warm: boolean
  startS: number
}

/** Options of {@link runPropagation}. */
export interface PropagationBenchOptions {
  argv?: string[]
  /** Write RESULTS.md and the chart (default true). */
  write?: boolean
}

/**
 * Run the propagation benchmark and print its table.
 *
 * @param options - argv to parse (default process.argv) and whether to write results
 * @returns the rows measured
 */
export async function runPropagation(options: PropagationBenchOptions = {}): Promise<PropagationRow[]> {
  const cli = parseCli(options.argv)
  const staggerMs = cli.num('stagger', 0)
  const machine = await sampleMachine()
  warnIfBusy(machine)
  const peerCounts = cli.nums('peers', [3, 10, 30], [3])
  const inproc = cli.num('inproc', 30, 3)
  const writes = cli.num('writes', 200, 10)
  const intervalMs = cli.num('interval', 20, 10)
  const deliveryTimeoutMs = cli.num('delivery-timeout', 5000, 3000)
  const maxRunMs = cli.num('max-row-ms', 180_000, 30_000)
  const rows: PropagationRow[] = []
  const variants: Array<{ v: Variant; n: number }> = []
  for (const v of standardVariants(cli.systems, { quick: cli.quick }))
    for (const n of peerCounts) variants.push({ v, n })
  if (cli.systems.includes('confmesh') && inproc > 0) {
    variants.push({ v: { system: 'confmesh', label: 'confmesh (1 process)', layout: 'inproc' }, n: inproc })
  }
  for (const { v, n } of variants) {
    if (await unavailable(v.system)) continue
    const label = `${v.label} x${n}`
    progress(`${label}: starting`)
    try {
      const row = await withVariant(
        v,
        n,
        async (cluster) => {
          const ready =
            Math.max(...cluster.startTimes.map((s) => s.tReady)) - Math.min(...cluster.startTimes.map((s) => s.tBegin))
          progress(`${label}: warming up`)
          const warm = await warmUp(cluster)
          const r = await measurePropagation(cluster, { writes, intervalMs, deliveryTimeoutMs, label, maxRunMs })
          return {
            label: v.label,
            peers: n,
            writes: r.writesDone,
            latencies: r.latencies,
            allSeen: r.allSeen,
            missed: r.missed,
            lostPeers: r.lostPeers,
            warm,
            startS: ready / 1000,
          }
        },
        { staggerMs },
      )
      rows.push(row)
    } catch (err) {
      note(`${label} failed: ${(err as Error).message.split('\n')[0]}`)
      rows.push({
        label: v.label,
        peers: n,
        writes,
        latencies: [],
        allSeen: [],
        missed: Number.NaN,
        lostPeers: Number.NaN,
        warm: false,
        startS: Number.NaN,
      })
    }
  }
  progressDone()
  const table: Table = {
    headers: [
      'system',
      'peers',
      'writes',
      'deliveries',
      'missed',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'max ms',
      'all-seen p50',
      'all-seen p99',
      'start s',
      'lost peers',
    ],
    rows: rows.map((r) => {
      const s = summarize(r.latencies)
      const a = summarize(r.allSeen)
      return [
        r.label,
        String(r.peers),
        String(r.writes),
        String(s.count),
        fmt(r.missed, 0),
        fmt(s.p50),
        fmt(s.p95),
        fmt(s.p99),
        fmt(s.max),
        fmt(a.p50),
        fmt(a.p99),
        fmt(r.startS, 1),
        `${fmt(r.lostPeers, 0)}${r.warm ? '' : ' (warm-up incomplete)'}`,
      ]
    }),
  }
  printTable("Propagation: write on one peer -> seen by every other peer's watcher (ms)", table)
  if (options.write ?? true) {
    const chartFile = path.join(path.dirname(resultsPath()), 'propagation.svg')
    const labels = [...new Set(rows.map((r) => r.label))]
    writeLineChart(chartFile, {
      title: 'Propagation p99 vs peer count',
      xLabel: 'peers',
      yLabel: 'p99 latency (ms)',
      series: labels.map((l) => ({
        name: l,
        points: rows.filter((r) => r.label === l).map((r) => ({ x: r.peers, y: summarize(r.latencies).p99 })),
      })),
    })
    writeResultsData('propagation', {
      quick: cli.quick,
      machine,
      rows: rows.map(({ latencies, allSeen, ...r }) => ({
        ...r,
        latency: summarize(latencies),
        allSeen: summarize(allSeen),
      })),
    })
    writeResultsSection(
      'propagation',
      [
        '## Propagation: write -> every other watcher',
        '',
        machineLine(machine),
        '',
        `Closed loop: ${writes} writes per row, rotating writer, one write in flight, starts >= ${intervalMs} ms apart; a delivery not seen within ${deliveryTimeoutMs} ms counts as missed; a row stops early after ${maxRunMs / 1000} s ("writes" then shows how many were made). Latency per (write, receiving peer) = watcher callback - writer call, both read from CLOCK_MONOTONIC (one clock for every process). Peers are separate OS processes except "confmesh (1 process)". etcd: one client (own gRPC connection, prefix watch) per peer, spread over the members. Relay: one y-websocket client per peer against a central relay process. "all-seen" = time until the last peer saw the write (only writes every peer saw). Percentiles cover delivered writes only: read them together with "missed". "start s" = time to start all peers. "lost peers" = most peers at once that had missed 3 writes in a row (no longer waited for, still counted as missed); "warm-up incomplete" = a warm-up write did not reach every peer within 30 s.${cli.quick ? ' **Quick run (tiny sizes).**' : ''}`,
        '',
        renderMarkdown(table),
        '',
        '![propagation p99 vs peers](propagation.svg)',
      ].join('\n'),
    )
  }
  return rows
}

if (isMain(import.meta.url)) {
  await runMain(async () => {
    await runPropagation()
  })
}
