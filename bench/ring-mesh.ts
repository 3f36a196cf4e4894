/**
 * Benchmark of the ring inside the mesh: how a burst of joiners' first sync spreads over the members.
 *
 * `members` peers hold ~1 MB of config; `joiners` peers then start at once, all bootstrapping to the same member.
 * Every peer is its own Node process (a peer host, `test/helpers/peer-host/host.ts`). We count the catch-up bytes each member served
 * while the joiners caught up (`catchUp.bytesServed`) and report max/mean over the members, once with ring-served
 * joins (the default) and once with `ring: { joinSync: false }` (every joiner pulls from the neighbours it meets
 * first), for comparison. The hash-ring figures (balance, movement, lookups) are `bench/ring.ts`.
 *
 * Run: `npx tsx bench/ring-mesh.ts` (env: `MEMBERS=20 JOINERS=10`, `HEARTBEAT_MS=1000`). Prints the results and
 * replaces the section between `<!-- ring-mesh:start -->` and `<!-- ring-mesh:end -->` of `bench/RESULTS.md`.
 *
 * @module
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { describeSpread, type JoinSpreadResult, measureJoinSpread } from './ring-join-spread.js'

const MEMBERS = Number(process.env.MEMBERS ?? 20)
const JOINERS = Number(process.env.JOINERS ?? 10)
const HEARTBEAT_MS = Number(process.env.HEARTBEAT_MS ?? 1000)
const timing = { heartbeatMs: HEARTBEAT_MS, memberTimeoutMs: 6 * HEARTBEAT_MS, antiEntropyMs: 10 * HEARTBEAT_MS }

const log = (line: string) => console.log(`  ${line}`)
const runs: Array<{ label: string; result: JoinSpreadResult }> = []
for (const [label, ring] of [
  ['ring-served (default)', undefined],
  ['joinSync: false (before)', { joinSync: false as const }],
] as const) {
  console.log(`${label}: ${JOINERS} joiners into ${MEMBERS} members`)
  const result = await measureJoinSpread({ members: MEMBERS, joiners: JOINERS, timing, log, ...(ring ? { ring } : {}) })
  console.log(`  ${describeSpread(result)}`)
  runs.push({ label, result })
}

const load = os.loadavg().map((x) => x.toFixed(1))
const cpu = os.cpus()[0]?.model ?? 'unknown cpu'
const machine = `${cpu}, ${os.cpus().length} cores, Node ${process.version}, ${os.platform()} ${os.arch()}; load average ${load.join(' ')}`
const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`
const header = [
  'joins',
  'max/mean served',
  'max',
  'mean',
  'bootstrap peer',
  'total (documents)',
  'fallbacks',
  'converged',
]
const rows = runs.map(({ label, result: r }) => [
  label,
  r.spread.toFixed(2),
  kib(r.max),
  kib(r.mean),
  kib(r.servedPerMember[0]!),
  `${kib(r.total)} (${(r.total / r.documentBytes).toFixed(2)})`,
  String(r.fallbacks),
  `${(r.convergeMs / 1000).toFixed(1)} s`,
])
const table = [
  `| ${header.join(' | ')} |`,
  `| ${header.map(() => '---').join(' | ')} |`,
  ...rows.map((r) => `| ${r.join(' | ')} |`),
].join('\n')
const ours = runs[0]!.result
const section = `<!-- ring-mesh:start -->
## Ring in the mesh: joiners' first sync

Command: \`npx tsx bench/ring-mesh.ts\` · ${new Date().toISOString()}
Machine: ${machine}

${JOINERS} peers join a mesh of ${MEMBERS} at once, all through the same bootstrap member; the document is
${kib(ours.documentBytes)} (500 keys of 2 KB from 5 writers). One process per peer, heartbeat ${HEARTBEAT_MS} ms. "served" =
catch-up bytes a member sent while the joiners caught up (\`catchUp.bytesServed\`, includes slices, diffs and
anti-entropy); max/mean over the ${MEMBERS} members (target ≤ 1.5). "total (documents)" = all bytes served / document
size (${JOINERS} = each joiner's state sent once).

- **joiner sync spread: max/mean ${ours.spread.toFixed(2)}** (target ≤ 1.5: ${ours.spread <= 1.5 ? 'met' : 'MISSED'})

${table}
<!-- ring-mesh:end -->`

console.log(`\n${table}`)
const resultsPath = fileURLToPath(new URL('./RESULTS.md', import.meta.url))
const current = existsSync(resultsPath) ? readFileSync(resultsPath, 'utf8') : '# Benchmark results\n'
const pattern = /<!-- ring-mesh:start -->[\s\S]*?<!-- ring-mesh:end -->/
const next = pattern.test(current) ? current.replace(pattern, () => section) : `${current.trimEnd()}\n\n${section}\n`
writeFileSync(resultsPath, next)
console.log(`\nwrote the ring-mesh section of ${resultsPath}`)
