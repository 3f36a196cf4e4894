/**
 * Fleet: real confmesh peers (libp2p over TCP on 127.0.0.1), several per OS process, at 10..100 peers, for each
 * membership protocol. Per size (bench/runs/fleet-run.ts): time to full membership, idle CPU and messages per peer,
 * propagation p50/p95/p99 with missed deliveries, time for every survivor to drop a SIGKILLed process's peers.
 *
 * Options (or `BENCH_<NAME>`): `--peers=10,100` sizes; `--per-host=10` peers per process; `--protocols=heartbeat,swim`;
 * `--idle=15` idle window (s); `--settle=5` pause after formation (s); `--writes=100`; `--form-timeout=60` (s);
 * `--crash-timeout=30` (s); `--seed=1`; `--swim={...}` SWIM settings (JSON, e.g. `{"probeIntervalMs":1000}`);
 * `--quick` (10 and 20 peers, 5 s idle, 20 writes). A fleet that does not form by the deadline is reported with what formed and measured idle as it is; propagation and the crash are skipped.
 *
 * Writes the section `fleet` of bench/RESULTS.md (replaced whole: notes about runs go below `<!-- fleet:end -->`),
 * `bench/data/fleet.json` and `bench/fleet-cpu.svg`.
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { writeLineChart } from './lib/chart.js'
import { isMain, runMain } from './lib/cleanup.js'
import { parseCli } from './lib/cli.js'
import { describeMachine, machineLine, sampleMachine } from './lib/machine.js'
import { BENCH_DIR, writeResultsData, writeResultsSection } from './lib/results.js'
import { fmt } from './lib/stats.js'
import { printTable, renderMarkdown, type Table } from './lib/table.js'
import { type FleetResult, runFleet } from './runs/fleet-run.js'

/** A protocol's rows. */
export interface FleetRows {
  protocol: string
  rows: FleetResult[]
}

/**
 * The `membership` option for `protocol`. Before the option exists in src/mesh/options.ts (the swim branch adds it),
 * heartbeats are the only protocol and nothing is passed.
 */
function membershipOption(protocol: string): Record<string, unknown> {
  const source = readFileSync(path.join(BENCH_DIR, '..', 'src', 'mesh', 'options.ts'), 'utf8')
  const supported = /\bmembership\??:/.test(source)
  if (!supported && protocol !== 'heartbeat') throw new Error(`membership protocol ${protocol} is not in this build`)
  return supported ? { membership: { protocol } } : {}
}

/** `mesh` with SWIM settings (`--swim='{"probeIntervalMs":1000}'`) when any are given. */
function withSwim(mesh: Record<string, unknown>, swim: Record<string, unknown>): Record<string, unknown> {
  if (Object.keys(swim).length === 0) return mesh
  return { ...mesh, membership: { ...(mesh.membership as object), swim } }
}

function table(all: FleetRows[]): Table {
  return {
    headers: [
      'protocol',
      'peers',
      'processes',
      'full membership',
      'idle CPU/peer (% core)',
      'idle msgs/peer/s',
      'idle KiB/peer/s (seam / socket reads)',
      'RSS/peer',
      'loop delay p99',
      'idle false suspicions/peer/s (downs)',
      'propagation p50/p95/p99 (ms)',
      'all peers p99',
      'CPU per write (all peers, above idle)',
      'missed',
      'crash: all dropped',
      'load 1m',
    ],
    rows: all.flatMap(({ protocol, rows }) =>
      rows.map((r) => [
        protocol,
        String(r.peers),
        String(r.hosts),
        Number.isNaN(r.formMs)
          ? `not formed: ${r.formed}/${r.peers} peers, fewest ${r.minMembers} members`
          : `${fmt(r.formMs / 1000, 1)} s (${fmt((r.formAfterStartMs ?? Number.NaN) / 1000, 1)} s after the last start)`,
        fmt(r.idleCpuPct),
        fmt(r.idleMsgsPerSec, 1),
        `${fmt(r.idleBytesPerSec / 1024, 1)} / ${fmt(r.idleReadBytesPerSec / 1024, 1)}`,
        `${fmt(r.rssPerPeerMiB, 0)} MiB`,
        `${fmt(r.lagP99Ms, 0)} ms`,
        Number.isNaN(r.idleSuspectsPerSec) ? 'n/a' : `${fmt(r.idleSuspectsPerSec, 3)} (${r.idleDowns})`,
        `${fmt(r.delivery.p50, 1)} / ${fmt(r.delivery.p95, 1)} / ${fmt(r.delivery.p99, 1)}`,
        fmt(r.perWrite.p99, 1),
        Number.isNaN(r.cpuPerWriteMs ?? Number.NaN) ? 'n/a' : `${fmt(r.cpuPerWriteMs, 0)} ms`,
        String(r.missed),
        r.crashed === 0
          ? 'n/a'
          : Number.isNaN(r.crashDropMs)
            ? `${r.crashNotDropped} still listed ${r.crashed} dead`
            : `${fmt(r.crashDropMs / 1000, 1)} s (half by ${fmt(r.crashDropP50Ms / 1000, 1)} s; ${r.crashed} killed)`,
        `${r.load[0].toFixed(1)} -> ${r.load[1].toFixed(1)}`,
      ]),
    ),
  }
}

/** Ratios the targets are stated in: 100 peers against 10, per protocol. */
function verdicts(all: FleetRows[]): string[] {
  return all.flatMap(({ protocol, rows }) => {
    const small = rows.find((r) => r.peers === 10)
    const large = rows.at(-1)
    if (small === undefined || large === undefined || large === small) return []
    return [
      `- ${protocol}, ${large.peers} vs 10 peers: idle CPU per peer x${(large.idleCpuPct / small.idleCpuPct).toFixed(2)}, ` +
        `idle messages per peer x${(large.idleMsgsPerSec / small.idleMsgsPerSec).toFixed(2)}` +
        (Number.isNaN(large.formMs)
          ? ` (${large.peers} peers did not form: a partly formed mesh, not the target).`
          : '.'),
    ]
  })
}

async function main(): Promise<void> {
  const cli = parseCli()
  const sizes = cli.nums('peers', [10, 100], [10, 20])
  const protocols = cli.str('protocols', 'heartbeat').split(',')
  const perHost = cli.num('per-host', 10)
  const seed = cli.num('seed', 1)
  const deliveryS = cli.num('delivery-timeout', 5)
  const swim = JSON.parse(cli.str('swim', '{}')) as Record<string, unknown>
  const settleS = cli.num('settle', 5, 3)
  const idleS = cli.num('idle', 15, 5)
  const machine = await sampleMachine()
  const all: FleetRows[] = []
  for (const protocol of protocols) {
    const rows: FleetResult[] = []
    all.push({ protocol, rows })
    for (const peers of sizes) {
      console.log(`${protocol}: ${peers} peers, ${perHost} per process`)
      const r = await runFleet({
        peers,
        perHost,
        mesh: withSwim(membershipOption(protocol), swim),
        formTimeoutMs: cli.num('form-timeout', 60, 30) * 1000,
        settleMs: settleS * 1000,
        idleMs: idleS * 1000,
        writes: cli.num('writes', 100, 20),
        deliveryTimeoutMs: deliveryS * 1000,
        crashTimeoutMs: cli.num('crash-timeout', 30, 20) * 1000,
        seed,
        log: (line) => console.log(`  ${line}`),
      })
      rows.push(r)
    }
  }
  const t = table(all)
  printTable('fleet', t)
  const lines = verdicts(all)
  for (const l of lines) console.log(l)
  writeResultsData('fleet', all)
  writeLineChart(path.join(BENCH_DIR, 'fleet-cpu.svg'), {
    title: 'Idle CPU per peer against fleet size (real peers, 127.0.0.1)',
    xLabel: 'peers',
    yLabel: '% of one core per peer',
    series: all.map(({ protocol, rows }) => ({
      name: protocol,
      points: rows.map((r) => ({ x: r.peers, y: r.idleCpuPct })),
    })),
  })
  writeResultsSection(
    'fleet',
    [
      '## Fleet: 100 real peers',
      '',
      `${machineLine(machine)} Load average at the end ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')} (${describeMachine().cores} cores shared with other work).`,
      '',
      `\`npx tsx bench/fleet.ts --peers=${sizes.join(',')} --protocols=${protocols.join(',')} --per-host=${perHost} ` +
        `--settle=${settleS} --idle=${idleS}\`: the idle window (${idleS} s) starts ${settleS} s after full membership;`,
      `real libp2p peers over TCP on 127.0.0.1, ${perHost} per Node process (test/helpers/peer-host) and the last peer`,
      'alone in its own process (the crash victim), default timing;',
      "libp2p's per-IP inbound limits lifted as if every process had its own address. Idle CPU is the process CPU",
      'time (`process.cpuUsage`) of every host over the idle window divided by the peers: CPU time is far less',
      'inflated by other load than wall-clock latencies are. Messages are counted at the transport seam (topic',
      'messages validated + stream frames read); socket reads are `/proc/<pid>/io` rchar (incl. gossipsub duplicates',
      'and control). Propagation: closed-loop writes on random peers, time from the writer to each watch callback;',
      `missed = not seen within ${deliveryS} s. Crash: SIGKILL of the lone peer, time until every survivor dropped it (and until half of them had).`,
      "Loop delay: the worst process's event-loop delay p99 in the settle window before the idle one (how long ready work waited for a CPU); the monitor's 20 ms timer costs a process ~0.2 % of a core, so it is off during the idle window.",
      'Full membership: from the first spawn until every peer listed all others; the processes start one after another',
      '(a rollout, each bootstrapping from 2 peers of earlier processes), so the time after the last one started is given too.',
      'False suspicions: SWIM suspicions raised in the idle window (nobody crashed then) per peer per second, and the',
      'members declared down meanwhile, summed over every observer.',
      '',
      renderMarkdown(t),
      '',
      ...lines,
      '',
      '![idle CPU per peer](fleet-cpu.svg)',
    ].join('\n'),
  )
}

if (isMain(import.meta.url)) await runMain(main)
