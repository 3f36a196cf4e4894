/**
 * Question: what does it cost a mesh to form, and where do the connections come from (issue 12)?
 *
 * `--peers` SWIM peers (default 40) start at once in this one process on 127.0.0.1 (per-IP limits lifted), every one
 * bootstrapping from the first, with an empty document; for each join-sync setting in `--join` (default `default,off`:
 * the ring-served join sync as shipped, and `ring.joinSync: false`) the run measures the time until every peer lists
 * every other (up to `--timeout` s), the process CPU spent until then, the connections per peer at that moment
 * (discovery aims for 12), the connections opened meanwhile (both ends counted) and the dials that timed out (from
 * the peers' debug log), then over `--after` s (default 20) with nothing happening, the CPU per peer and the SWIM
 * suspicion events per peer per second (all false; each suspicion counted by every peer that applies it: does the
 * formed mesh go quiet?). All peers share one event loop, so absolute times say more about this process than about a
 * deployment (a peer per process or host); the settings are measured alternately in one sitting and compared.
 *
 * Run: `npx tsx bench/formation.ts [--peers=40] [--join=default,off] [--rounds=2] [--timeout=120] [--after=20]`
 *
 * @module
 */
import { type ConfigMesh, createMesh, type MeshOptions } from '../src/index.js'
import type { MeshLogger } from '../src/logger.js'
import { colocatedTransport } from '../test/helpers/cluster.js'
import { isMain, runMain } from './lib/cleanup.js'
import { parseCli } from './lib/cli.js'
import { machineLine, sampleMachine, warnIfBusy } from './lib/machine.js'
import { writeResultsSection } from './lib/results.js'
import { printTable, renderMarkdown, type Table } from './lib/table.js'

interface Row {
  join: string
  peers: number
  formedMs: number | undefined
  complete: number
  cpuMs: number
  connectionsPerPeer: number
  opened: number
  dialTimeouts: number
  /** SWIM suspicion events until formation (every peer that applied a suspicion counts it). */
  formSuspects: number
  /** After formation, over the `after` window: process CPU per peer (% of a core), suspicions per peer per second. */
  afterCpuPct: number
  afterSuspectsPerSec: number
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** SWIM suspicions the peers raised so far (every observer counted). */
function suspicions(meshes: ConfigMesh[]): number {
  return meshes.reduce((s, m) => s + (m.diagnostics().counters['membership.events.suspect'] ?? 0), 0)
}

async function measure(n: number, join: string, timeoutMs: number, afterMs: number): Promise<Row> {
  let dialTimeouts = 0
  const logger: MeshLogger = {
    debug: (m: string) => {
      if (m.includes('aborted due to timeout')) dialTimeouts++
    },
    info: () => {},
    warn: () => {},
    error: () => {},
  }
  const base: MeshOptions = join === 'off' ? { ring: { joinSync: false } } : {}
  const start = (o: MeshOptions) => createMesh({ ...o, logger, transport: colocatedTransport(o) })
  let opened = 0
  const count = (m: ConfigMesh) => {
    const node = (m as unknown as { p: { transport: { node: EventTarget } } }).p.transport.node
    node.addEventListener('connection:open', () => opened++)
  }
  const cpu0 = process.cpuUsage()
  const t0 = Date.now()
  const first = await start(base)
  count(first)
  const meshes: ConfigMesh[] = [first]
  await Promise.all(
    Array.from({ length: n - 1 }, async () => {
      const m = await start({ ...base, bootstrap: [first.addresses[0]!] })
      count(m)
      meshes.push(m)
    }),
  )
  const complete = () => meshes.filter((m) => m.peers().length === n - 1).length
  let formedMs: number | undefined
  while (Date.now() - t0 < timeoutMs) {
    if (complete() === n) {
      formedMs = Date.now() - t0
      break
    }
    await sleep(250)
  }
  const cpu = process.cpuUsage(cpu0)
  const formSuspects = suspicions(meshes)
  // (a window, not synchronisation) after formation: is the mesh quiet, or does it keep suspecting itself?
  const after0 = process.cpuUsage()
  const w0 = performance.now()
  await sleep(afterMs)
  const afterCpu = process.cpuUsage(after0)
  const afterS = (performance.now() - w0) / 1000
  const transportOf = (m: ConfigMesh) => (m as unknown as { p: { transport: { connections(): string[] } } }).p.transport
  const row: Row = {
    join,
    peers: n,
    formedMs,
    complete: complete(),
    cpuMs: (cpu.user + cpu.system) / 1000,
    connectionsPerPeer: meshes.reduce((s, m) => s + transportOf(m).connections().length, 0) / n,
    opened,
    dialTimeouts,
    formSuspects,
    afterCpuPct: ((afterCpu.user + afterCpu.system) / 1e6 / afterS / n) * 100,
    afterSuspectsPerSec: (suspicions(meshes) - formSuspects) / afterS / n,
  }
  await Promise.all(meshes.map((m) => m.stop().catch(() => {})))
  return row
}

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2))
  const n = cli.num('peers', 40, 20)
  const joins = cli.str('join', 'default,off').split(',')
  const rounds = cli.num('rounds', 2, 1)
  const timeoutMs = cli.num('timeout', 120, 60) * 1000
  const afterMs = cli.num('after', 20, 10) * 1000
  const machine = await sampleMachine()
  warnIfBusy(machine)
  // the settings alternate, round after round, so a change in the machine's load hits them alike
  const order = Array.from({ length: rounds }, () => joins).flat()
  const rows: Row[] = []
  for (const [i, join] of order.entries()) {
    process.stderr.write(`[formation] ${i + 1}/${order.length}: ${n} peers, join sync ${join}...\n`)
    rows.push(await measure(n, join, timeoutMs, afterMs))
  }
  const table: Table = {
    headers: [
      'join sync',
      'peers',
      'full membership',
      'CPU until then',
      'connections per peer',
      'connections opened (both ends)',
      'dials timed out',
      'suspicions until formed',
      `next ${afterMs / 1000} s: CPU per peer`,
      'next: suspicions per peer per s',
    ],
    rows: rows.map((r) => [
      r.join,
      String(r.peers),
      r.formedMs === undefined
        ? `not within ${timeoutMs / 1000} s (${r.complete}/${r.peers})`
        : `${(r.formedMs / 1000).toFixed(1)} s`,
      `${(r.cpuMs / 1000).toFixed(1)} s`,
      r.connectionsPerPeer.toFixed(1),
      String(r.opened),
      String(r.dialTimeouts),
      String(r.formSuspects),
      `${r.afterCpuPct.toFixed(2)} %`,
      r.afterSuspectsPerSec.toFixed(2),
    ]),
  }
  printTable('formation', table)
  writeResultsSection(
    'formation',
    [
      '## Formation: a mesh starting at once, in one process (bench/formation.ts)',
      '',
      machineLine(machine),
      '',
      `\`npx tsx bench/formation.ts --peers=${n} --join=${joins.join(',')} --rounds=${rounds} --after=${afterMs / 1000}\`: ${n} SWIM peers start ` +
        'at once in one Node process on 127.0.0.1, all bootstrapping from the first, empty document. "join sync ' +
        'default": the ring-served join sync as shipped; "off": `ring.joinSync: false`. CPU is the process CPU until ' +
        'every peer listed every other; connections per peer at that moment (discovery aims for 12); connections ' +
        "opened counts both ends; dials timed out are counted from the peers' debug log. Then, for the next " +
        `${afterMs / 1000} s (nothing written, nobody crashed): process CPU per peer and SWIM suspicion events per ` +
        'peer per second (all false; a suspicion counts once per peer that applies it). One event loop for all ' +
        'peers: compare the rows of one run, not with a deployment.',
      '',
      renderMarkdown(table),
    ].join('\n'),
  )
}

if (isMain(import.meta.url)) await runMain(main)
