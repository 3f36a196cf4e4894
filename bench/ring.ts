/**
 * Benchmark of the consistent hash ring: balance (max/mean keys per member, with and without bounded loads),
 * movement on one join and one leave (as a multiple of 1/N), and lookup throughput, over a vnodes sweep.
 *
 * Run: `npx tsx bench/ring.ts` (optional: `SEED=123`). Prints a table and replaces the `## Ring` section of
 * `bench/RESULTS.md` (between `<!-- ring:start -->` and `<!-- ring:end -->`), leaving other sections alone.
 *
 * @module
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { createHashRing, DEFAULT_VNODES, type HashRing } from '../src/ring/hash-ring.js'
import { fakePeerId } from './lib/peer-ids.js'

const MEMBERS = 100
const KEYS = 100_000
const EPSILON = 0.1
const TRIALS = 20
const VNODES_SWEEP = [...new Set([50, 100, 160, 200, 400, DEFAULT_VNODES])].sort((a, b) => a - b)
const LOOKUP_MS = 400
const SEED = process.env.SEED === undefined ? 0x5eed : Number(process.env.SEED)

/** mulberry32: small seeded PRNG, enough for generating ids. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const keys = Array.from({ length: KEYS }, (_, i) => `service-${i % 97}/config/key-${i}`)

function maxOverMean(owner: (key: string) => string): number {
  const counts = new Map<string, number>()
  for (const key of keys) {
    const id = owner(key)
    counts.set(id, (counts.get(id) ?? 0) + 1)
  }
  return Math.max(...counts.values()) / (KEYS / MEMBERS)
}

function primaries(ring: HashRing): string[] {
  return keys.map((key) => ring.primaryOf(key)!)
}

interface Movement {
  /** Moved fraction times N (1.0 = exactly 1/N). */
  times: number
  /** Keys that moved between two members that were both present before and after (must be 0). */
  stray: number
}

function movement(before: string[], after: string[], changed: string, n: number): Movement {
  let moved = 0
  let stray = 0
  for (let k = 0; k < before.length; k++) {
    if (before[k] === after[k]) continue
    moved++
    if (before[k] !== changed && after[k] !== changed) stray++
  }
  return { times: (moved / before.length) * n, stray }
}

function assignedMovement(before: Map<string, string>, after: Map<string, string>, n: number): number {
  let moved = 0
  for (const [key, owner] of before) if (after.get(key) !== owner) moved++
  return (moved / before.size) * n
}

function lookupsPerSecond(fn: (key: string) => unknown): number {
  let best = 0
  for (let round = 0; round < 3; round++) {
    let calls = 0
    const start = performance.now()
    let elapsed = 0
    while (elapsed < LOOKUP_MS) {
      for (let k = 0; k < keys.length; k++) fn(keys[k]!)
      calls += keys.length
      elapsed = performance.now() - start
    }
    best = Math.max(best, calls / (elapsed / 1000))
  }
  return best
}

interface Row {
  vnodes: number
  plainMean: number
  plainWorst: number
  boundedMean: number
  boundedWorst: number
  joinMean: number
  joinWorst: number
  leaveMean: number
  leaveWorst: number
  boundedJoinMean: number
  stray: number
  assignMs: number
  rebuildMs: number
  primaryPerSec: number
  ownerOfPerSec: number
  ownerOf3PerSec: number
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length

async function measure(vnodes: number): Promise<Row> {
  const plain: number[] = []
  const bounded: number[] = []
  const joins: number[] = []
  const leaves: number[] = []
  const boundedJoins: number[] = []
  const assignMs: number[] = []
  let stray = 0
  let lastRing: HashRing | undefined
  for (let trial = 0; trial < TRIALS; trial++) {
    const random = rng(SEED + trial)
    const ids = Array.from({ length: MEMBERS }, () => fakePeerId(random))
    const ring = await createHashRing({ vnodes, members: ids })
    const boundedRing = await createHashRing({ vnodes, members: ids, boundedLoad: { epsilon: EPSILON } })
    lastRing = ring

    const base = primaries(ring)
    plain.push(maxOverMean((key) => ring.primaryOf(key)!))
    const t0 = performance.now()
    const assigned = boundedRing.assign(keys)
    assignMs.push(performance.now() - t0)
    bounded.push(maxOverMean((key) => assigned.get(key)!))

    const joiner = fakePeerId(random)
    ring.add(joiner)
    const join = movement(base, primaries(ring), joiner, MEMBERS)
    joins.push(join.times)
    ring.remove(joiner)

    boundedRing.add(joiner)
    boundedJoins.push(assignedMovement(assigned, boundedRing.assign(keys), MEMBERS))

    const leaver = ids[Math.floor(random() * ids.length)]!
    ring.remove(leaver)
    const leave = movement(base, primaries(ring), leaver, MEMBERS)
    leaves.push(leave.times)
    ring.add(leaver)
    stray += join.stray + leave.stray
  }
  const ring = lastRing!
  const members = ring.members()
  ring.primaryOf('warm-up')
  const rebuildStart = performance.now()
  for (const id of members) {
    ring.remove(id)
    ring.primaryOf('rebuild') // the point array is rebuilt lazily on the first lookup after a change
    ring.add(id)
    ring.primaryOf('rebuild')
  }
  const rebuildMs = (performance.now() - rebuildStart) / (2 * members.length)
  return {
    vnodes,
    plainMean: mean(plain),
    plainWorst: Math.max(...plain),
    boundedMean: mean(bounded),
    boundedWorst: Math.max(...bounded),
    joinMean: mean(joins),
    joinWorst: Math.max(...joins),
    leaveMean: mean(leaves),
    leaveWorst: Math.max(...leaves),
    boundedJoinMean: mean(boundedJoins),
    stray,
    assignMs: mean(assignMs),
    rebuildMs,
    primaryPerSec: lookupsPerSecond((key) => ring.primaryOf(key)),
    ownerOfPerSec: lookupsPerSecond((key) => ring.ownerOf(key)),
    ownerOf3PerSec: lookupsPerSecond((key) => ring.ownerOf(key, 3)),
  }
}

const f2 = (x: number): string => x.toFixed(2)
const millions = (x: number): string => (x / 1e6).toFixed(2) + 'M'

const HEADER = [
  'vnodes',
  'max/mean',
  'max/mean bounded ε=0.1',
  'join moved ×1/N',
  'leave moved ×1/N',
  'bounded join moved ×1/N',
  'stray moves',
  'assign 100k',
  'rebuild',
  'primaryOf/s',
  'ownerOf/s',
  'ownerOf(k,3)/s',
]

function cells(row: Row): string[] {
  return [
    row.vnodes === DEFAULT_VNODES ? `**${row.vnodes}** (default)` : String(row.vnodes),
    `${f2(row.plainMean)} (worst ${f2(row.plainWorst)})`,
    `${f2(row.boundedMean)} (worst ${f2(row.boundedWorst)})`,
    `${f2(row.joinMean)} (worst ${f2(row.joinWorst)})`,
    `${f2(row.leaveMean)} (worst ${f2(row.leaveWorst)})`,
    f2(row.boundedJoinMean),
    String(row.stray),
    `${row.assignMs.toFixed(0)} ms`,
    `${row.rebuildMs.toFixed(1)} ms`,
    millions(row.primaryPerSec),
    millions(row.ownerOfPerSec),
    millions(row.ownerOf3PerSec),
  ]
}

const rows: Row[] = []
for (const vnodes of VNODES_SWEEP) {
  const row = await measure(vnodes)
  rows.push(row)
  console.log(
    HEADER.map((h, i) => `${h}: ${cells(row)[i]}`)
      .join(' | ')
      .replaceAll('**', ''),
  )
}

const cpu = os.cpus()[0]?.model ?? 'unknown cpu'
const machine = `${cpu}, ${os.cpus().length} cores, Node ${process.version}, ${os.platform()} ${os.arch()}`
const date = new Date().toISOString()
const table = [
  `| ${HEADER.join(' | ')} |`,
  `| ${HEADER.map(() => '---').join(' | ')} |`,
  ...rows.map((row) => `| ${cells(row).join(' | ')} |`),
].join('\n')

/** ceil((1 + ε) · mean) in exact arithmetic (the inputs are short decimals). */
const CAP = Math.ceil(Number(((1 + EPSILON) * (KEYS / MEMBERS)).toFixed(9)))
const def = rows.find((row) => row.vnodes === DEFAULT_VNODES)!
const check = (ok: boolean): string => (ok ? 'met' : 'MISSED')
const summary = [
  `- max/mean keys per member: ${f2(def.plainMean)} without bounded loads, ${f2(def.boundedMean)} with ε=${EPSILON} ` +
    `(bound ceil(${1 + EPSILON} × mean) / mean = ${f2(CAP / (KEYS / MEMBERS))}: ${check(def.boundedWorst * (KEYS / MEMBERS) <= CAP + 1e-6)})`,
  `- keys moved on one join: ${f2(def.joinMean)}/N on average, worst ${f2(def.joinWorst)}/N; on one leave: ` +
    `${f2(def.leaveMean)}/N, worst ${f2(def.leaveWorst)}/N (target ≤ 1.1/N on average: ` +
    `${check(def.joinMean <= 1.1 && def.leaveMean <= 1.1)}); stray moves: ${def.stray}`,
  `- lookups: primaryOf ${millions(def.primaryPerSec)}/s, ownerOf ${millions(def.ownerOfPerSec)}/s, ` +
    `ownerOf(key, 3) ${millions(def.ownerOf3PerSec)}/s (target ≥ 1M/s: ${check(def.ownerOfPerSec >= 1e6)})`,
  `- assign(100k keys) with bounded loads: ${def.assignMs.toFixed(0)} ms; rebuild after one join/leave: ` +
    `${def.rebuildMs.toFixed(1)} ms (lazy, on the next lookup)`,
].join('\n')

const section = `<!-- ring:start -->
## Ring

Command: \`npx tsx bench/ring.ts\` (seed ${SEED}) · ${date}
Machine: ${machine}

${MEMBERS} members of weight 1 (ids shaped like Ed25519 peer ids), ${KEYS.toLocaleString('en')} keys, ${TRIALS} trials per row
(each trial a fresh member set; "worst" is the worst trial). max/mean: most keys on one member over the mean
(1.00 = perfect). Moved ×1/N: fraction of keys whose owner changed when one member joined (N → N+1) or one left,
times N = ${MEMBERS}; ideal ≈ 1.0, target ≤ 1.1 on average. Stray moves: keys that moved between two members that
did not change (must be 0). Bounded join: same for \`assign\` with ε=${EPSILON} (includes the bounded-load cascade).
Rebuild: re-sorting the point array after one membership change (first lookup after the change pays it).
Lookups: single thread, best of 3 × ${LOOKUP_MS} ms over the ${KEYS.toLocaleString('en')} keys, key hashing included.

At the default vnodes (${DEFAULT_VNODES}):
${summary}

${table}
<!-- ring:end -->`

console.log(`\n${machine}\n`)
console.log(summary)
console.log(`\n${table}`)

const resultsPath = fileURLToPath(new URL('./RESULTS.md', import.meta.url))
const current = existsSync(resultsPath) ? readFileSync(resultsPath, 'utf8') : '# Benchmark results\n'
const pattern = /<!-- ring:start -->[\s\S]*?<!-- ring:end -->/
const next = pattern.test(current) ? current.replace(pattern, () => section) : `${current.trimEnd()}\n\n${section}\n`
writeFileSync(resultsPath, next)
console.log(`\nwrote the Ring section of ${resultsPath}`)
