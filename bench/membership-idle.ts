/**
 * Question: what does an idle peer spend on membership, heartbeat against SWIM, as the mesh grows (issue 12)?
 *
 * For each protocol (`membership.protocol` 'heartbeat' and 'swim', default settings otherwise) and peer count
 * (default 5, 10, 20, 40; every peer in this one process, on 127.0.0.1, per-IP limits lifted): start the peers
 * bootstrapping to the first, wait (up to 60 s) until every peer lists every other, let it settle 2 s, then over
 * `--seconds` (default 10) measure the process CPU divided by N (% of one core per peer) and the read() syscalls of
 * the process per peer per second (/proc/self/io: every socket read, comparable across protocols); for SWIM also its
 * own counters (messages received, dials per peer per second). Writes a `membership-idle` section to bench/RESULTS.md.
 *
 * Run: `npx tsx bench/membership-idle.ts [--peers=5,10,20,40] [--seconds=10]`
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { type ConfigMesh, createMesh, type MeshOptions } from '../src/index.js'
import type { SwimMembership } from '../src/membership/swim-membership.js'
import { colocatedTransport } from '../test/helpers/cluster.js'
import { isMain, runMain } from './lib/cleanup.js'
import { parseCli } from './lib/cli.js'
import { machineLine, sampleMachine, warnIfBusy } from './lib/machine.js'
import { writeResultsSection } from './lib/results.js'
import { printTable, renderMarkdown, type Table } from './lib/table.js'

const SILENT = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }

interface Row {
  protocol: string
  peers: number
  formedMs: number | undefined
  complete: string
  cpuPerPeer: number
  readsPerPeerPerS: number
  swimMsgsPerPeerPerS: number | undefined
  dialsPerPeerPerS: number | undefined
  connectionsPerPeer: number
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function readSyscalls(): number {
  const m = /syscr:\s*(\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))
  return m === null ? 0 : Number(m[1])
}

function swimOf(mesh: ConfigMesh): SwimMembership | undefined {
  const membership = (mesh as unknown as { p: { membership: unknown } }).p.membership
  return typeof (membership as SwimMembership).states === 'function' ? (membership as SwimMembership) : undefined
}

async function start(options: MeshOptions): Promise<ConfigMesh> {
  return createMesh({ ...options, logger: SILENT, transport: colocatedTransport(options) })
}

async function measure(protocol: 'heartbeat' | 'swim', n: number, seconds: number): Promise<Row> {
  const base: MeshOptions = { membership: { protocol }, ring: { joinSync: false } }
  const first = await start(base)
  const meshes = [first]
  for (let i = 1; i < n; i++) meshes.push(await start({ ...base, bootstrap: [first.addresses[0]!] }))
  const t0 = Date.now()
  const complete = () => meshes.filter((m) => m.peers().length === n - 1).length
  let formedMs: number | undefined
  while (Date.now() - t0 < 60_000) {
    if (complete() === n) {
      formedMs = Date.now() - t0
      break
    }
    await sleep(100)
  }
  const done = complete()
  await sleep(2_000)
  const swims = meshes.map(swimOf)
  const received0 = swims.reduce((s, m) => s + (m?.traffic.received ?? 0), 0)
  const dials0 = swims.reduce((s, m) => s + (m?.traffic.dials ?? 0), 0)
  const reads0 = readSyscalls()
  const cpu0 = process.cpuUsage()
  const w0 = performance.now()
  await sleep(seconds * 1000)
  const cpu = process.cpuUsage(cpu0)
  const wall = (performance.now() - w0) / 1000
  const reads = readSyscalls() - reads0
  const received = swims.reduce((s, m) => s + (m?.traffic.received ?? 0), 0) - received0
  const dials = swims.reduce((s, m) => s + (m?.traffic.dials ?? 0), 0) - dials0
  const connections = meshes.reduce((s, m) => s + m.peers().filter((p) => p.connected).length, 0) / n
  await Promise.all(meshes.map((m) => m.stop().catch(() => {})))
  return {
    protocol,
    peers: n,
    formedMs,
    complete: `${done}/${n}`,
    cpuPerPeer: ((cpu.user + cpu.system) / 1e6 / wall / n) * 100,
    readsPerPeerPerS: reads / wall / n,
    swimMsgsPerPeerPerS: protocol === 'swim' ? received / wall / n : undefined,
    dialsPerPeerPerS: protocol === 'swim' ? dials / wall / n : undefined,
    connectionsPerPeer: connections,
  }
}

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2))
  const peers = cli.nums('peers', [5, 10, 20, 40], [5, 10])
  const seconds = cli.num('seconds', 10, 5)
  const machine = await sampleMachine()
  warnIfBusy(machine)
  const rows: Row[] = []
  for (const n of peers) {
    for (const protocol of ['heartbeat', 'swim'] as const) {
      process.stderr.write(`[membership-idle] ${protocol} ${n} peers...\n`)
      rows.push(await measure(protocol, n, seconds))
    }
  }
  const table: Table = {
    headers: [
      'protocol',
      'peers',
      'full membership',
      'formed in',
      'idle CPU per peer (% of a core)',
      'read() calls per peer per s',
      'SWIM messages received per peer per s',
      'SWIM dials per peer per s',
      'connections per peer',
    ],
    rows: rows.map((r) => [
      r.protocol,
      String(r.peers),
      r.complete,
      r.formedMs === undefined ? 'not within 60 s' : `${(r.formedMs / 1000).toFixed(1)} s`,
      r.cpuPerPeer.toFixed(2),
      r.readsPerPeerPerS.toFixed(1),
      r.swimMsgsPerPeerPerS === undefined ? '' : r.swimMsgsPerPeerPerS.toFixed(1),
      r.dialsPerPeerPerS === undefined ? '' : r.dialsPerPeerPerS.toFixed(2),
      r.connectionsPerPeer.toFixed(1),
    ]),
  }
  printTable('Idle membership cost per peer', table)
  writeResultsSection(
    'membership-idle',
    [
      '## Idle membership cost: heartbeat against SWIM (in one process)',
      '',
      `\`npx tsx bench/membership-idle.ts --peers=${peers.join(',')} --seconds=${seconds}\`; ${machineLine(machine)}.`,
      '',
      'Every peer in one Node process on 127.0.0.1, default settings but `membership.protocol`; after every peer',
      `listed every other (or 60 s), 2 s settling, then ${seconds} s idle: process CPU / N, read() syscalls of the`,
      'process / N / s (every socket read: comparable across protocols), and for SWIM its own counters.',
      '',
      renderMarkdown(table),
    ].join('\n'),
  )
}

if (isMain(import.meta.url)) runMain(main)
