/**
 * The join-spread scenario: `joiners` peers join a mesh of `members` peers at once, all through the same bootstrap
 * peer, and we count the catch-up bytes each member served (`catchUp.bytesServed`). Every peer is its own process
 * (a peer host with one peer, test/helpers/peer-host/host.ts, per-IP limits lifted). Shared by `bench/ring-mesh.ts` and `test/integration/ring-join.test.ts`.
 *
 * @module
 */
import type { MeshOptions, MeshTiming } from '../src/index.js'
import { type PeerHost, spawnHost, stopHosts } from '../test/helpers/peer-host/host.js'
import type { HostMeshOptions, ReplicaDigest } from '../test/helpers/peer-host/protocol.js'

type RemotePeer = PeerHost
type HostState = ReplicaDigest

/** One peer in its own process; every bench peer shares 127.0.0.1, so libp2p's per-IP limits are lifted. */
const spawnPeer = (options: MeshOptions): Promise<PeerHost> =>
  spawnHost({ peers: [{ mesh: options as HostMeshOptions, colocated: true }] })
const stopPeers = stopHosts
const addressOf = (p: PeerHost): string => p.peers[0]!.addresses[0]!

/** Options of {@link measureJoinSpread}. */
export interface JoinSpreadInit {
  /** Peers of the mesh before the join. Default 20. */
  members?: number
  /** Peers joining at once. Default 10. */
  joiners?: number
  /** Writers x batches x keys x value bytes of the document. Default 5 x 4 x 25 x 2000 (~1 MB). */
  writers?: number
  batches?: number
  keysPerBatch?: number
  valueBytes?: number
  /** Mesh timing of every peer. Default heartbeat 1 s, timeout 6 s, anti-entropy 10 s. */
  timing?: MeshTiming
  /** Ring options of every peer (e.g. `{ joinSync: false }` for the old behaviour). */
  ring?: MeshOptions['ring']
  /** Progress lines. Default: none. */
  log?: (line: string) => void
  /** Give up after this long, ms. Default 400 s. */
  timeoutMs?: number
}

/** What {@link measureJoinSpread} measured. */
export interface JoinSpreadResult {
  members: number
  joiners: number
  documentBytes: number
  /** Bytes each member served during the join, in member order (member 0 is the joiners' bootstrap peer). */
  servedPerMember: number[]
  total: number
  mean: number
  max: number
  /** max / mean */
  spread: number
  /** Whole-pull fallbacks of the joiners. */
  fallbacks: number
  /** Time from spawning the joiners until every replica was identical, ms. */
  convergeMs: number
  /** The joiners' time to their first full state (ms), min and max. */
  joinMs: [number, number]
  /** Counters of every joiner at the end (for diagnosis). */
  joinerCounters: Array<Record<string, number>>
}

const DEFAULT_TIMING: MeshTiming = { heartbeatMs: 1_000, memberTimeoutMs: 6_000, antiEntropyMs: 10_000 }

async function until<T>(
  what: string,
  deadline: number,
  probe: () => Promise<T | undefined>,
  peers: RemotePeer[],
): Promise<T> {
  for (;;) {
    const v = await probe()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${await summary(peers)}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** One line per peer: what it sees and holds (for timeouts). */
async function summary(peers: RemotePeer[]): Promise<string> {
  const s = await Promise.all(peers.map((p) => p.call<HostState>('replica').catch((e: Error) => e)))
  return s
    .map((x, i) =>
      x instanceof Error
        ? `#${i} ${x.message}`
        : `#${i} ${x.peerId.slice(-6)} peers ${x.peers} conn ${x.connected} ready ${x.ready} keys ${x.keys} ` +
          `pending ${x.pending} digest ${x.digest.slice(0, 6)} join ${JSON.stringify(
            Object.fromEntries(Object.entries(x.counters).filter(([k]) => k.startsWith('join.'))),
          )} pulls ${x.counters['catchUp.pulls']}/${x.counters['catchUp.failedPulls']} gaps ${x.counters['applier.gaps']}`,
    )
    .join('\n')
}

const states = (peers: RemotePeer[]): Promise<HostState[]> =>
  Promise.all(peers.map((p) => p.call<HostState>('replica')))

/**
 * Every peer sees all others as ready members and holds at least one connection (discovery connects each peer to
 * `targetConnections` others, 12 by default, not to everyone).
 */
async function formed(peers: RemotePeer[]): Promise<true | undefined> {
  const s = await states(peers)
  return s.every((x) => x.connected >= 1 && x.ready === peers.length - 1) ? true : undefined
}

/** Every replica identical, nothing pending. */
async function converged(peers: RemotePeer[]): Promise<HostState[] | undefined> {
  const s = await states(peers)
  return s.every((x) => !x.pending && x.digest === s[0]!.digest) ? s : undefined
}

/** Runs the scenario; stops every process it started. */
export async function measureJoinSpread(init: JoinSpreadInit = {}): Promise<JoinSpreadResult> {
  const members = init.members ?? 20
  const joinerCount = init.joiners ?? 10
  const writers = init.writers ?? 5
  const batches = init.batches ?? 4
  const keysPerBatch = init.keysPerBatch ?? 25
  const valueBytes = init.valueBytes ?? 2_000
  const log = init.log ?? (() => {})
  const options: MeshOptions = { timing: init.timing ?? DEFAULT_TIMING, ...(init.ring ? { ring: init.ring } : {}) }
  const deadline = Date.now() + (init.timeoutMs ?? 400_000)
  const started = Date.now()
  const all: RemotePeer[] = []
  try {
    all.push(await spawnPeer(options))
    // libp2p accepts 5 inbound connections per second per remote IP, and every peer here is 127.0.0.1: start in
    // waves of 5, each through a different peer.
    while (all.length < members) {
      const wave = Math.min(5, members - all.length)
      all.push(
        ...(await Promise.all(
          Array.from({ length: wave }, (_, i) =>
            spawnPeer({ ...options, bootstrap: [addressOf(all[i % all.length]!)] }),
          ),
        )),
      )
    }
    await until(`${members} members to meet`, deadline, () => formed(all), all)
    log(`${members} members formed in ${Date.now() - started} ms`)
    const value = 'x'.repeat(valueBytes)
    for (let w = 0; w < writers; w++) {
      const writer = all[Math.floor((w * members) / writers)]!
      for (let b = 0; b < batches; b++) {
        const batch: Record<string, string> = {}
        for (let k = 0; k < keysPerBatch; k++) batch[`w${w}.b${b}.k${k}`] = `${w}/${b}/${k}:${value}`
        await writer.call('update', { namespace: 'app', batch })
      }
    }
    const before = await until('the members to converge', deadline, () => converged(all), all)
    const keys = writers * batches * keysPerBatch
    const documentBytes = before[0]!.documentBytes
    log(`document written and converged at ${Date.now() - started} ms`)

    const joinStart = Date.now()
    const joiners = await Promise.all(
      Array.from({ length: joinerCount }, () => spawnPeer({ ...options, bootstrap: [addressOf(all[0]!)] })),
    )
    all.push(...joiners)
    const after = await until(
      'the joiners to converge',
      deadline,
      async () => {
        const s = await converged(all)
        return s?.every((x) => x.keys === keys) ? s : undefined
      },
      all,
    )
    const convergeMs = Date.now() - joinStart
    const servedPerMember = after
      .slice(0, members)
      .map((s, i) => (s.counters['catchUp.bytesServed'] ?? 0) - (before[i]!.counters['catchUp.bytesServed'] ?? 0))
    const total = servedPerMember.reduce((a, b) => a + b, 0)
    const mean = total / members
    const max = Math.max(...servedPerMember)
    const joinerStates = after.slice(members)
    const joinMs = joinerStates.map((s) => s.counters['join.joinMs'] ?? 0)
    return {
      members,
      joiners: joinerCount,
      documentBytes,
      servedPerMember,
      total,
      mean,
      max,
      spread: max / mean,
      fallbacks: joinerStates.reduce((a, s) => a + (s.counters['join.fallbacks'] ?? 0), 0),
      convergeMs,
      joinMs: [Math.min(...joinMs), Math.max(...joinMs)],
      joinerCounters: joinerStates.map((s) => s.counters),
    }
  } finally {
    await stopPeers(all)
  }
}

/** One line for logs and RESULTS.md. */
export function describeSpread(r: JoinSpreadResult): string {
  const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`
  return (
    `${r.joiners} joiners into ${r.members} members: max/mean bytes served per member ${r.spread.toFixed(2)} ` +
    `(max ${kib(r.max)}, mean ${kib(r.mean)}, bootstrap peer ${kib(r.servedPerMember[0]!)}, total ${kib(r.total)} = ` +
    `${(r.total / r.documentBytes).toFixed(2)} documents of ${kib(r.documentBytes)}); whole-pull fallbacks ` +
    `${r.fallbacks}; converged ${(r.convergeMs / 1000).toFixed(1)} s after the joiners started`
  )
}
