/**
 * Question: where does a new peer's catch-up with 10 MB of config spend its time? Runs a seed and a joiner in ONE
 * process (so `node --cpu-prof` sees both sides; the seed's share shows as serving) and prints the phases the
 * joiner's counters and a wall clock can tell apart. Profile with:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/join-profile.ts [--mb=10] [--value-bytes=1024]
 *
 * then sum self time per function or file (e.g. with a short script over the `.cpuprofile` JSON).
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { createMesh } from '../src/index.js'

const arg = (name: string, fallback: number): number => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`))
  return hit === undefined ? fallback : Number(hit.split('=')[1])
}
const mb = arg('mb', 10)
const valueBytes = arg('value-bytes', 1024)
const keys = Math.round((mb * 1024 * 1024) / valueBytes)
/** Keys per write batch (one history record each); `--batch=1` writes like bench/join.ts (a record per key). */
const batchSize = arg('batch', 256)

const seed = await createMesh({ timing: { heartbeatMs: 250, memberTimeoutMs: 4_000 } })
const t0 = performance.now()
const ns = seed.namespace('bulk')
for (let i = 0; i < keys; i += batchSize) {
  const batch: Record<string, string> = {}
  for (let k = i; k < Math.min(keys, i + batchSize); k++) batch[`k${k}`] = randomBytes(valueBytes / 2).toString('hex')
  await ns.update(batch)
}
const stats = await seed.stats()
console.log(
  `seed: ${keys} keys of ${valueBytes} B written in ${(performance.now() - t0).toFixed(0)} ms; doc ${stats.documentBytes} B`,
)

const start = performance.now()
const startTicks = process.hrtime.bigint() / 1000n // CLOCK_MONOTONIC in µs: the clock of .cpuprofile timestamps
const joiner = await createMesh({
  bootstrap: [seed.addresses[0]!],
  timing: { heartbeatMs: 250, memberTimeoutMs: 4_000 },
})
const created = performance.now()
const last = `k${keys - 1}`
await new Promise<void>((resolve) => {
  if (joiner.namespace('bulk').get(last) !== undefined) return resolve()
  const stop = joiner.namespace('bulk').watch(last, () => {
    stop()
    resolve()
  })
})
const done = performance.now()
console.log(`join window (µs, .cpuprofile clock): ${startTicks} ${process.hrtime.bigint() / 1000n}`)
const c = joiner.diagnostics().counters
console.log(
  `joiner: created ${(created - start).toFixed(0)} ms, caught up ${(done - start).toFixed(0)} ms; ` +
    `join.* ${JSON.stringify(Object.fromEntries(Object.entries(c).filter(([k]) => k.startsWith('join') || k.startsWith('catchUp') || k.startsWith('applier'))))}`,
)
await Promise.all([joiner.stop(), seed.stop()])
