/**
 * Whole confmesh peers (`createMesh`: document, ingest pipeline, security, history, gossip, catch-up, pull scheduler,
 * membership, ring, leases, persistence) on the simulated network, on virtual time, and a replayable random run over
 * them in the style of Yjs's randomized tests: random writes, deletes, batches, rollbacks, partitions, crashes and
 * restarts from each peer's own storage, for 3-20 peers, ending in a full comparison of every replica. Private meshes
 * (a writer set) add writer-set changes, refused writes of peers that are not writers, and forged updates that every
 * replica must refuse. Every run also takes leases (`simulated-leases.ts`), and open meshes join through ring-served
 * join sync; both run on the virtual clock.
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
import * as Y from 'yjs'
import { ENTRIES_ROOT } from '../../src/doc/entry.js'
import {
  type ConfigMesh,
  createMesh,
  NotAuthorizedError,
  UnknownVersionError,
  VersionPrunedError,
} from '../../src/index.js'
import { loadHasher } from '../../src/ring/hasher.js'
import { clientIdFor } from '../../src/security/client-id.js'
import { createMemoryStorage, createMemoryVolume, type MemoryVolume } from '../../src/storage/memory-storage.js'
import type { SeededRandom } from '../../src/transport/seeded-random.js'
import { createSimulatedNetwork, type SimulatedNetwork } from '../../src/transport/simulated-network.js'
import { encodeMessage } from '../../src/wire/codec.js'
import { replicaState } from './cluster.js'
import { LeaseLedger, SIM_LEASE_MAX_TTL_MS } from './simulated-leases.js'

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
  /** The `writers` option every peer starts with (`undefined`: an open mesh). */
  seedWriters: string[] | undefined
  private constructor(readonly network: SimulatedNetwork) {}

  /**
   * `n` peers, all started, each bootstrapping to the first, every ring complete. With `writers` (indexes of peers),
   * a private mesh: every peer starts with `createMesh({ writers })` naming those peers.
   */
  static async start(
    network: SimulatedNetwork,
    n: number,
    options: { writers?: readonly number[] } = {},
  ): Promise<SimulatedCluster> {
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
    cluster.seedWriters = options.writers?.map((i) => cluster.peers[i]!.id)
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

  /** Identical JSON, state vectors, history and writer sets everywhere, nothing pending, every ring complete. */
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
    const writers = JSON.stringify(meshes[0]!.writers())
    if (!meshes.every((m) => JSON.stringify(m.writers()) === writers)) return false
    const history = JSON.stringify(meshes[0]!.history())
    return meshes.every((m) => JSON.stringify(m.history()) === history)
  }

  /** Each running replica's state, where it differs from the first one's (for a failure message). */
  differences(): string {
    const meshes = this.running()
    const show = (m: ConfigMesh): Record<string, string> => {
      const d = m.diagnostics()
      return {
        json: replicaState(m).json,
        stateVector: JSON.stringify(d.stateVector),
        pending: String(d.pending),
        writers: JSON.stringify(m.writers()),
        ring: JSON.stringify([...m.ring.members()].sort()),
        history: JSON.stringify(m.history().map((h) => h.id)),
      }
    }
    const first = show(meshes[0]!)
    const lines = [`${meshes[0]!.peerId}: ${JSON.stringify(first)}`]
    for (const m of meshes.slice(1)) {
      const s = show(m)
      const diff = Object.entries(s).filter(([k, v]) => first[k] !== v)
      lines.push(`${m.peerId}: ${diff.length === 0 ? 'same' : JSON.stringify(Object.fromEntries(diff))}`)
    }
    return lines.join('\n')
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
        lease: { maxTtlMs: SIM_LEASE_MAX_TTL_MS },
        ...(this.seedWriters === undefined ? {} : { writers: this.seedWriters }),
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
  /** Writer-set changes (private meshes). */
  writerChanges: number
  /** Slices of first states fetched by ring-served join sync (open meshes; counted on the peers running at the end). */
  joinParts: number
  /** Lease counters (granted, refused, renewed, lost, released, uses, fenced). */
  leases: Record<string, number>
  /** Writes refused: by the API of a peer that is not a writer, and forged updates every replica refused. */
  refused: number
  events: number
  virtualMs: number
  json: string
}

/** Options of {@link randomRun}. */
export interface RandomRunOptions {
  peers: number
  steps: number
  /**
   * A private mesh: a seeded writer set (the first peer and about half the others), and the random operations
   * include writer-set changes, writes through the API of peers that are not writers (which must fail locally), and
   * updates forged and published by peers that were never writers (which every replica must refuse). Default false.
   */
  writers?: boolean
  /**
   * Leases: random acquire / renew / release / use on random live peers, checked for exclusion and fencing-token
   * order on virtual time (`simulated-leases.ts`). Default true.
   */
  leases?: boolean
  /** Trace lines kept (for finding where two runs part). Default 200. */
  traceLines?: number
}

/** The document topic of the simulated mesh (`createMesh({ name: 'sim' })`). */
const DOC_TOPIC = '/confmesh/sim/doc/1'
/** The key forged updates write: honest operations never write it, so it must be absent everywhere at the end. */
const FORGED_KEY = 'forged'

/** Whether `mesh` sees itself as a writer (always, in an open mesh). */
function isWriter(mesh: ConfigMesh): boolean {
  return mesh.writers()?.includes(mesh.peerId) ?? true
}

/**
 * A Yjs update as a peer that is not a writer would publish it: a well-formed entry of its own, under its own bound
 * client id and epoch (so the only reason to refuse it is the writer set).
 */
function forgedUpdate(author: string, epoch: number, time: number): { update: Uint8Array; clientId: number } {
  const doc = new Y.Doc({ gc: true })
  doc.clientID = clientIdFor(author, epoch)
  doc
    .getArray(ENTRIES_ROOT)
    .push([{ n: 'default', k: FORGED_KEY, v: { by: author }, t: time, c: 0, a: author, e: epoch }])
  return { update: Y.encodeStateAsUpdate(doc), clientId: doc.clientID }
}

/**
 * Runs one write through the API: it must succeed on a writer and fail with `NotAuthorizedError` on a peer that is
 * not one (as it sees the writer set). Returns whether it was refused.
 */
async function apiWrite(network: SimulatedNetwork, mesh: ConfigMesh, write: () => Promise<unknown>): Promise<boolean> {
  const writer = isWriter(mesh)
  try {
    await network.settle(write())
  } catch (err) {
    if (!writer && err instanceof NotAuthorizedError) return true
    throw err
  }
  if (!writer) throw new Error(`${mesh.peerId} is not a writer, yet its write succeeded`)
  return false
}

/**
 * One replayable random run: `steps` random operations on random live peers with virtual think time between them,
 * then heal, restart every crashed peer, and run until every replica is identical. Throws (with the seed and the last
 * trace lines) if they do not converge within 10 virtual minutes, or if a forged update reached any replica.
 */
export async function randomRun(seed: number, options: RandomRunOptions): Promise<RandomRunResult> {
  const network = createSimulatedNetwork({
    seed,
    link: { latency: { minMs: 1, maxMs: 30 }, loss: 0.05 },
    ...(options.traceLines === undefined ? {} : { traceLines: options.traceLines }),
  })
  const setup = network.random.fork('setup')
  const writerIndexes = options.writers
    ? [0, ...Array.from({ length: options.peers - 1 }, (_, i) => i + 1).filter(() => setup.chance(0.5))]
    : undefined
  const cluster = await SimulatedCluster.start(network, options.peers, {
    ...(writerIndexes === undefined ? {} : { writers: writerIndexes }),
  })
  // every peer that was ever named a writer (the seed set and every set stored since): only the others forge
  const everWriters = new Set(cluster.seedWriters ?? [])
  const forgedClients: number[] = []
  const rnd: SeededRandom = network.random.fork('ops')
  const leaseRnd = network.random.fork('leases')
  const ledger =
    options.leases === false ? undefined : new LeaseLedger(network, SIM_LEASE_MAX_TTL_MS + SIM_TIMING.memberTimeoutMs)
  const keys = ['a', 'b', 'c', 'd', 'e', 'f']
  const namespaces = ['default', 'payments', 'flags']
  const versions: string[] = []
  const result = { ops: 0, rollbacks: 0, crashes: 0, partitions: 0, writerChanges: 0, refused: 0 }
  let partitioned = false
  let checkedAt = Number.NEGATIVE_INFINITY
  /** Converged, checked at most every 50 virtual ms: comparing every replica after every event would cost more. */
  const converged = (): boolean => {
    if (network.scheduler.now() - checkedAt < 50) return false
    checkedAt = network.scheduler.now()
    return cluster.converged()
  }
  /** Runs until every running replica is identical (no partition is in place when this is called). */
  const inSync = async (what: string): Promise<void> => {
    checkedAt = Number.NEGATIVE_INFINITY
    try {
      await network.runUntil(converged, { what, limitMs: 5 * 60_000 })
    } catch (err) {
      console.log(`[simulated mesh] seed ${seed}: replicas at the deadline (${what})\n${cluster.differences()}`)
      throw err
    }
  }
  const written = (refused: boolean): void => {
    if (refused) result.refused++
    else result.ops++
  }
  for (let step = 0; step < options.steps; step++) {
    const live = cluster.peers.filter((p) => p.mesh !== undefined)
    const peer = rnd.pick(live)
    const m = peer.mesh!
    if (ledger !== undefined && leaseRnd.chance(0.35)) await ledger.step(leaseRnd, m)
    const p = rnd.next()
    if (p < 0.45) {
      const ns = m.namespace(rnd.pick(namespaces))
      const refused = await apiWrite(network, m, () => ns.set(rnd.pick(keys), { step, n: rnd.int(0, 999) }))
      if (!refused) versions.push(m.version().id)
      written(refused)
    } else if (p < 0.55) {
      const ns = m.namespace(rnd.pick(namespaces))
      written(await apiWrite(network, m, () => ns.delete(rnd.pick(keys))))
    } else if (p < 0.65) {
      const batch: Record<string, unknown> = {}
      for (const k of keys) if (rnd.chance(0.4)) batch[k] = rnd.chance(0.2) ? null : { step, batch: true }
      const ns = m.namespace(rnd.pick(namespaces))
      written(await apiWrite(network, m, () => ns.update(batch as never)))
    } else if (p < 0.72 && versions.length > 0) {
      const target = rnd.pick(versions.slice(-20))
      const scope = rnd.pick([undefined, { namespace: rnd.pick(namespaces) }])
      try {
        const refused = await apiWrite(network, m, () => m.rollback(target, scope))
        if (!refused) result.rollbacks++
        written(refused)
      } catch (err) {
        if (!(err instanceof UnknownVersionError || err instanceof VersionPrunedError)) throw err
      }
    } else if (p < 0.76 && !partitioned && live.length > 2) {
      const cut = live.filter(() => rnd.chance(0.4)).map((x) => x.id)
      if (cut.length > 0 && cut.length < live.length) {
        network.partition([cut])
        ledger?.partitioned()
        partitioned = true
        result.partitions++
      }
    } else if (p < 0.8 && partitioned) {
      network.heal()
      ledger?.healed()
      partitioned = false
    } else if (p < 0.83 && live.length > 2 && peer !== cluster.peers[0]) {
      cluster.crash(peer)
      ledger?.crashed(peer.id)
      result.crashes++
    } else if (p < 0.88) {
      const down = cluster.peers.filter((x) => x.mesh === undefined)
      if (down.length > 0) await cluster.restart(rnd.pick(down))
    } else if (options.writers && p < 0.95 && !partitioned) {
      // A writer-set change: add or remove one peer (never leaving the set empty), as the API allows. Changes are
      // made with every replica in sync, and a removal only while every peer runs (THREAT_MODEL.md §4 "Removal
      // races": a change made concurrently with a removal, or one only the removed writer holds, is refused by the
      // peers that applied the removal and stays where it was accepted, so those replicas would differ for good).
      // In sync means with the crashed peers restarted first: a writer takes catch-up from writers only (§4
      // "Authorship of past entries"), so a change that reached only a read-only peer before its writer crashed
      // reaches the other writers once that writer is back, not before (seed 1031823223: the writer of three keys
      // crashed a few steps after a heal, when only a read-only peer had pulled them).
      const current = m.writers() ?? []
      const other = rnd.pick(cluster.peers).id
      const removing = current.includes(other)
      const next = removing ? current.filter((id) => id !== other) : [...current, other]
      if (next.length > 0 && (!removing || live.length === cluster.peers.length)) {
        if (isWriter(m)) {
          for (const x of cluster.peers) if (x.mesh === undefined) await cluster.restart(x)
          await inSync('every replica identical before a writer-set change')
        }
        const refused = await apiWrite(network, m, () => m.setWriters(next))
        if (!refused) {
          for (const id of next) everWriters.add(id)
          await inSync('every replica holding the new writer set')
          result.writerChanges++
        }
        written(refused)
      }
    } else if (options.writers && p < 0.98) {
      // a peer that was never a writer publishes an update of its own: every replica must refuse it
      const outsiders = live.filter((x) => !everWriters.has(x.id))
      if (outsiders.length > 0) {
        const outsider = rnd.pick(outsiders)
        const epoch = rnd.int(0, 0xffff_ffff)
        const forged = forgedUpdate(outsider.id, epoch, network.scheduler.now())
        forgedClients.push(forged.clientId)
        const message = encodeMessage({ kind: 'update', update: forged.update, epoch })
        await network.settle(network.peer(outsider.id).publish(DOC_TOPIC, message))
        result.refused++
      }
    }
    await network.runFor(rnd.int(0, 400))
  }
  network.heal()
  ledger?.healed()
  for (const peer of cluster.peers) if (peer.mesh === undefined) await cluster.restart(peer)
  checkedAt = Number.NEGATIVE_INFINITY
  try {
    await network.runUntil(converged, { what: 'every replica identical', limitMs: 10 * 60_000 })
  } catch (err) {
    console.log(`[simulated mesh] seed ${seed}: replicas at the deadline\n${cluster.differences()}`)
    throw err
  }
  for (const mesh of cluster.running()) {
    const sv = mesh.diagnostics().stateVector
    const leaked = forgedClients.filter((c) => sv[String(c)] !== undefined)
    if (mesh.namespace('default').has(FORGED_KEY) || leaked.length > 0) {
      throw new Error(`seed ${seed}: ${mesh.peerId} applied a forged update (clients ${leaked.join(', ')})`)
    }
  }
  ledger?.check()
  const json = replicaState(cluster.running()[0]!).json
  const joinParts = cluster.running().reduce((n, m) => n + (m.diagnostics().counters['join.parts'] ?? 0), 0)
  return {
    ...result,
    joinParts,
    leases: { ...ledger?.counts },
    hash: network.traceHash(),
    lines: network.trace.lines(),
    events: network.trace.events,
    virtualMs: network.scheduler.now() - Date.UTC(2026, 0, 1),
    json,
  }
}
