/**
 * Partition heal time on real sockets: 6 peers in this process (libp2p over loopback), split 3/3 by a connection
 * gater, both sides write (unique keys and hot keys both sides fight over, as `test/faults/lib/partition-scenario.ts`),
 * then the network heals. Measured: heal -> every peer sees every other as a member again (membership's reconnect),
 * heal -> every replica identical (JSON, state vector, nothing pending), and the ingest counters that tell how the
 * merge went (replies applied in causal slices, updates refused, catch-up pulls).
 *
 * The partition's length is given as a number of writes (`--writes`, all peers together; each peer waits for its set,
 * then 0-20 ms, as the fault test), so runs on machines of different load merge the same amount: 15 s of the fault
 * test's writes on an idle machine are about 6,000. `--durable` gives every peer a data dir (slower writes).
 *
 *   npx tsx bench/heal.ts [--writes=6000,24000] [--durable] [--quick]
 *
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ConfigMesh } from '../src/index.js'
import {
  NetworkControl,
  reconnectAll,
  seededRandom,
  startMesh,
  stopAll,
  waitForConvergence,
  waitForMembers,
} from '../test/helpers/cluster.js'
import { waitFor } from '../test/helpers/wait-for.js'
import { parseCli } from './lib/cli.js'
import { machineLine, sampleMachine } from './lib/machine.js'

/** One heal measured. */
interface HealRow {
  writeMs: number
  writes: number
  /** Heal -> every peer sees every other as a live member again. */
  membersMs: number
  healMs: number
  sliced: number
  slices: number
  refused: number
  pulls: number
}

const sum = (meshes: ConfigMesh[], pick: (c: Record<string, number>) => number): number =>
  meshes.reduce((n, m) => n + pick(m.diagnostics().counters), 0)

async function measure(totalWrites: number, seed: number, durable: boolean): Promise<HealRow> {
  const random = seededRandom(seed)
  const root = mkdtempSync(join(tmpdir(), 'confmesh-bench-heal-'))
  const network = new NetworkControl()
  const meshes: ConfigMesh[] = []
  try {
    const dataDir = (i: number) => (durable ? { dataDir: join(root, `p${i}`) } : {})
    const first = await startMesh({ network, ...dataDir(0) })
    meshes.push(first)
    for (const i of [1, 2, 3, 4, 5])
      meshes.push(await startMesh({ network, ...dataDir(i), bootstrap: [first.addresses[0]!] }))
    await waitForMembers(meshes, 60_000)
    await network.split([meshes.slice(0, 3), meshes.slice(3)])
    await waitFor(() => meshes.every((m) => m.peers().length === 2), {
      timeoutMs: 60_000,
      message: 'each side to see only itself',
    })
    const before = {
      pulls: sum(meshes, (c) => c['catchUp.pulls'] ?? 0),
      refused: sum(meshes, (c) => c['applier.rejected'] ?? 0),
    }
    let writes = 0
    const writing = Date.now()
    await Promise.all(
      meshes.map(async (m, peer) => {
        const ns = m.namespace('partition')
        for (let n = 0; n < totalWrites / meshes.length; n++) {
          const key = random() < 0.3 ? `hot-${Math.floor(random() * 32)}` : `p${peer}-${n}`
          await ns.set(key, `p${peer}#${n}`)
          writes++
          // As the fault test: a pause of 0-20 ms, so a side's writers append concurrently (what makes the merge
          // large for the conflict-cost estimate); without it one process's peers mostly append in turn.
          await new Promise((r) => setTimeout(r, Math.floor(random() * 20)))
        }
      }),
    )
    const writeMs = Date.now() - writing
    const healed = Date.now()
    network.heal()
    await reconnectAll(meshes, 60_000)
    const membersMs = Date.now() - healed
    await waitForConvergence(meshes, 300_000)
    return {
      writeMs,
      writes,
      membersMs,
      healMs: Date.now() - healed,
      sliced: sum(meshes, (c) => c['applier.sliced'] ?? 0),
      slices: sum(meshes, (c) => c['applier.slices'] ?? 0),
      refused: sum(meshes, (c) => c['applier.rejected'] ?? 0) - before.refused,
      pulls: sum(meshes, (c) => c['catchUp.pulls'] ?? 0) - before.pulls,
    }
  } finally {
    await stopAll(meshes)
    rmSync(root, { recursive: true, force: true })
  }
}

const cli = parseCli()
const writeCounts = cli.nums('writes', [6_000, 24_000], [600])
const durable = cli.flag('durable')
const seed = cli.num('seed', 1)
console.log(machineLine(await sampleMachine()))
console.log(
  '| writes | write phase (s) | heal -> all members (ms) | heal -> converged (ms) | replies sliced (slices) | refused | catch-up pulls |',
)
console.log('| --- | --- | --- | --- | --- | --- | --- |')
for (const count of writeCounts) {
  const r = await measure(count, seed, durable)
  console.log(
    `| ${r.writes} | ${(r.writeMs / 1000).toFixed(1)} | ${r.membersMs} | ${r.healMs} | ${r.sliced} (${r.slices}) | ${r.refused} | ${r.pulls} |`,
  )
}
