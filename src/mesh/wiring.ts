/**
 * The wiring of one mesh peer: builds every part in dependency order, connects them by their typed events and by
 * plain values that already exist (never by a closure over a part built later), and lists them as {@link Startable}s in
 * the order they start and stop. The facade (`config-mesh.ts`) only calls into the parts.
 *
 * Build order, and why:
 * 1. persistence (the data dir holds the identity) -> transport (the libp2p node, or the one given; needs the
 *    identity) -> document;
 * 2. ingest pipeline, then the restore from disk through it (before anything reads or shares the document);
 * 3. client registry (from the restored document) -> writer epoch -> history + key-value store (entries carry the
 *    epoch) -> security (reads the writer set from the store) -> the pipeline's authorisation check;
 * 4. membership -> catch-up -> the pull scheduler (every trigger: connections, `gap` of the pipeline, `ahead` of
 *    catch-up, gossip announces, anti-entropy, `syncNow`, the join's hold) -> gossip -> ring -> join sync ->
 *    leases (flush gossip before answering).
 *
 * @module
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import * as Y from 'yjs'
import { createKvStore, type KvStore, type WriteMeta, type WriteOp } from '../config/kv-store.js'
import { createNamespace, type Namespace } from '../config/namespace.js'
import { createWatchHub, type WatchHub } from '../config/watch.js'
import { createWriteBatcher } from '../config/write-batcher.js'
import { changedContent } from '../config/yjs-elements.js'
import { createHybridLogicalClock } from '../doc/hlc.js'
import { createIngest, type Ingest } from '../doc/ingest.js'
import { channelLimits, MAX_GOSSIP_MESSAGE_BYTES } from '../doc/limits.js'
import { CLEANUP_ORIGIN, LOCAL_ORIGIN } from '../doc/origins.js'
import { InvalidOptionsError } from '../errors.js'
import { createLeases, LEASE_NAMESPACE, type Leases } from '../lease/leases.js'
import { createDefaultLogger, type MeshLogger } from '../logger.js'
import { createAliveSigner } from '../membership/alive-signer.js'
import {
  createMembership,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_MEMBER_TIMEOUT_MS,
  type Membership,
} from '../membership/membership.js'
import { createSwimMembership, swimConfigForTiming } from '../membership/swim-membership.js'
import { openPersistence, type Persistence } from '../persistence/persistence.js'
import { createWriteGate } from '../persistence/write-gate.js'
import { NoLiveMembersError } from '../ring/errors.js'
import { createMeshRing, type MeshRingService } from '../ring/mesh-ring.js'
import type { MeshRollouts } from '../rollout/api.js'
import { createRolloutOverlay, type RolloutOverlay } from '../rollout/overlay.js'
import { createRollouts, rolloutTargets } from '../rollout/rollouts.js'
import { createSchemaRegistry, type SchemaRegistry } from '../schema/registry.js'
import { createClientRegistry, registerDocument } from '../security/client-registry.js'
import { createMeshSecurity, type MeshSecurity } from '../security/mesh-security.js'
import { createWriterEpoch } from '../security/writer-epoch.js'
import { WRITERS_KEY, WRITERS_NAMESPACE } from '../security/writers.js'
import { type CatchUp, createCatchUp } from '../sync/catch-up.js'
import { createGossip, type Gossip } from '../sync/gossip.js'
import { createJoinSync, type JoinSync } from '../sync/join-sync.js'
import { documentWeight } from '../sync/parts.js'
import { createPullScheduler, type PullScheduler } from '../sync/pull-scheduler.js'
import { createNode } from '../transport/libp2p-node.js'
import { createLibp2pTransport } from '../transport/libp2p-transport.js'
import type { Transport } from '../transport/transport.js'
import { createVersions, type Versions } from '../versions/versions.js'
import type { ResolvedOptions } from './options.js'
import type { Startable } from './startable.js'

/** Every part of one running peer. */
export interface MeshParts {
  /** The network (the libp2p node behind the seam, or the transport given in the options). */
  readonly transport: Transport
  readonly peerId: string
  readonly logger: MeshLogger
  readonly doc: Y.Doc
  /** Durable state in the data dir; `undefined` without `dataDir`/`storage`. */
  readonly persistence: Persistence | undefined
  readonly ingest: Ingest
  readonly security: MeshSecurity
  readonly versions: Versions
  readonly store: KvStore
  readonly hub: WatchHub
  readonly membership: Membership
  readonly catchUp: CatchUp
  /** The one owner of every reason to pull. */
  readonly pulls: PullScheduler
  readonly gossip: Gossip
  readonly ring: MeshRingService
  readonly joinSync: JoinSync | undefined
  readonly leases: Leases
  /** Replicated JSON Schemas: the local write check, `validate()`, `valid: false` on watch events. */
  readonly schemas: SchemaRegistry
  /** Effective values: the rollouts this peer is in (reads and watch events go through it). */
  readonly overlay: RolloutOverlay
  /** Gray releases: start, widen, promote, abort. */
  readonly rollouts: MeshRollouts
  /** One pull round from every connected member (the facade's `syncNow`). */
  pullAll(): Promise<void>
  /** The namespace `name` (created on first use). */
  namespace(name: string): Namespace
  /** A local write batch: coalesced with the others of this synchronous run; resolves once applied (and durable). */
  write(ops: WriteOp[]): Promise<void>
  /** A write batch with history metadata, in its own transaction (not coalesced). */
  writeWithMeta(ops: WriteOp[], meta: WriteMeta): Promise<void>
  /** A write of the writer set, already authorised by `security.writersOp` (the reserved namespace is its own). */
  writeWriterSet(op: WriteOp): Promise<void>
  /** Resolves once every write issued before it has been applied. */
  settled(): Promise<void>
  /** Parts in the order they start. */
  readonly startOrder: readonly Startable[]
  /**
   * Parts in the order they stop: leases and joins first, a last gossip flush before membership says goodbye, the
   * network before history, storage last (its close writes what is still pending).
   */
  readonly stopOrder: readonly Startable[]
  /** Releases what was acquired when starting failed: the transport and the data dir (its lock). */
  abort(): Promise<void>
}

/** What the facade lends the parts. */
export interface FacadeHooks {
  /** Throws `MeshStoppedError` unless the mesh is running (namespaces call it before every operation). */
  assertRunning(): void
}

/** Builds every part (nothing started yet); on failure releases what it acquired. */
export async function wireMesh(o: ResolvedOptions, hooks: FacadeHooks): Promise<MeshParts> {
  let persistence: Persistence | undefined
  let transport: Transport | undefined
  let identity: PrivateKey | undefined
  try {
    if (o.storage !== undefined) {
      persistence = await openPersistence({
        storage: o.storage,
        meshName: o.name,
        ...(o.privateKey === undefined ? {} : { privateKey: o.privateKey }),
        clock: o.clock,
        ...(o.random === undefined ? {} : { drawEpoch: epochDraw(o.random) }),
      })
    }
    if (typeof o.transport === 'object') {
      transport = o.transport
      identity = persistence?.privateKey ?? o.privateKey
    } else {
      const privateKey = persistence?.privateKey ?? o.privateKey ?? (await generateKeyPair('Ed25519'))
      identity = privateKey
      transport =
        o.transport === undefined
          ? createLibp2pTransport({
              node: await createNode({
                listen: o.listen,
                bootstrap: o.bootstrap,
                privateKey,
                maxConnections: o.maxConnections,
                ...(o.connectionGater === undefined ? {} : { connectionGater: o.connectionGater }),
                ...(o.security.networkKey === undefined ? {} : { networkKey: o.security.networkKey }),
              }),
            })
          : await o.transport({ privateKey })
    }
    if (persistence !== undefined && persistence.peerId !== transport.peerId) {
      throw new InvalidOptionsError(
        `the data dir belongs to peer ${persistence.peerId}, but the transport is peer ${transport.peerId}: pass the ` +
          'privateKey of the transport as privateKey',
      )
    }
    await transport.start()
    // the key signs this peer's membership records; only if it is the transport's identity
    if (identity !== undefined && peerIdFromPrivateKey(identity).toString() !== transport.peerId) identity = undefined
    return await wireParts(o, hooks, transport, persistence, identity)
  } catch (err) {
    await release(transport, persistence)
    throw err
  }
}

async function release(transport: Transport | undefined, persistence: Persistence | undefined): Promise<void> {
  try {
    await transport?.stop()
  } catch {
    // the start failure is what the caller needs to see
  }
  await persistence?.close()
}

async function wireParts(
  o: ResolvedOptions,
  hooks: FacadeHooks,
  transport: Transport,
  persistence: Persistence | undefined,
  identity: PrivateKey | undefined,
): Promise<MeshParts> {
  const peerId = transport.peerId
  const { clock: time, random } = o
  const logger = o.logger ?? createDefaultLogger(`confmesh:${peerId.slice(-8)}`)
  const doc = new Y.Doc({ gc: true })
  const registry = createClientRegistry()
  const ingest = createIngest({ doc, logger, limits: channelLimits(o.maxValueBytes, o.security.updateLimits) })

  // data: restore through the pipeline, then the epoch, history, the store and security
  await persistence?.attach(doc, logger, ingest)
  // a reused writer id is distrusted until the first catch-up (a data dir restored from a backup, docs/durability.md)
  persistence?.guardReusedWriter(o.bootstrap.length > 0 || persistence.rememberedAddresses().length > 0)
  registerDocument(registry, doc)
  const epoch = createWriterEpoch({
    doc,
    peerId,
    registry,
    ...(persistence === undefined ? {} : { persisted: () => persistence.writer?.epoch }),
    ...(random === undefined ? {} : { draw: epochDraw(random) }),
  })
  const clock = createHybridLogicalClock(() => time.now())
  const versions = createVersions({
    timers: time,
    ...(random === undefined ? {} : { random }),
    doc,
    author: peerId,
    clock,
    retention: o.retention,
    onError: (err) => logger.error(`history pruning failed: ${String(err)}`),
    // only writers prune: nobody accepts a read-only peer's prune (its state vector would differ for good)
    mayPrune: () => security.policy.mayWrite(peerId),
  })
  const store = createKvStore({
    doc,
    author: peerId,
    clock,
    onListenerError: (err) => logger.error(`change listener threw: ${String(err)}`),
    onLocalWrite: versions.onLocalWrite,
    epoch: () => epoch.current(),
  })
  const security = createMeshSecurity({
    peerId,
    options: o.security,
    registry,
    epoch,
    readWriters: () => store.get(WRITERS_NAMESPACE, WRITERS_KEY),
  })
  ingest.addCheck(security.authorization.check)
  ingest.addEventListener('refused', (evt) => security.authorization.count(evt.detail))
  const hub = createWatchHub(logger)
  // gray release: reads and watch events see this peer's effective values; schemas annotate what arrives
  const overlay = createRolloutOverlay({ store, self: peerId, tags: o.tags })

  // local writes: one batcher, one place that checks them
  const durable = (): Promise<void> | undefined => persistence?.durable() // with a data dir: once on disk
  // with a reused writer id, local writes wait for the first contact (a restored backup, persistence.ts)
  const gate = createWriteGate(() => persistence?.writerHold())
  const batcher = createWriteBatcher((ops) =>
    gate.run(() => {
      store.write(ops)
      return durable()
    }),
  )
  /** The one check of a local write: may this peer write it, and does it (and what it rolls out) fit the schemas. */
  const checkLocal = (ops: WriteOp[]): void => {
    hooks.assertRunning()
    security.assertMayWrite(ops)
    schemas.assertValid([...ops, ...rolloutTargets(ops)])
  }
  const write = async (ops: WriteOp[]): Promise<void> => {
    checkLocal(ops)
    await batcher(ops)
  }
  const writeWithMeta = async (ops: WriteOp[], meta: WriteMeta): Promise<void> => {
    checkLocal(ops)
    await gate.run(() => store.write(ops, meta))
    await durable()
  }
  // the registry stores schemas through the checked write path, which in turn checks against the registry: the
  // write path reads `schemas` only when called (after wiring), never while building
  const schemas = createSchemaRegistry({
    store,
    write,
    logger,
    extraValues: () => overlay.active().map(({ id, record }) => ({ ...record, rollout: id })),
  })
  store.onChanges((changes) => hub.dispatch(schemas.annotate(overlay.translate(changes))))
  const namespaces = new Map<string, Namespace>()
  const namespace = (name: string): Namespace => {
    let ns = namespaces.get(name)
    if (ns === undefined) {
      ns = createNamespace(name, {
        store: overlay.view, // effective values: rollouts this peer is in (src/rollout)
        hub,
        valueLimits: { maxBytes: o.maxValueBytes },
        write,
        assertUsable: () => hooks.assertRunning(),
        secrets: security.secrets,
      })
      namespaces.set(name, ns)
    }
    return ns
  }

  // network: membership, pulls, gossip, ring, joins, leases
  const base = `/confmesh/${o.name}`
  const seams = { transport, clock: time, ...(random === undefined ? {} : { random }) }
  const whenDurable = persistence === undefined ? {} : { whenDurable: () => persistence.durable() }
  /**
   * Whom this peer asks for catch-up: who may write (security's one rule). Catch-up refuses to ask anyone else (for
   * any trigger) and the scheduler's anti-entropy does not pick them; what they would serve is also refused on ingest.
   */
  const mayServeUs = (id: string): boolean => security.policy.mayWrite(id)
  // A peer restarted on a data dir that holds state is not joining: it lacks a small diff, which the pulls of its
  // new connections fetch at once; holding them for a ring-served first state only delays its catch-up (churn).
  const restored = doc.store.clients.size > 0
  const joining = o.bootstrap.length > 0 && o.ring.joinSync !== false && !restored
  let ready = !joining // this peer holds its first full state (join sync flips it)
  const membershipCommon = {
    ...seams,
    logger,
    weight: o.weight,
    tags: o.tags,
    seedAddresses: () => [
      ...o.bootstrap,
      ...membership.knownAddresses(),
      ...(persistence?.rememberedAddresses() ?? []),
    ],
    maxConnections: o.maxConnections,
    ...(o.targetConnections === undefined ? {} : { targetConnections: o.targetConnections }),
    ready: () => ready,
  }
  const timed = o.timing.heartbeatMs !== undefined || o.timing.memberTimeoutMs !== undefined
  const membership: Membership =
    o.membership.protocol === 'heartbeat'
      ? createMembership({
          ...membershipCommon,
          topic: `${base}/members/1`,
          ...(o.timing.heartbeatMs === undefined ? {} : { heartbeatMs: o.timing.heartbeatMs }),
          ...(o.timing.memberTimeoutMs === undefined ? {} : { timeoutMs: o.timing.memberTimeoutMs }),
        })
      : createSwimMembership({
          ...membershipCommon,
          base,
          config: { ...(timed ? swimConfigForTiming(o.timing) : {}), ...o.membership.swim },
          ...(o.membership.maxProbeConnections === undefined
            ? {}
            : { maxProbeConnections: o.membership.maxProbeConnections }),
          ...(identity === undefined ? {} : { signer: createAliveSigner(identity) }),
          // a private mesh (network key or writers) accepts membership records signed by their member only
          requireSignatures:
            identity !== undefined && (o.security.networkKey !== undefined || o.security.writers !== undefined),
        })
  persistence?.trackPeers(() => membership.knownPeers()) // peers met, also ones dropped a moment ago
  const catchUp = createCatchUp({
    transport,
    clock: time,
    protocol: `${base}/sync/1.0.0`,
    doc,
    ingest,
    logger,
    mayAccept: mayServeUs,
    ...(o.timing.catchUpTimeoutMs === undefined ? {} : { timeoutMs: o.timing.catchUpTimeoutMs }),
    ...whenDurable,
    partsProtocol: `${base}/sync/1.1.0`,
  })
  // every reason to pull goes to the one scheduler
  const pulls = createPullScheduler({
    ...seams,
    protocol: `${base}/sync/1.0.0`,
    pull: async (id) => {
      const bytes = await catchUp.pull(id)
      persistence?.contacted()
      return bytes
    },
    logger,
    candidates: () =>
      membership
        .peers()
        .filter((p) => p.connected && mayServeUs(p.peerId))
        .map((p) => p.peerId),
    ...(o.timing.antiEntropyMs === undefined ? {} : { antiEntropyMs: o.timing.antiEntropyMs }),
    ...(o.timing.maxAntiEntropyMs === undefined ? {} : { maxAntiEntropyMs: o.timing.maxAntiEntropyMs }),
    // with a writer set only writers are pulled from: a peer that may not write is reached by nobody's anti-entropy
    mayBackOff: () => security.policy.current() === undefined || security.policy.mayWrite(transport.peerId),
  })
  // every change of the document (local write or applied remote update) keeps anti-entropy at its base period; on
  // `afterTransaction`, not `update`: a listener to `update` makes Yjs encode every remote transaction's update,
  // which nothing else needs on a peer without a data dir (the gossip channel listens only while writing locally)
  doc.on('afterTransaction', (tr: Y.Transaction) => {
    if (changedContent(tr)) pulls.noteActivity()
  })
  ingest.addEventListener('gap', (evt) => void pulls.requestPull(evt.detail))
  /** One pull round from every connected member: `syncNow`, and how versions fetch writes they lack. */
  const pullAll = async (): Promise<void> => {
    const connected = new Set(transport.connections())
    const members = membership.memberIds().filter((id) => connected.has(id))
    await Promise.all(members.map((id) => pulls.requestPull(id)))
  }
  versions.usePull(pullAll)
  catchUp.addEventListener('ahead', (evt) => void pulls.requestPull(evt.detail))
  const gossip = createGossip({
    transport,
    topic: `${base}/doc/1`,
    doc,
    ingest,
    logger,
    // a read-only peer collects losers locally but publishes nothing (peers refuse its updates)
    isLocalOrigin: (origin) =>
      origin === LOCAL_ORIGIN || (origin === CLEANUP_ORIGIN && security.policy.mayWrite(peerId)),
    epoch: () => epoch.current(),
    mayPublish: (publisher) => security.policy.mayWrite(publisher),
    maxMessageBytes: MAX_GOSSIP_MESSAGE_BYTES,
    requestPull: (from) => void pulls.requestPull(from),
    ...whenDurable,
  })
  const ring = await createMeshRing({
    membership,
    self: peerId,
    weight: o.weight,
    ...(o.ring.vnodes === undefined ? {} : { vnodes: o.ring.vnodes }),
    ...(o.ring.boundedLoad === undefined ? {} : { boundedLoad: o.ring.boundedLoad }),
  })
  /** Connects to a live member by the addresses it announced (no-op when connected). */
  const connectMember = async (id: string): Promise<void> => {
    if (id === peerId || transport.isConnected(id)) return
    const member = membership.get(id)
    if (member === undefined || member.addresses.length === 0)
      throw new NoLiveMembersError(`${id} is not a live member`)
    await transport.dial(member.addresses)
  }
  const join = o.ring.joinSync
  const joinSync =
    join === false
      ? undefined
      : createJoinSync({
          ...join,
          self: peerId,
          clock: time,
          membership,
          joining,
          heartbeatMs: o.timing.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
          ...(o.ring.vnodes === undefined ? {} : { vnodes: o.ring.vnodes }),
          connect: connectMember,
          stateVector: () => Y.encodeStateVector(doc),
          weight: (stopAt) => documentWeight(doc, stopAt),
          fetchPart: (id, part, sv) => catchUp.fetchPart(id, part, sv),
          apply: (update, from) => ingest.apply(update, { from, via: 'sync' }) === undefined,
          pullWhole: async (id) => {
            await catchUp.pull(id)
          },
          onReady: () => {
            persistence?.contacted() // the first state came from peers: a reused writer id is confirmed
            ready = true
            membership.announce()
          },
          logger,
        })
  if (joinSync !== undefined && !joinSync.ready) pulls.hold(joinSync.done)
  const leases = createLeases({
    ...o.lease,
    ...seams,
    protocol: `${base}/lease/1.0.0`,
    self: peerId,
    ring,
    records: namespace(LEASE_NAMESPACE),
    flush: () => gossip.flush(),
    connect: connectMember,
    memberTimeoutMs: o.timing.memberTimeoutMs ?? DEFAULT_MEMBER_TIMEOUT_MS,
    ...(o.ring.vnodes === undefined ? {} : { vnodes: o.ring.vnodes }),
    logger,
  })

  const rollouts = createRollouts({
    overlay,
    self: peerId,
    tags: o.tags,
    members: () => membership.peers(),
    write: async (ops, message) => {
      await batcher([]) // writes issued before come first
      await writeWithMeta(ops, { message })
    },
    valueLimits: { maxBytes: o.maxValueBytes },
  })

  const part = (name: string, start?: () => unknown, stop?: () => unknown): Startable => ({
    name,
    ...(start === undefined ? {} : { start: async () => void (await start()) }),
    ...(stop === undefined ? {} : { stop: async () => void (await stop()) }),
  })
  const startOrder = [
    part('gossip', () => gossip.start()),
    part('catch-up', () => catchUp.start()),
    part('pull scheduler', () => pulls.start()),
    part('membership', () => membership.start()),
    part('ring', () => ring.start()),
    part('join sync', () => joinSync?.start()),
    part('leases', () => leases.start()),
    part('versions', () => versions.start()),
  ]
  const stopOrder = [
    part('leases', undefined, () => leases.stop()),
    part('join sync', undefined, () => joinSync?.stop()),
    part('gossip flush', undefined, () => gossip.flush()),
    part('membership', undefined, () => membership.stop()),
    part('ring', undefined, () => ring.stop()),
    part('gossip', undefined, () => gossip.stop()),
    part('pull scheduler', undefined, () => pulls.stop()),
    part('catch-up', undefined, () => catchUp.stop()),
    part('transport', undefined, () => transport.stop()),
    part('versions', undefined, () => versions.stop()),
    part('persistence', undefined, () => persistence?.close()), // last appends, compaction if due, address book
    part('store', undefined, () => store.destroy()),
    part('document', undefined, () => doc.destroy()),
  ]
  return {
    transport,
    peerId,
    logger,
    doc,
    persistence,
    ingest,
    security,
    versions,
    store,
    hub,
    membership,
    catchUp,
    pulls,
    gossip,
    ring,
    joinSync,
    leases,
    schemas,
    overlay,
    rollouts,
    pullAll,
    namespace,
    write,
    writeWithMeta,
    writeWriterSet: (op) => batcher([op]),
    settled: () => batcher([]),
    startOrder,
    stopOrder,
    abort: () => release(transport, persistence),
  }
}

/** Writer epochs (uint32) from a seeded random source (simulations); without one they come from the CSPRNG. */
function epochDraw(random: () => number): () => number {
  return () => Math.floor(random() * 0x1_0000_0000) >>> 0
}
