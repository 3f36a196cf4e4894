/**
 * Question: how many config updates per second does each system carry until every node has them?
 *
 * For each system: N peers (default 10), a burst of `--sets` sets (default 10,000) from one writer, then the same
 * total split over 3 writers at once; each writer keeps `--inflight` sets in flight and cycles over `--keys` keys.
 * Updates/s = sets / (last peer converged - first set started). Every peer's final values are then checked.
 * Writes a `throughput` section to bench/RESULTS.md.
 *
 * Run: `npx tsx bench/throughput.ts [--quick] [--systems=...] [--peers=10] [--sets=10000] [--keys=1000]
 *       [--inflight=64] [--timeout=180000]`
 *
 * @module
 */

import { isMain, runMain } from './lib/cleanup.js'
import { parseCli } from './lib/cli.js'
import { machineLine, sampleMachine, warnIfBusy } from './lib/machine.js'
import { note, progress, progressDone } from './lib/progress.js'
import { writeResultsData, writeResultsSection } from './lib/results.js'
import { fmt } from './lib/stats.js'
import { printTable, renderMarkdown, type Table } from './lib/table.js'
import { runBurst } from './runs/burst.js'
import { warmUp } from './runs/propagate.js'
import { standardVariants, unavailable, withVariant } from './runs/systems.js'

/** One measured configuration. */
export interface ThroughputRow {
  label: string
  peers: number
  writers: number
  sets: number
  /** sets / (last set resolved - first set started) */
  writeRate: number
  /** sets / (last peer converged - first set started) */
  convergedRate: number
  convergeS: number
  wrongKeys: number
  error?: string
}

/**
 * Run the throughput benchmark and print its table.
 *
 * @param options - argv to parse (default process.argv) and whether to write RESULTS.md
 */
export async function runThroughput(options: { argv?: string[]; write?: boolean } = {}): Promise<ThroughputRow[]> {
  const cli = parseCli(options.argv)
  const staggerMs = cli.num('stagger', 0)
  const machine = await sampleMachine()
  warnIfBusy(machine)
  const peers = cli.num('peers', 10, 3)
  const sets = cli.num('sets', 10_000, 300)
  const keys = cli.num('keys', 1000, 50)
  const inflight = cli.num('inflight', 64, 16)
  const timeoutMs = cli.num('timeout', 180_000, 30_000)
  const writerCounts = cli.nums('writers', [1, 3])
  const rows: ThroughputRow[] = []
  for (const v of standardVariants(cli.systems, { quick: cli.quick })) {
    if (await unavailable(v.system)) continue
    const label = `${v.label} x${peers}`
    progress(`${label}: starting`)
    try {
      await withVariant(
        v,
        peers,
        async (cluster) => {
          await warmUp(cluster)
          for (const wc of writerCounts) {
            const writers = Array.from({ length: Math.min(wc, peers) }, (_, i) => (i * Math.floor(peers / wc)) % peers)
            progress(`${label}: ${sets} sets from ${writers.length} writer(s)`)
            try {
              const r = await runBurst(cluster, { writers, total: sets, keyCount: keys, inflight, timeoutMs })
              rows.push({
                label: v.label,
                peers,
                writers: writers.length,
                sets: r.total,
                writeRate: r.total / ((r.tWritten - r.tStart) / 1000),
                convergedRate: r.total / ((r.tConverged - r.tStart) / 1000),
                convergeS: (r.tConverged - r.tStart) / 1000,
                wrongKeys: Object.values(r.wrong).reduce((a, b) => a + b, 0),
              })
            } catch (err) {
              const msg = (err as Error).message.split('\n')[0] ?? ''
              note(`${label} (${writers.length} writers) failed: ${msg}`)
              rows.push({
                label: v.label,
                peers,
                writers: writers.length,
                sets,
                writeRate: Number.NaN,
                convergedRate: Number.NaN,
                convergeS: Number.NaN,
                wrongKeys: Number.NaN,
                error: msg,
              })
            }
          }
        },
        { staggerMs },
      )
    } catch (err) {
      note(`${label} failed: ${(err as Error).message.split('\n')[0]}`)
    }
  }
  progressDone()
  const table: Table = {
    headers: ['system', 'peers', 'writers', 'sets', 'accepted/s', 'converged/s', 'converge s', 'wrong keys', 'note'],
    rows: rows.map((r) => [
      r.label,
      String(r.peers),
      String(r.writers),
      String(r.sets),
      fmt(r.writeRate, 0),
      fmt(r.convergedRate, 0),
      fmt(r.convergeS),
      fmt(r.wrongKeys, 0),
      r.error ? r.error.slice(0, 60) : '',
    ]),
    alignRight: [1, 2, 3, 4, 5, 6, 7],
  }
  printTable('Throughput: burst of sets until every peer has converged', table)
  if (options.write ?? true) {
    writeResultsData('throughput', { quick: cli.quick, machine, rows })
    writeResultsSection(
      'throughput',
      [
        '## Throughput: burst until every peer converged',
        '',
        machineLine(machine),
        '',
        `${peers} peers (one OS process each). ${sets} sets in total per row, split evenly over the writers; each writer keeps ${inflight} set() calls in flight and cycles over ${keys} keys. "accepted/s" = sets / time until the writers' last set() resolved; "converged/s" = sets / time until the last peer's watcher had seen every writer's last write (for etcd and the relay every write is delivered; confmesh may coalesce). "wrong keys" = keys, summed over peers, whose final value is not the last write. etcd writes are puts on the writer's own client; relay writes are Y.Map sets, one update each.${cli.quick ? ' **Quick run (tiny sizes).**' : ''}`,
        '',
        renderMarkdown(table),
      ].join('\n'),
    )
  }
  return rows
}

if (isMain(import.meta.url)) {
  await runMain(async () => {
    await runThroughput()
  })
}
