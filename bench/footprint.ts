/**
 * Question: what does each system cost per peer in memory and CPU?
 *
 * For each system: `--peers` peers (default 3, one process each). RSS of every process idle (after warm-up, after a
 * forced GC), then peer 0 writes `--keys` distinct keys (default 10,000, ~`--value-bytes` of payload each) and RSS is
 * read again once every peer has them. CPU per applied update = process CPU (user + system) spent from the start of
 * the burst until that peer had every key, divided by the number of keys. Servers (etcd members, the relay) are read
 * from /proc. A worker hosting no peer gives the harness's own share of each peer process.
 * Writes a `footprint` section to bench/RESULTS.md.
 *
 * Run: `npx tsx bench/footprint.ts [--quick] [--systems=...] [--peers=3] [--keys=10000] [--value-bytes=64]`
 *
 * @module
 */

import { isMain, runMain } from './lib/cleanup.js'
import { parseCli } from './lib/cli.js'
import { machineLine, sampleMachine, warnIfBusy } from './lib/machine.js'
import { cpuMsOf, rssOf } from './lib/procinfo.js'
import { note, progress, progressDone } from './lib/progress.js'
import { writeResultsData, writeResultsSection } from './lib/results.js'
import { fmt, fmtBytes, summarize } from './lib/stats.js'
import { printTable, renderMarkdown, type Table } from './lib/table.js'
import { startBaselineWorker } from './peers/cluster.js'
import type { WorkerStats } from './peers/protocol.js'
import { runBurst } from './runs/burst.js'
import { warmUp } from './runs/propagate.js'
import { standardVariants, unavailable, withVariant } from './runs/systems.js'

/** One process role of one system. */
export interface FootprintRow {
  label: string
  role: string
  rssIdle: number
  rssLoaded: number
  /** CPU use while idle, % of one core. */
  idleCpuPct: number
  cpuUsPerUpdate: number
  docBytes: number
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)

/**
 * Run the footprint benchmark and print its table.
 *
 * @param options - argv to parse (default process.argv) and whether to write RESULTS.md
 */
export async function runFootprint(options: { argv?: string[]; write?: boolean } = {}): Promise<FootprintRow[]> {
  const cli = parseCli(options.argv)
  const staggerMs = cli.num('stagger', 0)
  const machine = await sampleMachine()
  warnIfBusy(machine)
  const peers = cli.num('peers', 3, 3)
  const keys = cli.num('keys', 10_000, 200)
  const valueBytes = cli.num('value-bytes', 64, 64)
  const timeoutMs = cli.num('timeout', 180_000, 30_000)
  const idleMs = cli.num('idle-ms', 5000, 500)
  const rows: FootprintRow[] = []

  progress('harness baseline')
  const base = await startBaselineWorker()
  try {
    const [s] = await base.stats(true)
    rows.push({
      label: 'harness only',
      role: 'worker, no peer',
      rssIdle: s?.rss ?? Number.NaN,
      rssLoaded: Number.NaN,
      idleCpuPct: Number.NaN,
      cpuUsPerUpdate: Number.NaN,
      docBytes: Number.NaN,
    })
  } finally {
    await base.stop()
  }

  for (const v of standardVariants(cli.systems, { quick: cli.quick })) {
    if (await unavailable(v.system)) continue
    const label = `${v.label} x${peers}`
    progress(`${label}: starting`)
    try {
      await withVariant(
        v,
        peers,
        async (cluster, server) => {
          const byPeer = (stats: WorkerStats[], p: number) => stats.find((s) => s.peers.some((x) => x.index === p))
          await warmUp(cluster)
          const serverPids = server.pids()
          progress(`${label}: idle for ${idleMs} ms`)
          const idle0 = await cluster.stats()
          const serverIdleCpu0 = sum(serverPids.map((p) => cpuMsOf(p)))
          await new Promise((r) => setTimeout(r, idleMs)) // a measurement window, not synchronisation
          const idle = await cluster.stats(true)
          const serverIdleCpu = ((sum(serverPids.map((p) => cpuMsOf(p))) - serverIdleCpu0) / idleMs) * 100
          const idlePct = (p: number) => {
            const a = byPeer(idle0, p)
            const b = byPeer(idle, p)
            return a && b ? ((b.cpuUs - a.cpuUs) / 1000 / (b.t - a.t)) * 100 : Number.NaN
          }
          const serverIdle = sum(serverPids.map((p) => rssOf(p)))
          const serverCpu0 = sum(serverPids.map((p) => cpuMsOf(p)))
          progress(`${label}: writing ${keys} keys`)
          const r = await runBurst(cluster, {
            writers: [0],
            total: keys,
            keyCount: keys,
            inflight: 64,
            timeoutMs,
            padBytes: valueBytes,
            prefix: 'k',
          })
          const serverCpu1 = sum(serverPids.map((p) => cpuMsOf(p)))
          const loaded = await cluster.stats(true)
          const serverLoaded = sum(serverPids.map((p) => rssOf(p)))
          const cpuPer = (p: number) => {
            const before = byPeer(idle, p)?.cpuUs ?? Number.NaN
            const conv = r.converged.find((c) => c.p === p)?.cpuUs ?? Number.NaN
            return (conv - before) / r.total
          }
          const receivers = Array.from({ length: peers - 1 }, (_, i) => i + 1)
          const med = (xs: number[]) => summarize(xs).p50
          const doc = byPeer(loaded, 1)?.peers[0]?.system.documentBytes ?? Number.NaN
          rows.push({
            label: v.label,
            role: 'writer peer',
            rssIdle: byPeer(idle, 0)?.rss ?? Number.NaN,
            rssLoaded: byPeer(loaded, 0)?.rss ?? Number.NaN,
            idleCpuPct: idlePct(0),
            cpuUsPerUpdate: cpuPer(0),
            docBytes: byPeer(loaded, 0)?.peers[0]?.system.documentBytes ?? Number.NaN,
          })
          rows.push({
            label: v.label,
            role: `receiver peer (median of ${receivers.length})`,
            rssIdle: med(receivers.map((p) => byPeer(idle, p)?.rss ?? Number.NaN)),
            rssLoaded: med(receivers.map((p) => byPeer(loaded, p)?.rss ?? Number.NaN)),
            idleCpuPct: med(receivers.map(idlePct)),
            cpuUsPerUpdate: med(receivers.map(cpuPer)),
            docBytes: doc,
          })
          if (serverPids.length > 0) {
            rows.push({
              label: v.label,
              role: `server (${serverPids.length} process${serverPids.length > 1 ? 'es, summed' : ''})`,
              rssIdle: serverIdle,
              rssLoaded: serverLoaded,
              idleCpuPct: serverIdleCpu,
              cpuUsPerUpdate: ((serverCpu1 - serverCpu0) * 1000) / r.total,
              docBytes: Number.NaN,
            })
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
    headers: ['system', 'process', 'RSS idle', `RSS ${keys} keys`, 'idle CPU %', 'CPU µs / update', 'doc size'],
    rows: rows.map((r) => [
      r.label,
      r.role,
      fmtBytes(r.rssIdle),
      fmtBytes(r.rssLoaded),
      fmt(r.idleCpuPct),
      fmt(r.cpuUsPerUpdate, 1),
      fmtBytes(r.docBytes),
    ]),
    alignRight: [2, 3, 4, 5, 6],
  }
  printTable('Footprint: memory and CPU per peer', table)
  if (options.write ?? true) {
    writeResultsData('footprint', { quick: cli.quick, machine, rows })
    writeResultsSection(
      'footprint',
      [
        '## Footprint: memory and CPU per peer',
        '',
        machineLine(machine),
        '',
        `${peers} peers, one OS process each. RSS after warm-up and a forced GC ("idle"), and again once every peer had all ${keys} keys (~${valueBytes} B random payload each, written by one peer with 64 in flight), after a forced GC. "idle CPU %" = CPU used during ${idleMs} ms of doing nothing after warm-up, in % of one core (heartbeats, gossip, anti-entropy, keep-alives). "CPU µs / update" = user + system CPU of the process from the start of the burst until it had every key, divided by ${keys} (server: /proc CPU over the same burst, 10 ms resolution). Peer RSS includes the harness (Node, the bundled worker, IPC), shown on the "harness only" row. etcd and relay peers are clients; their servers are listed separately.${cli.quick ? ' **Quick run (tiny sizes).**' : ''}`,
        '',
        renderMarkdown(table),
      ].join('\n'),
    )
  }
  return rows
}

if (isMain(import.meta.url)) {
  await runMain(async () => {
    await runFootprint()
  })
}
