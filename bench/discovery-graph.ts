/**
 * Question: does the connection graph that discovery builds stay connected, with a small diameter, as the mesh
 * grows to 100, 1,000 and 10,000 peers, and do gossip duplicates per write per peer stay bounded?
 *
 * The graph is built by the rules of `src/membership/membership.ts` (`discover()`), with its defaults: every peer
 * knows every live member (membership), and each round every peer holding fewer than `targetConnections` (12)
 * connections dials up to `maxDialsPerRound` (8) random members it is not connected to; a dial succeeds unless the
 * remote already holds `maxConnections` (128, `libp2p-node.ts`). Rounds repeat until nobody is below the target.
 * Connections are undirected (inbound ones count towards the target too). Two arrival orders: everyone at once, and
 * peers joining one by one (each new peer dials only among the peers already there, which then stop dialling).
 *
 * Gossip: the gossipsub settings of `libp2p-node.ts` (mesh degree D = 3, Dlo = 2, Dhi = 5, flood publishing). The
 * mesh is grafted over the connections (each peer grafts random connected peers up to D, over-full peers prune to
 * D, until stable); a write is flooded by its publisher to every connection, and every peer forwards its first copy
 * to its mesh peers except the one it came from, with an independent exponential delay per hop (so copies race as
 * on a real network). Copies received per peer per write, minus one, are the duplicates; IHAVE/IWANT gossip
 * (message ids only) is not counted.
 *
 * Run: `npx tsx bench/discovery-graph.ts [--peers=100,1000,10000] [--writes=20] [--seed=1] [--no-write]`
 *
 * @module
 */
import { DEFAULT_MAX_DIALS_PER_ROUND, DEFAULT_TARGET_CONNECTIONS } from '../src/membership/membership.js'
import { DEFAULT_MAX_CONNECTIONS } from '../src/transport/libp2p-node.js'
import { createSeededRandom } from '../src/transport/seeded-random.js'
import { createVirtualScheduler } from '../src/transport/virtual-scheduler.js'
import { machineLine, sampleMachine } from './lib/machine.js'
import { writeResultsData, writeResultsSection } from './lib/results.js'
import { fmt } from './lib/stats.js'
import { printTable, renderMarkdown, type Table } from './lib/table.js'

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=')
    return [k as string, v ?? 'true']
  }),
)
const PEERS = (args.get('peers') ?? '100,1000,10000').split(',').map(Number)
const WRITES = Number(args.get('writes') ?? 20)
const SEED = Number(args.get('seed') ?? 1)
/** BFS sources for path lengths: every peer up to this many, else a random sample of this many. */
const MAX_SOURCES = 1000
const GOSSIP = { D: 3, Dlo: 2, Dhi: 5 }

type Random = () => number

/** An undirected graph as adjacency sets. */
type Graph = Array<Set<number>>

/** Builds the connection graph by discovery's rules; `sequential`: peers arrive one by one. */
function discover(n: number, random: Random, sequential: boolean): { graph: Graph; rounds: number } {
  const graph: Graph = Array.from({ length: n }, () => new Set<number>())
  const target = Math.min(DEFAULT_TARGET_CONNECTIONS, DEFAULT_MAX_CONNECTIONS)
  let rounds = 0
  const round = (present: number): boolean => {
    let dialled = false
    const order = Array.from({ length: present }, (_, i) => i)
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      ;[order[i], order[j]] = [order[j]!, order[i]!]
    }
    for (const peer of order) {
      const own = graph[peer]!
      let budget = Math.min(DEFAULT_MAX_DIALS_PER_ROUND, target - own.size)
      for (let tries = 0; budget > 0 && tries < 8 * DEFAULT_MAX_DIALS_PER_ROUND; tries++) {
        const other = Math.floor(random() * present)
        if (other === peer || own.has(other)) continue
        budget--
        dialled = true
        if (graph[other]!.size >= DEFAULT_MAX_CONNECTIONS) continue
        own.add(other)
        graph[other]!.add(peer)
      }
    }
    return dialled
  }
  if (sequential) {
    for (let present = 2; present <= n; present++) {
      // The newcomer knows the members already there; everyone below target dials (in practice the newcomer).
      for (let r = 0; r < 3 && round(present); r++) rounds++
    }
  } else {
    while (rounds < 50 && round(n)) rounds++
  }
  return { graph, rounds }
}

interface Paths {
  components: number
  diameter: number
  meanPath: number
  exact: boolean
}

/** Connected components, and eccentricities from every peer (or a random sample of MAX_SOURCES). */
function paths(graph: Graph, random: Random): Paths {
  const n = graph.length
  // CSR adjacency for fast BFS.
  const start = new Uint32Array(n + 1)
  for (let i = 0; i < n; i++) start[i + 1] = start[i]! + graph[i]!.size
  const adj = new Uint32Array(start[n]!)
  for (let i = 0; i < n; i++) {
    let k = start[i]!
    for (const j of graph[i]!) adj[k++] = j
  }
  const dist = new Int32Array(n)
  const queue = new Uint32Array(n)
  const bfs = (source: number): { ecc: number; sum: number; reached: number } => {
    dist.fill(-1)
    dist[source] = 0
    let head = 0
    let tail = 0
    queue[tail++] = source
    let sum = 0
    let ecc = 0
    while (head < tail) {
      const v = queue[head++]!
      const d = dist[v]!
      sum += d
      if (d > ecc) ecc = d
      for (let k = start[v]!; k < start[v + 1]!; k++) {
        const w = adj[k]!
        if (dist[w] === -1) {
          dist[w] = d + 1
          queue[tail++] = w
        }
      }
    }
    return { ecc, sum, reached: tail }
  }
  // Components.
  const seen = new Uint8Array(n)
  let components = 0
  for (let v = 0; v < n; v++) {
    if (seen[v] === 1) continue
    components++
    bfs(v)
    for (let w = 0; w < n; w++) if (dist[w]! >= 0) seen[w] = 1
  }
  const exact = n <= MAX_SOURCES
  const sources = exact
    ? Array.from({ length: n }, (_, i) => i)
    : Array.from({ length: MAX_SOURCES }, () => Math.floor(random() * n))
  let diameter = 0
  let sum = 0
  let pairs = 0
  for (const s of sources) {
    const r = bfs(s)
    diameter = Math.max(diameter, r.ecc)
    sum += r.sum
    pairs += r.reached - 1
  }
  return { components, diameter, meanPath: sum / pairs, exact }
}

/** Grafts a gossipsub mesh over the connections: up to D per peer, over-full peers prune to D. */
function graftMesh(graph: Graph, random: Random): Graph {
  const n = graph.length
  const mesh: Graph = Array.from({ length: n }, () => new Set<number>())
  for (let heartbeat = 0; heartbeat < 10; heartbeat++) {
    let changed = false
    for (let v = 0; v < n; v++) {
      const own = mesh[v]!
      if (own.size < GOSSIP.Dlo || (heartbeat === 0 && own.size < GOSSIP.D)) {
        const candidates = [...graph[v]!].filter((w) => !own.has(w))
        while (own.size < GOSSIP.D && candidates.length > 0) {
          const [w] = candidates.splice(Math.floor(random() * candidates.length), 1)
          own.add(w!)
          mesh[w!]!.add(v)
          changed = true
        }
      }
      if (own.size > GOSSIP.Dhi) {
        const members = [...own]
        while (own.size > GOSSIP.D) {
          const [w] = members.splice(Math.floor(random() * members.length), 1)
          own.delete(w!)
          mesh[w!]!.delete(v)
          changed = true
        }
      }
    }
    if (!changed) break
  }
  return mesh
}

interface Flood {
  copiesMean: number
  copiesMax: number
  missed: number
  hopsMax: number
  meshDegreeMean: number
}

/** Floods `writes` messages from random publishers; copies per peer and hops of the first copy. */
function flood(graph: Graph, mesh: Graph, random: Random, writes: number): Flood {
  const n = graph.length
  let copies = 0
  let copiesMax = 0
  let missed = 0
  let hopsMax = 0
  const got = new Uint32Array(n)
  const hops = new Int32Array(n)
  for (let w = 0; w < writes; w++) {
    got.fill(0)
    hops.fill(-1)
    const publisher = Math.floor(random() * n)
    // Deliveries race on virtual time (the transport's scheduler, run synchronously).
    const scheduler = createVirtualScheduler({ startTime: 0 })
    const delay = (): number => 0.5 - Math.log(1 - random())
    const deliver = (to: number, from: number, h: number): void => {
      got[to]!++
      if (hops[to] !== -1) return
      hops[to] = h
      hopsMax = Math.max(hopsMax, h)
      for (const next of mesh[to]!) {
        if (next !== from && next !== publisher)
          scheduler.at(scheduler.now() + delay(), () => deliver(next, to, h + 1), 'copy')
      }
    }
    hops[publisher] = 0
    for (const to of graph[publisher]!) scheduler.at(delay(), () => deliver(to, publisher, 1), 'publish') // flood publish
    scheduler.runUntilSync(Number.POSITIVE_INFINITY)
    for (let v = 0; v < n; v++) {
      if (v === publisher) continue
      if (got[v] === 0) missed++
      copies += got[v]!
      copiesMax = Math.max(copiesMax, got[v]!)
    }
  }
  let degree = 0
  for (const m of mesh) degree += m.size
  return {
    copiesMean: copies / (writes * (n - 1)),
    copiesMax,
    missed,
    hopsMax,
    meshDegreeMean: degree / n,
  }
}

interface Row extends Paths, Flood {
  peers: number
  arrival: 'at once' | 'one by one'
  rounds: number
  degreeMin: number
  degreeMean: number
  degreeMax: number
}

async function main(): Promise<void> {
  const machine = await sampleMachine()
  const rows: Row[] = []
  for (const n of PEERS) {
    for (const sequential of [false, true]) {
      const random = createSeededRandom(SEED + n + (sequential ? 1 : 0)).next
      const { graph, rounds } = discover(n, random, sequential)
      const degrees = graph.map((s) => s.size)
      const mesh = graftMesh(graph, random)
      const row: Row = {
        peers: n,
        arrival: sequential ? 'one by one' : 'at once',
        rounds,
        degreeMin: Math.min(...degrees),
        degreeMean: degrees.reduce((a, b) => a + b, 0) / n,
        degreeMax: Math.max(...degrees),
        ...paths(graph, random),
        ...flood(graph, mesh, random, WRITES),
      }
      rows.push(row)
      process.stderr.write(`[discovery-graph] ${JSON.stringify(row)}\n`)
    }
  }
  const table: Table = {
    headers: [
      'peers',
      'arrival',
      'connections min / mean / max',
      'components',
      'diameter',
      'mean path',
      'gossip mesh degree',
      'copies received per peer per write (mean / max)',
      'duplicates per peer per write',
      'hops of first copy (max)',
      'missed deliveries',
    ],
    rows: rows.map((r) => [
      r.peers.toLocaleString('en'),
      r.arrival,
      `${r.degreeMin} / ${fmt(r.degreeMean, 1)} / ${r.degreeMax}`,
      String(r.components),
      r.exact ? String(r.diameter) : `≥ ${r.diameter}`,
      fmt(r.meanPath, 2),
      fmt(r.meshDegreeMean, 2),
      `${fmt(r.copiesMean, 2)} / ${r.copiesMax}`,
      fmt(r.copiesMean - 1, 2),
      String(r.hopsMax),
      String(r.missed),
    ]),
  }
  printTable('Discovery graph and gossip duplicates', table)
  if (args.get('no-write') === 'true') return
  writeResultsData('discovery-graph', rows)
  writeResultsSection(
    'discovery-graph',
    [
      '## Scale: discovery graph and gossip duplicates (simulated)',
      '',
      machineLine(machine),
      '',
      `\`npx tsx bench/discovery-graph.ts --peers=${PEERS.join(',')} --writes=${WRITES} --seed=${SEED}\`: the connection graph built by discovery's rules (\`membership.ts\` \`discover()\`: below ${DEFAULT_TARGET_CONNECTIONS} connections, dial up to ${DEFAULT_MAX_DIALS_PER_ROUND} random unconnected members a round; a peer at ${DEFAULT_MAX_CONNECTIONS} connections refuses), everyone arriving at once or one by one; then the gossipsub settings of \`libp2p-node.ts\` (mesh D = ${GOSSIP.D}, Dlo = ${GOSSIP.Dlo}, Dhi = ${GOSSIP.Dhi}, flood publishing) over it, ${WRITES} writes from random publishers with a random delay per hop. Diameter and mean path length: exact BFS from every peer up to ${MAX_SOURCES.toLocaleString('en')} peers, else from ${MAX_SOURCES.toLocaleString('en')} random peers (≥: the largest eccentricity found, a lower bound). Copies: payload copies a peer receives per write (flood from the publisher plus mesh forwards; IHAVE/IWANT ids not counted); duplicates = copies - 1.`,
      '',
      renderMarkdown(table),
      '',
      "Reading: the graph is a random graph of minimum degree 12, so it is connected and its diameter grows like log(N) / log(12): 3 hops at 100 peers, 4 at 1,000, 5 at 10,000. Gossip duplicates depend on the mesh degree and the publisher's connection count, not on N: every peer receives about its mesh degree in copies whatever the mesh size, and the first copy arrives within the mesh diameter in hops.",
    ].join('\n'),
  )
}

await main()
