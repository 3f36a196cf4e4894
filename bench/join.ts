/**
 * Question: how long does a new peer take to catch up with a config of 1 MB / 10 MB, and how many bytes does it read?
 *
 * For each system: `--seeds` peers (default 3, one process each); peer 0 writes `--sizes` MB of config as 1 KiB random
 * values under distinct keys; once every seed has it, a new peer starts in a fresh process and is timed from the
 * start of its creation until it holds the last key written (watch event, or a poll every 50 ms as a fallback).
 * Bytes = what the new process read through read() while joining (sockets; /proc/self/io rchar). The etcd equivalent
 * of "catching up" is a new client reading the whole prefix. Repeated `--trials` times (a fresh peer each).
 * Writes a `join` section to bench/RESULTS.md.
 *
 * Run: `npx tsx bench/join.ts [--quick] [--systems=...] [--sizes=1,10] [--seeds=3] [--trials=3] [--value-bytes=1024]`
 *
 * @module
 */

import { isMain, runMain } from './lib/cleanup.js'
import { parseCli } from './lib/cli.js'
import { machineLine, sampleMachine, warnIfBusy } from './lib/machine.js'
import { note, progress, progressDone } from './lib/progress.js'
import { writeResultsData, writeResultsSection } from './lib/results.js'
import { fmt, fmtBytes, summarize } from './lib/stats.js'
import { printTable, renderMarkdown, type Table } from './lib/table.js'
import { runBurst } from './runs/burst.js'
import { warmUp } from './runs/propagate.js'
import { standardVariants, unavailable, withVariant } from './runs/systems.js'

/** One system at one config size. */
export interface JoinRow {
  label: string
  sizeMB: number
  keys: number
  trials: number
  /** Seconds until the joining peer's creation resolved (median over trials). */
  readyS: number
  /** Seconds until the joining peer held the whole config (per trial). */
  caughtUpS: number[]
  /** Bytes read by the joining process (per trial). */
  bytesRead: number[]
  /** CPU seconds (user + system) the joining process spent from its creation until caught up (per trial). */
  cpuS: number[]
  /** Encoded document size at a seed, where the system reports it. */
  docBytes: number
  error?: string
}

/**
 * Run the join benchmark and print its table.
 *
 * @param options - argv to parse (default process.argv) and whether to write RESULTS.md
 */
export async function runJoin(options: { argv?: string[]; write?: boolean } = {}): Promise<JoinRow[]> {
  const cli = parseCli(options.argv)
  const staggerMs = cli.num('stagger', 0)
  const machine = await sampleMachine()
  warnIfBusy(machine)
  const sizes = cli.nums('sizes', [1, 10], [0.125])
  const seeds = cli.num('seeds', 3, 2)
  const trials = cli.num('trials', 3, 1)
  const valueBytes = cli.num('value-bytes', 1024, 1024)
  const timeoutMs = cli.num('timeout', 300_000, 60_000)
  const rows: JoinRow[] = []
  // one etcd variant is enough here: catching up is a range read from one member
  const variants = standardVariants(cli.systems).filter((v) => !(v.system === 'etcd' && v.members !== 1))
  for (const v of variants) {
    if (await unavailable(v.system)) continue
    for (const sizeMB of sizes) {
      const keys = Math.max(1, Math.round((sizeMB * 2 ** 20) / valueBytes))
      const label = `${v.label} ${sizeMB} MB`
      const row: JoinRow = {
        label: v.label,
        sizeMB,
        keys,
        trials,
        readyS: Number.NaN,
        caughtUpS: [],
        bytesRead: [],
        cpuS: [],
        docBytes: Number.NaN,
      }
      progress(`${label}: starting ${seeds} seeds`)
      try {
        await withVariant(
          v,
          seeds,
          async (cluster) => {
            await warmUp(cluster)
            progress(`${label}: writing ${keys} keys of ${valueBytes} B`)
            const fill = await runBurst(cluster, {
              writers: [0],
              total: keys,
              keyCount: keys,
              inflight: 64,
              timeoutMs,
              padBytes: valueBytes,
              prefix: 'f',
              verify: false,
            })
            const spec = fill.specs[0]!
            const track = {
              targets: { 0: spec.seqBase + spec.count },
              sentinels: { 0: `${spec.prefix}-0-${spec.count - 1}` },
              pollMs: 50,
            }
            const seedStats = await cluster.stats()
            row.docBytes = seedStats[0]?.peers[0]?.system.documentBytes ?? Number.NaN
            const ready: number[] = []
            for (let t = 0; t < trials; t++) {
              progress(`${label}: join ${t + 1}/${trials}`)
              const { start, converged } = await cluster.join(track, timeoutMs)
              ready.push(start.tReady - start.tBegin)
              row.caughtUpS.push((converged.t - start.tBegin) / 1000)
              row.bytesRead.push(converged.io.rchar - start.ioBefore.rchar)
              row.cpuS.push((converged.cpuUs - start.cpuBefore) / 1e6)
              await cluster.stopPeer(converged.p)
            }
            row.readyS = summarize(ready).p50 / 1000
          },
          { staggerMs },
        )
      } catch (err) {
        row.error = (err as Error).message.split('\n')[0]
        note(`${label} failed: ${row.error}`)
      }
      rows.push(row)
    }
  }
  progressDone()
  const table: Table = {
    headers: [
      'system',
      'config',
      'keys',
      'doc size',
      'trials',
      'created s',
      'caught up s (p50)',
      'caught up s (max)',
      'joiner CPU s (p50)',
      'bytes read (p50)',
      'read / config',
      'note',
    ],
    rows: rows.map((r) => {
      const c = summarize(r.caughtUpS)
      const b = summarize(r.bytesRead)
      return [
        r.label,
        `${r.sizeMB} MB`,
        String(r.keys),
        fmtBytes(r.docBytes),
        String(r.caughtUpS.length),
        fmt(r.readyS),
        fmt(c.p50),
        fmt(c.max),
        fmt(summarize(r.cpuS).p50),
        fmtBytes(b.p50),
        fmt(b.p50 / (r.sizeMB * 2 ** 20)),
        r.error?.slice(0, 60) ?? '',
      ]
    }),
  }
  printTable('Join: a new peer catches up with existing config', table)
  if (options.write ?? true) {
    writeResultsData('join', { quick: cli.quick, machine, rows })
    writeResultsSection(
      'join',
      [
        '## Join: new peer catches up',
        '',
        machineLine(machine),
        '',
        `${seeds} running peers hold the config (random 1 KiB values under distinct keys, written by one peer); a new peer then starts in a fresh process. "created s" = until its constructor resolved (confmesh: createMesh; etcd: client, paginated read of the whole prefix, watch; relay: provider synced); "caught up s" = from the start of its creation until it held the last key written (watch event, or a 50 ms poll as fallback); "joiner CPU s" = user + system CPU time of the joining process over the same span (load inflates it less than wall time). "bytes read" = read() bytes of the joining process meanwhile (/proc/self/io rchar, sockets and pipes; module loading excluded). etcd's equivalent of catching up is a range read of the whole prefix by a new client. "doc size" = encoded Yjs document at a seed (confmesh diagnostics / relay client).${cli.quick ? ' **Quick run (tiny sizes).**' : ''}`,
        '',
        renderMarkdown(table),
      ].join('\n'),
    )
  }
  return rows
}

if (isMain(import.meta.url)) {
  await runMain(async () => {
    await runJoin()
  })
}
