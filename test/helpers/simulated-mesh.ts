/**
 * Whole confmesh peers (`createMesh`: document, ingest pipeline, security, history, gossip, catch-up, pull scheduler,
 * membership, ring, leases, persistence) on the simulated network, on virtual time, and a replayable random run over
 * them in the style of Yjs's randomized tests: random writes, deletes, batches, rollbacks, partitions, crashes and
 * restarts from each peer's own storage, for 3-20 peers, ending in a full comparison of every replica.
 *
 * Each peer has a real Ed25519 identity derived from the seed (so its data dir identity matches its transport) and a
 * memory volume that survives its crashes. Every clock, timer and random choice of the stack comes from the network,
 * so the same seed gives the same run, event for event (the trace hash).
 *
 * @module
 */
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { type ConfigMesh, createMesh, UnknownVersionError, VersionPrunedError } from '../../src/index.js'
import { loadHasher } from '../../src/ring/hasher.js'
import { createMemoryStorage, createMemoryVolume, type MemoryVolume } from '../../src/storage/memory-storage.js'
import type { SeededRandom } from '../../src/transport/seeded-random.js'
import { createSimulatedNetwork, type SimulatedNetwork } from '../../src/transport/simulated-network.js'
import { replicaState } from './cluster.js'

/** Timing of simulated peers (the defaults, but anti-entropy every 2 s). */
const SIM_TIMING = { heartbeatMs: 1_000, memberTimeoutMs: 4_000, antiEntropyMs: 2_000 }
const SILENT = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }

/** One simulated peer: identity, disk, and its running mesh (none while crashed). */
export interface SimulatedPeer {
  readonly id: string
  readonly key: PrivateKey
  readonly volume: MemoryVolume
  mesh: ConfigMesh | undefined
}

/** A cluster of whole peers on one simulated network. */
export class SimulatedCluster {
  readonly peers: SimulatedPeer[] = []
  private constructor(readonly network: SimulatedNetwork) {}

  /** `n` peers, all started, each bootstrapping to the first, every ring complete. */
  static async start(network: SimulatedNetwork, n: number): Promise<SimulatedCluster> {
    // Real asynchronous work (compiling the ring's WebAssembly hash) would let virtual time run on while it waits,
    // differently each run: do it before the run starts.
    await loadHasher()
    const cluster = new SimulatedCluster(network)
    for (let i = 0; i < n; i++) {
      const seed = new Uint8Array(32).map((_, k) => Math.floor(network.random.fork(`key:${i}:${k}`).next() * 256))
      const key = await generateKeyPairFromSeed('Ed25519', seed)
      const id = peerIdFromPrivateKey(key).toString()
      network.addPeer(id)
      cluster.peers.push({ id, key, volume: createMemoryVolume(), mesh: undefined })
    }
    for (const peer of cluster.peers) await cluster.boot(peer)
    await network.runUntil(() => cluster.ringsComplete(), { what: 'every ring complete at start' })
    return cluster
  }

  /** Running meshes. */
  running(): ConfigMesh[] {
    return this.peers.flatMap((p) => (p.mesh === undefined ? [] : [p.mesh]))
  }

  /** Kills a peer (no goodbye; its disk keeps what it stored). */
  crash(peer: SimulatedPeer): void {
    this.network.crash(peer.id)
    peer.mesh = undefined
  }

  /** Restarts a crashed peer from its disk. */
  async restart(peer: SimulatedPeer): Promise<void> {
    this.network.restart(peer.id)
    await this.boot(peer)
  }

  /** Whether every running peer's ring holds exactly the running peers. */
  ringsComplete(): boolean {
    const ids = this.running()
      .map((m) => m.peerId)
      .sort()
    return this.running().every((m) => JSON.stringify([...m.ring.members()].sort()) === JSON.stringify(ids))
  }

  /** Identical JSON, state vectors and history everywhere, nothing pending, every ring complete. */
  converged(): boolean {
    const meshes = this.running()
    // cheap checks first: this runs after every simulated event
    const vectors = meshes.map((m) => m.diagnostics())
    const sv = JSON.stringify(vectors[0]!.stateVector)
    if (!vectors.every((d) => !d.pending && JSON.stringify(d.stateVector) === sv)) return false
    const states = meshes.map(replicaState)
    const first = states[0]!
    if (!states.every((s) => !s.pending && s.json === first.json && s.stateVector === first.stateVector)) return false
    if (!this.ringsComplete()) return false
    const history = JSON.stringify(meshes[0]!.history())
    return meshes.every((m) => JSON.stringify(m.history()) === history)
  }

  private async boot(peer: SimulatedPeer): Promise<void> {
    const transport = this.network.peer(peer.id)
    const first = this.peers[0]!
    peer.mesh = await this.network.settle(
      createMesh({
        name: 'sim',
        transport,
        clock: transport.clock,
        random: transport.random.next,
        privateKey: peer.key,
        storage: createMemoryStorage({ volume: peer.volume }),
        bootstrap: peer === first ? [] : [`/memory/${first.id}/p2p/${first.id}`],
        timing: SIM_TIMING,
        retention: { versions: 25 },
        ring: { joinSync: false },
        logger: SILENT,
      }),
    )
  }
}

/** What a random run did and how it ended. */
export interface RandomRunResult {
  hash: string
  /** The kept trace lines. */
  lines: string[]
  ops: number
  rollbacks: number
  crashes: number
  partitions: number
  events: number
  virtualMs: number
  json: string
}

/** Options of {@link randomRun}. */
export interface RandomRunOptions {
  peers: number
  steps: number
  /** Trace lines kept (for finding where two runs part). Default 200. */
  traceLines?: number
}

/**
 * One replayable random run: `steps` random operations on random live peers with virtual think time between them,
 * then heal, restart every crashed peer, and run until every replica is identical. Throws (with the seed and the last
 * trace lines) if they do not converge within 10 virtual minutes.
 */
export async function randomRun(seed: number, options: RandomRunOptions): Promise<RandomRunResult> {
  const network = createSimulatedNetwork({
    seed,
    link: { latency: { minMs: 1, maxMs: 30 }, loss: 0.05 },
    ...(options.traceLines === undefined ? {} : { traceLines: options.traceLines }),
  })
  const cluster = await SimulatedCluster.start(network, options.peers)
  const rnd: SeededRandom = network.random.fork('ops')
  const keys = ['a', 'b', 'c', 'd', 'e', 'f']
  const namespaces = ['default', 'payments', 'flags']
  const versions: string[] = []
  const result = { ops: 0, rollbacks: 0, crashes: 0, partitions: 0 }
  let partitioned = false
  for (let step = 0; step < options.steps; step++) {
    const live = cluster.peers.filter((p) => p.mesh !== undefined)
    const peer = rnd.pick(live)
    const m = peer.mesh!
    const p = rnd.next()
    if (p < 0.45) {
      await network.settle(m.namespace(rnd.pick(namespaces)).set(rnd.pick(keys), { step, n: rnd.int(0, 999) }))
      versions.push(m.version().id)
      result.ops++
    } else if (p < 0.55) {
      await network.settle(m.namespace(rnd.pick(namespaces)).delete(rnd.pick(keys)))
      result.ops++
    } else if (p < 0.65) {
      const batch: Record<string, unknown> = {}
      for (const k of keys) if (rnd.chance(0.4)) batch[k] = rnd.chance(0.2) ? null : { step, batch: true }
      await network.settle(m.namespace(rnd.pick(namespaces)).update(batch as never))
      result.ops++
    } else if (p < 0.72 && versions.length > 0) {
      const ns = rnd.pick(namespaces)
      try {
        await network.settle(m.rollback(rnd.pick(versions.slice(-20)), rnd.pick([undefined, { namespace: ns }])))
        result.rollbacks++
        result.ops++
      } catch (err) {
        if (!(err instanceof UnknownVersionError || err instanceof VersionPrunedError)) throw err
      }
    } else if (p < 0.76 && !partitioned && live.length > 2) {
      const cut = live.filter(() => rnd.chance(0.4)).map((x) => x.id)
      if (cut.length > 0 && cut.length < live.length) {
        network.partition([cut])
        partitioned = true
        result.partitions++
      }
    } else if (p < 0.8 && partitioned) {
      network.heal()
      partitioned = false
    } else if (p < 0.83 && live.length > 2 && peer !== cluster.peers[0]) {
      cluster.crash(peer)
      result.crashes++
    } else if (p < 0.88) {
      const down = cluster.peers.filter((x) => x.mesh === undefined)
      if (down.length > 0) await cluster.restart(rnd.pick(down))
    }
    await network.runFor(rnd.int(0, 400))
  }
  network.heal()
  for (const peer of cluster.peers) if (peer.mesh === undefined) await cluster.restart(peer)
  // checked at most every 50 virtual ms: comparing every replica after every event would cost more than the run
  let checkedAt = Number.NEGATIVE_INFINITY
  const converged = (): boolean => {
    if (network.scheduler.now() - checkedAt < 50) return false
    checkedAt = network.scheduler.now()
    return cluster.converged()
  }
  await network.runUntil(converged, { what: 'every replica identical', limitMs: 10 * 60_000 })
  const json = replicaState(cluster.running()[0]!).json
  return {
    ...result,
    hash: network.traceHash(),
    lines: network.trace.lines(),
    events: network.trace.events,
    virtualMs: network.scheduler.now() - Date.UTC(2026, 0, 1),
    json,
  }
}
