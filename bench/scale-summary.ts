/**
 * Question: how does each peer's cost grow from 100 to 10,000 peers? Collects the rows of the three scale benches
 * (bench/data/swim-sim.json, discovery-graph.json, ring-scale.json; run those first) into one "Scale" section of
 * bench/RESULTS.md with charts of per-peer cost against N on a log axis (bench/scale-fleet-*.svg).
 *
 * Run: `npx tsx bench/scale-summary.ts` (no measuring of its own; re-run after any of the three benches).
 *
 * @module
 */
import path from 'node:path'
import { writeLineChart } from './lib/chart.js'
import { readResultsData, resultsPath, writeResultsSection } from './lib/results.js'
import { fmt, fmtBytes } from './lib/stats.js'
import { renderMarkdown, type Table } from './lib/table.js'

/** The fields of bench/swim-sim.ts rows read here. */
interface SwimRow {
  peers: number
  loss: number
  msgsPerPeerSec: number
  bytesPerPeerSec: number
  pushPullBytesPerPeerSec: number
  heapPerPeer: number
  bytesPerEntry: number
  change99: number
  change100: number
  detect99: number
  detect100: number
  expectedDetect: number
  healMs: number
  falsePositives: number
}

/** The fields of bench/discovery-graph.ts rows read here. */
interface GraphRow {
  peers: number
  arrival: string
  components: number
  diameter: number
  exact: boolean
  meanPath: number
  copiesMean: number
  hopsMax: number
}

/** The fields of bench/ring-scale.ts rows read here. */
interface RingRow {
  members: number
  vnodes: number
  pointBytes: number
  joinMs: number
  fullBuildMs: number
  maxOverMean: number
}

const swim = (readResultsData<SwimRow[]>('swim-sim') ?? []).filter((r) => r.loss === 0.01)
const graph = (readResultsData<GraphRow[]>('discovery-graph') ?? []).filter((r) => r.arrival === 'at once')
const ring = (readResultsData<RingRow[]>('ring-scale') ?? []).filter((r) => r.vnodes === 200)
const dir = path.dirname(resultsPath())
const line = <T>(rows: T[], x: (r: T) => number, y: (r: T) => number) => rows.map((r) => ({ x: x(r), y: y(r) }))

writeLineChart(path.join(dir, 'scale-fleet-messages.svg'), {
  title: 'Per-peer message load against mesh size',
  xLabel: 'peers',
  yLabel: 'per peer',
  series: [
    {
      name: 'SWIM msgs sent / s',
      points: line(
        swim,
        (r) => r.peers,
        (r) => r.msgsPerPeerSec,
      ),
    },
    {
      name: 'gossip copies / write',
      points: line(
        graph,
        (r) => r.peers,
        (r) => r.copiesMean,
      ),
    },
    {
      name: 'graph diameter (hops)',
      points: line(
        graph,
        (r) => r.peers,
        (r) => r.diameter,
      ),
    },
  ],
})
writeLineChart(path.join(dir, 'scale-fleet-bytes.svg'), {
  title: 'Per-peer bytes and memory against mesh size',
  xLabel: 'peers',
  yLabel: 'bytes',
  series: [
    {
      name: 'SWIM probes+gossip B/s',
      points: line(
        swim,
        (r) => r.peers,
        (r) => r.bytesPerPeerSec,
      ),
    },
    {
      name: 'SWIM push-pull B/s',
      points: line(
        swim,
        (r) => r.peers,
        (r) => r.pushPullBytesPerPeerSec,
      ),
    },
    {
      name: 'member table B/peer',
      points: line(
        swim,
        (r) => r.peers,
        (r) => r.heapPerPeer,
      ),
    },
    {
      name: 'ring (200 vnodes) B',
      points: line(
        ring,
        (r) => r.members,
        (r) => r.pointBytes * 1.5,
      ),
    },
  ],
})
writeLineChart(path.join(dir, 'scale-fleet-time.svg'), {
  title: 'Time to spread a change and to drop a crashed peer',
  xLabel: 'peers',
  yLabel: 'ms',
  series: [
    {
      name: 'change at 100 %',
      points: line(
        swim,
        (r) => r.peers,
        (r) => r.change100,
      ),
    },
    {
      name: 'crash dropped by 100 %',
      points: line(
        swim,
        (r) => r.peers,
        (r) => r.detect100,
      ),
    },
    {
      name: 'crash, expected (formula)',
      points: line(
        swim,
        (r) => r.peers,
        (r) => r.expectedDetect,
      ),
    },
    {
      name: 'ring join (merge)',
      points: line(
        ring,
        (r) => r.members,
        (r) => r.joinMs,
      ),
    },
    {
      name: 'ring full re-sort',
      points: line(
        ring,
        (r) => r.members,
        (r) => r.fullBuildMs,
      ),
    },
  ],
})

const sizes = [...new Set([...swim.map((r) => r.peers), ...graph.map((r) => r.peers), ...ring.map((r) => r.members)])]
  .filter((n) => n >= 100)
  .sort((a, b) => a - b)
const table: Table = {
  headers: [
    'peers',
    'SWIM msgs/peer/s',
    'SWIM B/peer/s (+ push-pull)',
    'member table per peer',
    'change 99 % / 100 %',
    'crash dropped 99 % / 100 %',
    'false downs',
    'graph diameter / mean path',
    'gossip copies per peer per write',
    'ring memory / join',
  ],
  rows: sizes.map((n) => {
    const s = swim.find((r) => r.peers === n)
    const g = graph.find((r) => r.peers === n)
    const q = ring.find((r) => r.members === n)
    const ms = (x: number | undefined): string =>
      x === undefined || !Number.isFinite(x) ? '-' : `${fmt(x / 1000, 1)} s`
    return [
      n.toLocaleString('en'),
      s === undefined ? '-' : fmt(s.msgsPerPeerSec),
      s === undefined ? '-' : `${fmtBytes(s.bytesPerPeerSec)} (+ ${fmtBytes(s.pushPullBytesPerPeerSec)})`,
      s === undefined ? '-' : `${fmtBytes(s.heapPerPeer)} (${fmt(s.bytesPerEntry, 0)} B/member)`,
      s === undefined ? '-' : `${ms(s.change99)} / ${ms(s.change100)}`,
      s === undefined ? '-' : `${ms(s.detect99)} / ${ms(s.detect100)}`,
      s === undefined ? '-' : String(s.falsePositives),
      g === undefined ? '-' : `${g.exact ? '' : '≥ '}${g.diameter} / ${fmt(g.meanPath, 2)}`,
      g === undefined ? '-' : fmt(g.copiesMean, 2),
      q === undefined ? '-' : `${fmtBytes(q.pointBytes * 1.5)} / ${fmt(q.joinMs, 1)} ms`,
    ]
  }),
}

writeResultsSection(
  'scale-fleet',
  [
    '## Scale: per-peer cost from 100 to 10,000 peers (simulated)',
    '',
    'Collected by `npx tsx bench/scale-summary.ts` from the sections "Scale: SWIM membership", "Scale: discovery graph and gossip duplicates" and "Ring at scale" (machine and date there; 1 % datagram loss rows). Every per-peer cost is flat or logarithmic in N except two that must grow because every peer knows every member (the ring needs them): the member table (about 40-60 B per member per peer) and push-pull bytes (the whole table every `30 s × (ceil(log2 N - 5) + 1)`, i.e. O(N / log N) bytes per second). Real-peer numbers (libp2p over TCP, 100 peers) are in the fleet section once measured.',
    '',
    renderMarkdown(table),
    '',
    '![per-peer messages](scale-fleet-messages.svg)',
    '![per-peer bytes and memory](scale-fleet-bytes.svg)',
    '![spread and detection times](scale-fleet-time.svg)',
  ].join('\n'),
)
console.log(renderMarkdown(table))
