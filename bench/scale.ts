/**
 * Question: how do propagation latency and per-peer message load grow with the number of peers: like log N (gossip),
 * like N, or not at all (client/server)?
 *
 * For each system and peer count (default 3, 10, 30; one process per peer): the propagation measurement of
 * propagation.ts (`--writes`, default 100), plus per-peer counters over the measured phase, divided by the writes:
 * watch events; read() syscalls and bytes of the peer process (/proc/self/io: every socket message it took in, the
 * system-agnostic count); and for confmesh its own gossip counters (`diagnostics().counters`). Then the growth from
 * the smallest to the largest N is compared with log N and N.
 * Writes a `scale` section to bench/RESULTS.md and bench/scale-latency.svg, bench/scale-messages.svg.
 *
 * Run: `npx tsx bench/scale.ts [--quick] [--systems=...] [--peers=3,10,30] [--writes=100] [--interval=20]`
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
import { fmt, fmtBytes, summarize } from './lib/stats.js'
import { printTable, renderMarkdown, type Table } from './lib/table.js'
import type { WorkerStats } from './peers/protocol.js'
import { measurePropagation, warmUp } from './runs/propagate.js'
import { standardVariants, unavailable, withVariant } from './runs/systems.js'

/** One system at one peer count. */
export interface ScaleRow {
  label: string
  peers: number
  writes: number
  p50: number
  p99: number
  missed: number
  /** Per receiving peer per write (medians over peers). */
  eventsPerWrite: number
  readsPerWrite: number
  bytesPerWrite: number
  /** confmesh gossip messages received per peer per write (median), when exposed. */
  gossipPerWrite: number
}

/**
 * How growth from the smallest to the largest N compares with constant, log N and N (closest in log space).
 *
 * @param nA - smaller peer count
 * @param yA - metric at nA
 * @param nB - larger peer count
 * @param yB - metric at nB
 */
export function growthVerdict(nA: number, yA: number, nB: number, yB: number): string {
  if (!(yA > 0 && yB > 0) || nB <= nA) return 'n/a'
  const r = yB / yA
  const candidates: Array<[string, number]> = [
    ['flat', 1],
    ['~log N', Math.log(nB) / Math.log(nA)],
    ['~N', nB / nA],
  ]
  const best = candidates.reduce((a, b) => (Math.abs(Math.log(r / b[1])) < Math.abs(Math.log(r / a[1])) ? b : a))
  return `x${fmt(r)} (${best[0]}; log N: x${fmt(candidates[1]![1])}, N: x${fmt(candidates[2]![1])})`
}

function perReceiver(before: WorkerStats[], after: WorkerStats[], writes: number, n: number) {
  const events: number[] = []
  const reads: number[] = []
  const bytes: number[] = []
  const gossip: number[] = []
  for (const a of after) {
    const b = before.find((x) => x.pid === a.pid)
    const peer = a.peers[0]
    const pb = b?.peers[0]
    if (!b || !peer || !pb || a.peers.length !== 1) continue
    // writes are made by peer i % n in turn; a peer does not receive its own
    const own = Math.floor(writes / n) + (peer.index < writes % n ? 1 : 0)
    const received = writes - own
    if (received <= 0) continue
    events.push((peer.remoteEvents - pb.remoteEvents) / received)
    reads.push((a.io.syscr - b.io.syscr) / received)
    bytes.push((a.io.rchar - b.io.rchar) / received)
    const g = peer.system['counters.gossip.received']
    const gb = pb.system['counters.gossip.received']
    if (g !== undefined && gb !== undefined) gossip.push((g - gb) / received)
  }
  const med = (xs: number[]) => summarize(xs).p50
  return { events: med(events), reads: med(reads), bytes: med(bytes), gossip: med(gossip) }
}

/**
 * Run the scale benchmark and print its tables.
 *
 * @param options - argv to parse (default process.argv) and whether to write RESULTS.md
 */
export async function runScale(options: { argv?: string[]; write?: boolean } = {}): Promise<ScaleRow[]> {
  const cli = parseCli(options.argv)
  const staggerMs = cli.num('stagger', 0)
  const machine = await sampleMachine()
  warnIfBusy(machine)
  const peerCounts = cli.nums('peers', [3, 10, 30], [2, 4])
  const writes = cli.num('writes', 100, 10)
  const intervalMs = cli.num('interval', 20, 10)
  const deliveryTimeoutMs = cli.num('delivery-timeout', 5000, 3000)
  const maxRunMs = cli.num('max-row-ms', 180_000, 30_000)
  const rows: ScaleRow[] = []
  const variants = standardVariants(cli.systems).filter((v) => !(v.system === 'etcd' && v.members !== 3))
  for (const v of variants) {
    if (await unavailable(v.system)) continue
    for (const n of peerCounts) {
      const label = `${v.label} x${n}`
      progress(`${label}: starting`)
      try {
        await withVariant(
          v,
          n,
          async (cluster) => {
            await warmUp(cluster)
            const before = await cluster.stats()
            const r = await measurePropagation(cluster, { writes, intervalMs, deliveryTimeoutMs, label, maxRunMs })
            const after = await cluster.stats()
            const s = summarize(r.latencies)
            const per = perReceiver(before, after, r.writesDone, n)
            rows.push({
              label: v.label,
              peers: n,
              writes: r.writesDone,
              p50: s.p50,
              p99: s.p99,
              missed: r.missed,
              eventsPerWrite: per.events,
              readsPerWrite: per.reads,
              bytesPerWrite: per.bytes,
              gossipPerWrite: per.gossip,
            })
          },
          { staggerMs },
        )
      } catch (err) {
        note(`${label} failed: ${(err as Error).message.split('\n')[0]}`)
      }
    }
  }
  progressDone()
  const table: Table = {
    headers: [
      'system',
      'peers',
      'writes',
      'p50 ms',
      'p99 ms',
      'missed',
      'events/peer/write',
      'reads/peer/write',
      'bytes/peer/write',
      'gossip msgs/peer/write',
    ],
    rows: rows.map((r) => [
      r.label,
      String(r.peers),
      String(r.writes),
      fmt(r.p50),
      fmt(r.p99),
      String(r.missed),
      fmt(r.eventsPerWrite),
      fmt(r.readsPerWrite, 1),
      fmtBytes(r.bytesPerWrite),
      fmt(r.gossipPerWrite),
    ]),
  }
  const labels = [...new Set(rows.map((r) => r.label))]
  const growth: Table = {
    headers: ['system', 'N', 'p99 growth', 'reads/peer/write growth'],
    rows: labels.flatMap((l) => {
      const rs = rows.filter((r) => r.label === l).sort((a, b) => a.peers - b.peers)
      const a = rs[0]
      const b = rs[rs.length - 1]
      if (!a || !b || a === b) return []
      return [
        [
          l,
          `${a.peers} -> ${b.peers}`,
          growthVerdict(a.peers, a.p99, b.peers, b.p99),
          growthVerdict(a.peers, a.readsPerWrite, b.peers, b.readsPerWrite),
        ],
      ]
    }),
    alignRight: [],
  }
  printTable('Scale: propagation and per-peer load vs peer count', table)
  printTable('Scale: growth from the smallest to the largest N', growth)
  if (options.write ?? true) {
    const series = (metric: (r: ScaleRow) => number) =>
      labels.map((l) => ({
        name: l,
        points: rows.filter((r) => r.label === l).map((r) => ({ x: r.peers, y: metric(r) })),
      }))
    writeLineChart(path.join(path.dirname(resultsPath()), 'scale-latency.svg'), {
      title: 'Propagation p99 vs peer count',
      xLabel: 'peers',
      yLabel: 'p99 latency (ms)',
      series: series((r) => r.p99),
    })
    writeLineChart(path.join(path.dirname(resultsPath()), 'scale-messages.svg'), {
      title: 'Read syscalls per peer per write',
      xLabel: 'peers',
      yLabel: 'reads / peer / write',
      series: series((r) => r.readsPerWrite),
    })
    writeResultsData('scale', { quick: cli.quick, machine, rows })
    writeResultsSection(
      'scale',
      [
        '## Scale: latency and per-peer load vs peer count',
        '',
        machineLine(machine),
        '',
        `Same closed-loop measurement as the propagation section (${writes} writes per row, one process per peer). Per receiving peer and per write (medians over peers): "events" = watch events; "reads" = read() syscalls of the peer process and "bytes" = bytes they returned (/proc/self/io; every message a peer takes in from any socket, so comparable across systems; it also counts the harness's small IPC traffic); "gossip msgs" = confmesh's own \`counters.gossip.received\` (messages delivered by gossipsub after de-duplication), n/a for the others. Growth compares the largest N with the smallest: the closest of flat, log N and N.${cli.quick ? ' **Quick run (tiny sizes).**' : ''}`,
        '',
        renderMarkdown(table),
        '',
        renderMarkdown(growth),
        '',
        '![p99 vs peers](scale-latency.svg) ![reads per peer per write](scale-messages.svg)',
      ].join('\n'),
    )
  }
  return rows
}

if (isMain(import.meta.url)) {
  await runMain(async () => {
    await runScale()
  })
}
