/**
 * Restart catch-up: the part of churn a restarted peer controls. 4 durable peers in this process (libp2p over
 * loopback); `--restarts` times, one peer stops, a write is made that it misses, it restarts on its data dir, and we
 * measure createMesh resolved -> the missed write readable on it. Percentiles are printed.
 *
 *   npx tsx bench/restart-catch-up.ts [--restarts=20] [--quick]
 *
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ConfigMesh } from '../src/index.js'
import { startMesh, stopAll, waitForMembers } from '../test/helpers/cluster.js'
import { parseCli } from './lib/cli.js'
import { machineLine, sampleMachine } from './lib/machine.js'

const cli = parseCli()
const restarts = cli.num('restarts', 20, 5)
console.log(machineLine(await sampleMachine()))
const root = mkdtempSync(join(tmpdir(), 'confmesh-bench-restart-'))
const meshes: ConfigMesh[] = []
try {
  const first = await startMesh({ dataDir: join(root, 'p0') })
  meshes.push(first)
  for (const i of [1, 2, 3])
    meshes.push(await startMesh({ dataDir: join(root, `p${i}`), bootstrap: [first.addresses[0]!] }))
  await waitForMembers(meshes, 60_000)
  for (let i = 0; i < 200; i++) await first.namespace('bench').set(`k${i}`, i)
  const samples: number[] = []
  for (let round = 0; round < restarts; round++) {
    await meshes[3]!.stop()
    await first.namespace('bench').set(`missed-${round}`, round)
    const again = await startMesh({ dataDir: join(root, 'p3'), bootstrap: [first.addresses[0]!] })
    const ready = performance.now()
    meshes[3] = again
    // The missed write arrives with a catch-up pull: resolved by the change event, not by polling.
    await new Promise<void>((resolve) => {
      if (again.namespace('bench').get(`missed-${round}`) === round) return resolve()
      const off = again.namespace('bench').watch(`missed-${round}`, () => {
        off()
        resolve()
      })
    })
    samples.push(performance.now() - ready)
  }
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(0)
  console.log(`| restarts | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) |`)
  console.log(`| --- | --- | --- | --- | --- |`)
  console.log(`| ${restarts} | ${at(0.5)} | ${at(0.95)} | ${at(0.99)} | ${at(1)} |`)
} finally {
  await stopAll(meshes)
  rmSync(root, { recursive: true, force: true })
}
