/**
 * Question: what does the consistent hash ring cost at 100, 1,000 and 10,000 members (memory, lookups, a full
 * build, one member joining or leaving), and could fewer virtual nodes per member keep the quality targets as N
 * grows?
 *
 * Quality is computed exactly from arc lengths (no key sampling, which at 10,000 members would need millions of
 * keys to see anything but sampling noise): a member's share of the hash space is the sum of the arcs ending at its
 * points; max/mean is the largest share times N; keys moved on a join are exactly the joiner's share, on a leave
 * the leaver's share (the ring moves nothing else: test/unit/ring.test.ts), reported times N (1.00 = ideal 1/N).
 * Targets (bench/RESULTS.md "Ring", at 100 members): max/mean about 1.21 at 200 vnodes, moved <= 1.1/N on average.
 *
 * Costs: "full build" is the sort of every point (what every membership change cost before the ring became
 * incremental); "join" and "leave" are `add`/`remove` of one member plus the first lookup after it (hashing its
 * points and merging them into the sorted arrays), mean of 20. Memory: the point arrays (8 bytes per point) plus the per-member cache of
 * points (4 bytes per point), computed (heap deltas of a few MiB drown in the previous row's garbage).
 *
 * Run: `npx tsx bench/ring-scale.ts [--members=100,1000,10000] [--vnodes=200,100,50] [--no-write]`
 *
 * @module
 */
import { createHashRing, DEFAULT_VNODES, type HashRing } from '../src/ring/hash-ring.js'
import { createSeededRandom } from '../src/transport/seeded-random.js'
import { writeLineChart } from './lib/chart.js'
import { machineLine, sampleMachine } from './lib/machine.js'
import { fakePeerId } from './lib/peer-ids.js'
import { BENCH_DIR, writeResultsData, writeResultsSection } from './lib/results.js'
import { fmt, fmtBytes } from './lib/stats.js'
import { printTable, renderMarkdown, type Table } from './lib/table.js'

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=')
    return [k as string, v ?? 'true']
  }),
)
const MEMBERS = (args.get('members') ?? '100,1000,10000').split(',').map(Number)
const VNODES = (args.get('vnodes') ?? `${DEFAULT_VNODES},100,50`).split(',').map(Number)
const SEED = Number(args.get('seed') ?? 0x5eed)
const CHANGES = 20
const TRIALS = 10
const LOOKUP_KEYS = 100_000

interface Quality {
  maxOverMean: number
  joinMean: number
  joinWorst: number
  leaveMean: number
  leaveWorst: number
}

/** Exact shares from the ring's points (`HashRing.arcShares`). */
function quality(ring: HashRing, random: () => number, n: number): Quality {
  const share = ring.arcShares()
  let max = 0
  for (const s of share.values()) max = Math.max(max, s)
  const leaves: number[] = []
  const ids = ring.members()
  for (let t = 0; t < TRIALS; t++) leaves.push(share.get(ids[Math.floor(random() * ids.length)]!)! * n)
  const joins: number[] = []
  for (let t = 0; t < TRIALS; t++) {
    const joiner = fakePeerId(random)
    ring.add(joiner)
    joins.push(ring.arcShares().get(joiner)! * (n + 1))
    ring.remove(joiner)
  }
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
  return {
    maxOverMean: max * n,
    joinMean: mean(joins),
    joinWorst: Math.max(...joins),
    leaveMean: mean(leaves),
    leaveWorst: Math.max(...leaves),
  }
}

/** One row (also saved to bench/data/ring-scale.json for the Scale charts). */
interface RingScaleRow extends Quality {
  members: number
  vnodes: number
  pointBytes: number
  createMs: number
  fullBuildMs: number
  joinMs: number
  leaveMs: number
  primaryPerSec: number
  ownerOf3PerSec: number
}

/**
 * CPU time of this process (user + system), ms. Used instead of wall time: on a shared 2-core machine a wall-clock
 * measure mostly times the wait for a core.
 */
function cpuNow(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

function lookupsPerSecond(fn: (key: string) => unknown, keys: readonly string[]): number {
  let best = 0
  for (let round = 0; round < 3; round++) {
    const start = cpuNow()
    for (const key of keys) fn(key)
    best = Math.max(best, keys.length / ((cpuNow() - start) / 1000))
  }
  return best
}

async function measure(n: number, vnodes: number, keys: readonly string[]): Promise<RingScaleRow> {
  const random = createSeededRandom(SEED + n + vnodes).next
  const ids = Array.from({ length: n }, () => fakePeerId(random))
  const t0 = cpuNow()
  const ring = await createHashRing({ vnodes, members: ids })
  ring.primaryOf('build')
  const createMs = cpuNow() - t0
  // A full build, timed alone: a fresh ring over the same members (hashing excluded by timing the first lookup).
  const again = await createHashRing({ vnodes, members: ids })
  const t1 = cpuNow()
  again.primaryOf('build')
  const fullBuildMs = cpuNow() - t1

  let joinMs = 0
  let leaveMs = 0
  for (let c = 0; c < CHANGES; c++) {
    const joiner = fakePeerId(random)
    const a = cpuNow()
    ring.add(joiner)
    ring.primaryOf('after-join')
    const b = cpuNow()
    ring.remove(joiner)
    ring.primaryOf('after-leave')
    const d = cpuNow()
    joinMs += b - a
    leaveMs += d - b
  }
  const q = quality(ring, random, n)
  return {
    members: n,
    vnodes,
    pointBytes: n * vnodes * 8,
    createMs,
    fullBuildMs,
    joinMs: joinMs / CHANGES,
    leaveMs: leaveMs / CHANGES,
    primaryPerSec: lookupsPerSecond((key) => ring.primaryOf(key), keys),
    ownerOf3PerSec: lookupsPerSecond((key) => ring.ownerOf(key, 3), keys),
    ...q,
  }
}

const f2 = (x: number): string => x.toFixed(2)
const millions = (x: number): string => `${(x / 1e6).toFixed(2)}M`

async function main(): Promise<void> {
  const machine = await sampleMachine()
  const keys = Array.from({ length: LOOKUP_KEYS }, (_, i) => `service-${i % 97}/config/key-${i}`)
  const rows: RingScaleRow[] = []
  for (const n of MEMBERS) {
    for (const vnodes of VNODES) {
      const row = await measure(n, vnodes, keys)
      rows.push(row)
      process.stderr.write(`[ring-scale] ${JSON.stringify(row)}\n`)
    }
  }
  const table: Table = {
    headers: [
      'members',
      'vnodes',
      'ring memory',
      'create (hash + sort)',
      'full build (sort)',
      'join: add + merge',
      'leave: remove + merge',
      'primaryOf/s',
      'ownerOf(k,3)/s',
      'max/mean share',
      'join moved ×1/N (worst)',
      'leave moved ×1/N (worst)',
    ],
    rows: rows.map((r) => [
      r.members.toLocaleString('en'),
      r.vnodes === DEFAULT_VNODES ? `**${r.vnodes}**` : String(r.vnodes),
      fmtBytes(r.pointBytes * 1.5),
      `${fmt(r.createMs, 1)} ms`,
      `${fmt(r.fullBuildMs, 2)} ms`,
      `${fmt(r.joinMs, 2)} ms`,
      `${fmt(r.leaveMs, 2)} ms`,
      millions(r.primaryPerSec),
      millions(r.ownerOf3PerSec),
      f2(r.maxOverMean),
      `${f2(r.joinMean)} (${f2(r.joinWorst)})`,
      `${f2(r.leaveMean)} (${f2(r.leaveWorst)})`,
    ]),
  }
  printTable('Ring at scale', table)
  if (args.get('no-write') === 'true') return
  writeResultsData('ring-scale', rows)

  const at = (v: number): Array<{ x: number; y: number }> =>
    rows.filter((r) => r.vnodes === v).map((r) => ({ x: r.members, y: r.joinMs }))
  writeLineChart(`${BENCH_DIR}/ring-scale.svg`, {
    title: 'Ring: one join (add + merge) vs a full re-sort, by member count',
    xLabel: 'members',
    yLabel: 'ms',
    series: [
      ...VNODES.map((v) => ({ name: `join, ${v} vnodes`, points: at(v) })),
      {
        name: `full re-sort, ${DEFAULT_VNODES} vnodes`,
        points: rows.filter((r) => r.vnodes === DEFAULT_VNODES).map((r) => ({ x: r.members, y: r.fullBuildMs })),
      },
    ],
  })
  const def = rows.filter((r) => r.vnodes === DEFAULT_VNODES)
  const big = def[def.length - 1]
  const summary =
    big === undefined
      ? ''
      : `At ${big.members.toLocaleString('en')} members and ${DEFAULT_VNODES} vnodes: ${fmtBytes(big.pointBytes)} of point arrays plus ${fmtBytes(big.pointBytes / 2)} of per-member point cache, a join ${fmt(big.joinMs, 2)} ms and a leave ${fmt(big.leaveMs, 2)} ms against ${fmt(big.fullBuildMs, 1)} ms for the full re-sort every change cost before, ${millions(big.primaryPerSec)} primaryOf/s.`
  writeResultsSection(
    'ring-scale',
    [
      '## Ring at scale: 100, 1,000 and 10,000 members',
      '',
      machineLine(machine),
      '',
      `\`npx tsx bench/ring-scale.ts --members=${MEMBERS.join(',')} --vnodes=${VNODES.join(',')}\` (seed ${SEED}). Members of weight 1 with ids shaped like Ed25519 peer ids. Join/leave: \`add\`/\`remove\` of one member plus the first lookup after it (hashing its points, merging them into or out of the sorted arrays), mean of ${CHANGES}. Full build: sorting every point, what every change cost before the ring became incremental (and still costs when more than a quarter of the members change at once). Lookups over ${LOOKUP_KEYS.toLocaleString('en')} keys, best of 3. All times are CPU time of the process (user + system), not wall time, so a busy machine inflates them less. Quality is exact (arc lengths, no key sampling): max/mean share = largest member's share of the hash space × N; keys moved on a join = the joiner's share × (N + 1), on a leave = the leaver's share × N (nothing else moves), mean (worst) of ${TRIALS}.`,
      '',
      summary,
      '',
      renderMarkdown(table),
      '',
      '![ring join cost](ring-scale.svg)',
    ].join('\n'),
  )
}

await main()
