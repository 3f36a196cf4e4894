/**
 * ConfigMesh: one embedded peer of a configuration mesh. Start/stop and wiring only; protocol details live in
 * `sync/`, data semantics in `config/`, membership in `ring/`.
 *
 * @module
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { ConnectionGater, PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { TypedEventEmitter } from 'main-event'
import * as Y from 'yjs'
import { createHybridLogicalClock } from './config/hlc.js'
import {
  CLEANUP_ORIGIN,
  createKvStore,
  type KvStore,
  LOCAL_ORIGIN,
  type WriteMeta,
  type WriteOp,
} from './config/kv-store.js'
import { createNamespace, DEFAULT_NAMESPACE, type EntryInfo, type Namespace } from './config/namespace.js'
import { DEFAULT_MAX_VALUE_BYTES, type JsonValue } from './config/value.js'
import { createWatchHub, type WatchHub, type WatchListener, type WatchTarget } from './config/watch.js'
import { createWriteBatcher } from './config/write-batcher.js'
import { InvalidOptionsError, MeshStoppedError } from './errors.js'
// feature flags (src/flags)
import type { MeshFlags } from './flags/api.js'
import { type ImportFlagsOptions, type ImportFlagsResult, importFlags } from './flags/import-flags.js'
// ring and leases (src/ring, src/lease)
import {
  createLeases,
  LEASE_NAMESPACE,
  type Lease,
  type LeaseOptions,
  type LeaseRequestOptions,
  type Leases,
} from './lease/leases.js'
import { createDefaultLogger, type MeshLogger } from './logger.js'
import { createNode, DEFAULT_MAX_CONNECTIONS, MAX_GOSSIP_MESSAGE_BYTES, type MeshNode } from './node.js'
import { openPersistence, type Persistence } from './persistence/persistence.js'
import { NoLiveMembersError } from './ring/errors.js'
import { createJoinSync, type JoinSync } from './ring/join-sync.js'
import {
  createMembership,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_MEMBER_TIMEOUT_MS,
  type Member,
  type Membership,
  type MembershipChange,
} from './ring/membership.js'
import {
  createMeshRing,
  type MeshPickOptions,
  type MeshRing,
  type MeshRingService,
  type RingOptions,
} from './ring/mesh-ring.js'
import { assertWeight } from './ring/weight.js'
// gray release (src/rollout)
import type { MeshRollouts, RolloutInfo, RolloutOptions } from './rollout/api.js'
import { createRolloutOverlay, type RolloutOverlay } from './rollout/overlay.js'
import { createRollouts, rolloutTargets } from './rollout/rollouts.js'
// schemas (src/schema)
import type { MeshSchemas, SchemaInfo, SetSchemaOptions } from './schema/api.js'
import type { SchemaIssue } from './schema/errors.js'
import { createSchemaRegistry, type SchemaRegistry } from './schema/registry.js'
// security (src/security)
import {
  createMeshSecurity,
  type MeshSecurity,
  type ResolvedSecurity,
  resolveSecurity,
  type SecurityOptions,
} from './security/mesh-security.js'
import { WRITERS_KEY, WRITERS_NAMESPACE } from './security/writers.js'
import { createSqliteStorage } from './storage/sqlite-storage.js'
import type { Storage } from './storage/storage.js'
import { type CatchUp, createCatchUp } from './sync/catch-up.js'
import { createGossip, type Gossip } from './sync/gossip.js'
import { createUpdateApplier, sizeValidator, type UpdateApplier } from './sync/update-applier.js'
// versions (src/versions)
import type { MeshVersions } from './versions/api.js'
import type { HistoryChange } from './versions/diff.js'
import type { HistoryEntry, HistoryOptions } from './versions/history.js'
import { type ResolvedRetention, type RetentionOptions, resolveRetention } from './versions/retention.js'
import type { RollbackOptions, RollbackResult } from './versions/rollback.js'
import type { Version, VersionOrder, VersionRef } from './versions/vector-clock.js'
import type { VersionWaitOptions } from './versions/version-wait.js'
import { createVersions, type Versions } from './versions/versions.js'
import type { VersionView } from './versions/view.js'

/** Default listen address: loopback, any free port. */
export const DEFAULT_LISTEN = ['/ip4/127.0.0.1/tcp/0']
/** Default mesh name. Meshes with different names never mix. */
export const DEFAULT_MESH_NAME = 'confmesh'
/** Largest remote update accepted (gossip or catch-up), by default. */
export const DEFAULT_MAX_UPDATE_BYTES = 256 * 1024 * 1024

/** Tuning knobs; the defaults suit most meshes. */
export interface MeshTiming {
  /** Membership heartbeat period in ms. Default 1000. */
  heartbeatMs?: number
  /** A member silent this long (ms) is dropped. Default 4000 (dropped everywhere within 5 s). */
  memberTimeoutMs?: number
  /** Anti-entropy catch-up period in ms (±25 % jitter); 0 disables. Default 5000. */
  antiEntropyMs?: number
  /** Time limit of one catch-up exchange in ms. Default 30000. */
  catchUpTimeoutMs?: number
}

/** Options of {@link createMesh}. Security options (`networkKey`, `identity`, `writers`, `dataKey`): see `THREAT_MODEL.md`. */
export interface MeshOptions extends SecurityOptions {
  /** Multiaddrs to listen on. Default `['/ip4/127.0.0.1/tcp/0']`. */
  listen?: string[]
  /** Multiaddrs of peers to join through, each ending in `/p2p/<peerId>`. Default none (a mesh of one). */
  bootstrap?: string[]
  /** The mesh's name: peers only share config with peers of the same name. Default `'confmesh'`. */
  name?: string
  /** The peer's libp2p private key (Ed25519). Default: a new one each start (or the persisted one with `dataDir`). */
  privateKey?: PrivateKey
  /** Capacity weight for the ring, 0.01..100 (remote peers' announced weights are clamped to that range). Default 1. */
  weight?: number
  /** Free-form metadata announced to the mesh (zone, role, ...). Default `{}`. */
  tags?: Record<string, string>
  /** Where log lines go. Default: the `debug` logger (`DEBUG=confmesh*`). */
  logger?: MeshLogger
  /** Largest value accepted by `set`, as JSON text. Default 16 MiB. */
  maxValueBytes?: number
  /** Connection cap. Default 128. */
  maxConnections?: number
  /**
   * Connections a peer's discovery dials aim for (more arrive inbound). Meshes up to this size + 1 are fully
   * connected; larger ones form a random graph of this degree that gossip crosses in about two hops. Default 12.
   */
  targetConnections?: number
  /** Timing knobs. */
  timing?: MeshTiming
  /**
   * A libp2p connection gater: decide which peers and addresses may connect (e.g. IP allow-lists). Default: allow all.
   * See `@libp2p/interface`'s `ConnectionGater`.
   */
  connectionGater?: ConnectionGater
  /**
   * How much history to keep (versions, see `docs/versions.md`). Default `{ versions: 1000, maxAgeMs: 30 days }`;
   * `{ versions: 0 }` records no history.
   */
  retention?: RetentionOptions
  /**
   * Directory of this peer's durable state (see `docs/durability.md`): the document with its history, the peer
   * identity, the writer id and the peers met. With it the peer restarts from its own disk with no peer in reach, and
   * `set()` resolves once the change is on disk. Created if missing (mode 0700); one process at a time
   * (`StorageLockedError`). Default: none, everything stays in memory.
   */
  dataDir?: string
  /**
   * A storage engine to use instead of the one `dataDir` creates, e.g. `createSqliteStorage({ dataDir,
   * lockTimeoutMs })` or `createMemoryStorage()`; not together with `dataDir`. Default: none.
   */
  storage?: Storage
  /** The consistent-hash ring of live members (see `mesh.ring`): vnodes, bounded loads, ring-served joins. */
  ring?: RingOptions
  /** Leases (`mesh.lease()`, see `docs/leases.md`). Every peer of a mesh should use the same values. */
  lease?: LeaseOptions
}

/** A live peer as seen by this one. */
export type PeerInfo = Member

/** Events of a {@link ConfigMesh}. */
export interface MeshEvents {
  /** Live membership changed. */
  'peers:change': CustomEvent<MembershipChange>
}

/** Diagnostics of a replica, for operators and tests. */
export interface MeshDiagnostics {
  /** The document's state vector: Yjs client id -> number of structs seen. */
  stateVector: Record<string, number>
  /** Whether updates are parked waiting for missing ones. */
  pending: boolean
  /** Entries held (live values, tombstones, losers awaiting GC). */
  entries: number
  /** Gossip, catch-up and applier counters. */
  counters: Record<string, number>
}

/** Sizes reported by `stats()`. */
export interface MeshStats {
  /** The encoded document size in bytes (`Y.encodeStateAsUpdate(doc).length`). */
  documentBytes: number
  /** Entries held in the document (live values, tombstones, losers awaiting GC). */
  entries: number
  /** Live keys over all namespaces. */
  keys: number
  /** Retained versions (history entries). */
  versions: number
}

/** One embedded configuration-mesh peer. Create with {@link createMesh}. */
export interface ConfigMesh extends Namespace, MeshVersions, MeshSchemas, MeshRollouts, MeshFlags {
  /** This peer's libp2p peer id. */
  readonly peerId: string
  /** This peer's dialable multiaddrs, each ending in `/p2p/<peerId>`. */
  readonly addresses: string[]
  /** The mesh's name. */
  readonly meshName: string
  /** Live peers other than this one. */
  peers(): PeerInfo[]
  /** This peer as a member (weight, tags, readiness), as its heartbeats announce it. */
  self(): PeerInfo
  /** A namespace view (created on first use; the mesh itself is `'default'`). */
  namespace(name: string): Namespace
  /** Names of namespaces that hold at least one key. */
  namespaces(): string[]
  /** Calls `listener` on every change in every namespace; returns the unsubscribe function. */
  watchAll(listener: WatchListener): () => void
  /** Dials a peer by multiaddr (ending in `/p2p/<peerId>`); resolves once connected. */
  connect(address: string): Promise<void>
  /** Closes every connection to `peerId` (it may reconnect unless a connection gater denies it). */
  disconnect(peerId: string): Promise<void>
  /** Pulls from every connected peer now; resolves when every exchange finished. */
  syncNow(): Promise<void>
  /** Counters and state for operators and tests (cheap: no encoding of the document). */
  diagnostics(): MeshDiagnostics
  /** Sizes: the encoded document and the entries it holds. */
  stats(): Promise<MeshStats>
  /** Subscribes to mesh events; see {@link MeshEvents}. */
  readonly events: TypedEventEmitter<MeshEvents>
  /** The live members (this peer included) as a consistent hash ring: `ownerOf`, `isOwner`, `assign`, events. */
  readonly ring: MeshRing
  /**
   * A live member's peer id (this peer included) chosen by `strategy`: `'random'` (default), `'round-robin'`,
   * `'weighted'`, or `'hash'` with a `key` (equals `ring.ownerOf(key)[0]`).
   */
  pick(options?: MeshPickOptions): string
  /**
   * Acquires the lease `name`, granted by its ring owner (see `docs/leases.md`). Throws `LeaseHeldError` when
   * someone holds it, unless `wait: true`.
   */
  lease(name: string, options: LeaseRequestOptions): Promise<Lease>
  /** Leaves the mesh and releases every resource. Idempotent. */
  stop(): Promise<void>
  // --- security (src/security) ---
  /** The peer ids allowed to change config now; `undefined` when everyone may (no writer set). */
  writers(): string[] | undefined
  /**
   * Replaces the writer set (stored in the document, last-writer-wins; only a writer may). A removed writer's later
   * changes are refused by every peer that applied the removal; its earlier ones stay. Throws `NotAuthorizedError`.
   */
  setWriters(writers: readonly string[]): Promise<void>
}

/**
 * Creates and starts a configuration-mesh peer.
 *
 * @example
 * ```ts
 * const mesh = await createMesh({ bootstrap: ['/ip4/10.0.0.5/tcp/4001/p2p/12D3Koo...'] })
 * mesh.watch('feature.checkout', (e) => console.log(e.key, e.previous, '->', e.value))
 * await mesh.namespace('payments').set('limit', { daily: 500 })
 * ```
 */
export async function createMesh(options: MeshOptions = {}): Promise<ConfigMesh> {
  const mesh = new Mesh(validateOptions(options))
  try {
    await mesh.start()
  } catch (err) {
    await mesh.abortStart()
    throw err
  }
  return mesh
}

interface ResolvedOptions {
  listen: string[]
  bootstrap: string[]
  name: string
  privateKey: PrivateKey | undefined
  weight: number
  tags: Record<string, string>
  logger: MeshLogger | undefined
  maxValueBytes: number
  maxConnections: number
  targetConnections: number | undefined
  timing: MeshTiming
  connectionGater: ConnectionGater | undefined
  retention: ResolvedRetention
  storage: Storage | undefined
  ring: RingOptions
  lease: LeaseOptions
  security: ResolvedSecurity
}

const MESH_NAME = /^[A-Za-z0-9._-]{1,64}$/

function validateOptions(o: MeshOptions): ResolvedOptions {
  if (o === null || typeof o !== 'object') throw new InvalidOptionsError('options must be an object')
  const strings = (v: unknown, what: string): string[] => {
    if (v === undefined) return []
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
      throw new InvalidOptionsError(`${what} must be an array of multiaddr strings`)
    }
    return v
  }
  const name = o.name ?? DEFAULT_MESH_NAME
  if (typeof name !== 'string' || !MESH_NAME.test(name)) {
    throw new InvalidOptionsError(`name must match ${MESH_NAME}, got ${JSON.stringify(name)}`)
  }
  const bootstrap = strings(o.bootstrap, 'bootstrap')
  if (o.targetConnections !== undefined && !(Number.isSafeInteger(o.targetConnections) && o.targetConnections >= 1)) {
    throw new InvalidOptionsError(`targetConnections must be a positive integer, got ${String(o.targetConnections)}`)
  }
  for (const b of bootstrap) {
    if (!/\/p2p\/[A-Za-z0-9]+$/.test(b))
      throw new InvalidOptionsError(`bootstrap address ${b} must end in /p2p/<peerId>`)
  }
  const weight = o.weight ?? 1
  assertWeight(weight)
  const tags = o.tags ?? {}
  if (tags === null || typeof tags !== 'object' || !Object.values(tags).every((v) => typeof v === 'string')) {
    throw new InvalidOptionsError('tags must be an object of strings')
  }
  const security = resolveSecurity(o)
  return {
    security,
    listen: o.listen === undefined ? DEFAULT_LISTEN : strings(o.listen, 'listen'),
    bootstrap,
    name,
    privateKey: security.privateKey,
    weight,
    tags: { ...tags },
    logger: o.logger,
    maxValueBytes: o.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES,
    maxConnections: o.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    targetConnections: o.targetConnections,
    timing: { ...o.timing },
    connectionGater: o.connectionGater,
    retention: resolveRetention(o.retention),
    storage: resolveStorage(o),
    // with writers, catch-up replies come from writers only: joiners pull from them, not from ring-chosen owners
    ring: security.writers === undefined ? { ...o.ring } : { ...o.ring, joinSync: false },
    lease: { ...o.lease },
  }
}

/** The storage engine of `dataDir` / `storage` (durability, src/persistence). */
function resolveStorage(o: MeshOptions): Storage | undefined {
  if (o.dataDir !== undefined && o.storage !== undefined) {
    throw new InvalidOptionsError('pass dataDir or storage, not both')
  }
  if (o.dataDir !== undefined) {
    if (typeof o.dataDir !== 'string' || o.dataDir.length === 0)
      throw new InvalidOptionsError('dataDir must be a non-empty string')
    return createSqliteStorage({ dataDir: o.dataDir })
  }
  return o.storage
}

class Mesh implements ConfigMesh {
  readonly events = new TypedEventEmitter<MeshEvents>()
  readonly meshName: string
  private readonly opts: ResolvedOptions
  private node!: MeshNode
  private doc!: Y.Doc
  private store!: KvStore
  private versions!: Versions
  private hub!: WatchHub
  private applier!: UpdateApplier
  private gossip!: Gossip
  private catchUp!: CatchUp
  private membership!: Membership
  private logger!: MeshLogger
  private defaultNs!: Namespace
  private readonly namespaces_ = new Map<string, Namespace>()
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new'
  /** Coalesces the writes of one synchronous run into one transaction (see src/config/write-batcher.ts). */
  private readonly batcher = createWriteBatcher((ops) => {
    this.store.write(ops)
    return this.persistence?.durable() // with a data dir, a write resolves once it is on disk
  })
  private stopping: Promise<void> | undefined
  /** Durable state in the data dir (src/persistence); undefined without `dataDir`/`storage`. */
  private persistence: Persistence | undefined
  // ring and leases (src/ring, src/lease)
  private ring_!: MeshRingService
  private joinSync: JoinSync | undefined
  private leases!: Leases
  // security (src/security)
  private security!: MeshSecurity
  // schemas (src/schema)
  private schemas_!: SchemaRegistry
  // gray release (src/rollout)
  private overlay!: RolloutOverlay
  private rollouts_!: MeshRollouts

  constructor(opts: ResolvedOptions) {
    this.opts = opts
    this.meshName = opts.name
  }

  async start(): Promise<void> {
    const o = this.opts
    // Durability: open the data dir first; the identity comes from it (src/persistence).
    if (o.storage !== undefined) {
      this.persistence = await openPersistence({
        storage: o.storage,
        meshName: o.name,
        ...(o.privateKey === undefined ? {} : { privateKey: o.privateKey }),
      })
    }
    const privateKey = this.persistence?.privateKey ?? o.privateKey ?? (await generateKeyPair('Ed25519'))
    this.node = await createNode({
      listen: o.listen,
      bootstrap: o.bootstrap,
      privateKey,
      maxConnections: o.maxConnections,
      ...(o.connectionGater === undefined ? {} : { connectionGater: o.connectionGater }),
      ...(o.security.networkKey === undefined ? {} : { networkKey: o.security.networkKey }),
    })
    const peerId = this.node.peerId.toString()
    this.logger = o.logger ?? createDefaultLogger(`confmesh:${peerId.slice(-8)}`)
    this.doc = new Y.Doc({ gc: true })
    await this.persistence?.attach(this.doc, this.logger) // restore before anything reads or shares the document
    const persistence = this.persistence
    this.security = createMeshSecurity({
      doc: this.doc,
      peerId,
      options: o.security,
      ...(persistence === undefined ? {} : { persistedEpoch: () => persistence.writer?.epoch }),
      readWriters: () => this.store.get(WRITERS_NAMESPACE, WRITERS_KEY),
    })
    const clock = createHybridLogicalClock()
    this.versions = createVersions({
      doc: this.doc,
      author: peerId,
      clock,
      retention: o.retention,
      onError: (err) => this.logger.error(`history pruning failed: ${String(err)}`),
      pull: () => this.syncNow(), // a version's missing writes (rollback, atAsync, diffAsync)
    })
    this.store = createKvStore({
      doc: this.doc,
      author: peerId,
      clock,
      onListenerError: (err) => this.logger.error(`change listener threw: ${String(err)}`),
      onLocalWrite: this.versions.onLocalWrite,
      epoch: () => this.security.epoch(),
    })
    this.hub = createWatchHub(this.logger)
    this.schemas_ = createSchemaRegistry({
      store: this.store,
      write: (ops) => this.write(ops),
      logger: this.logger,
      extraValues: () => this.overlay.active().map(({ id, record }) => ({ ...record, rollout: id })),
    })
    this.overlay = createRolloutOverlay({ store: this.store, self: peerId, tags: o.tags })
    this.rollouts_ = createRollouts({
      overlay: this.overlay,
      self: peerId,
      tags: o.tags,
      members: () => this.membership.peers(),
      write: async (ops, message) => {
        await this.batcher([]) // writes issued before come first
        await this.writeWithMeta(ops, { message })
      },
      valueLimits: { maxBytes: o.maxValueBytes },
    })
    this.store.onChanges((changes) => this.hub.dispatch(this.schemas_.annotate(this.overlay.translate(changes))))

    const base = `/confmesh/${o.name}`
    let catchUp: CatchUp | undefined
    this.applier = createUpdateApplier({
      doc: this.doc,
      logger: this.logger,
      validators: [sizeValidator(DEFAULT_MAX_UPDATE_BYTES), ...this.security.validators],
      applyUpdate: this.security.applyUpdate,
      onGap: (from) => void catchUp?.requestPull(from),
    })
    const pubsub = this.node.services.pubsub
    this.membership = createMembership({
      node: this.node,
      pubsub,
      topic: `${base}/members/1`,
      logger: this.logger,
      weight: o.weight,
      tags: o.tags,
      seedAddresses: () => [
        ...o.bootstrap,
        ...this.membership.knownAddresses(),
        ...(this.persistence?.rememberedAddresses() ?? []),
      ],
      maxConnections: o.maxConnections,
      ...(o.targetConnections === undefined ? {} : { targetConnections: o.targetConnections }),
      ...(o.timing.heartbeatMs === undefined ? {} : { heartbeatMs: o.timing.heartbeatMs }),
      ...(o.timing.memberTimeoutMs === undefined ? {} : { timeoutMs: o.timing.memberTimeoutMs }),
      ready: () => this.joinSync?.ready ?? true,
    })
    this.membership.addEventListener('change', (evt) => {
      this.events.safeDispatchEvent('peers:change', { detail: evt.detail })
    })
    this.persistence?.trackPeers(() => this.membership.knownPeers()) // peers met, also ones dropped a moment ago
    catchUp = createCatchUp({
      node: this.node,
      protocol: `${base}/sync/1.0.0`,
      doc: this.doc,
      applier: this.applier,
      logger: this.logger,
      candidates: () =>
        this.membership
          .peers()
          .filter((p) => p.connected && this.security.policy.mayWrite(p.peerId))
          .map((p) => p.peerId),
      mayAccept: (from) => this.security.policy.mayWrite(from),
      ...(o.timing.antiEntropyMs === undefined ? {} : { antiEntropyMs: o.timing.antiEntropyMs }),
      ...(o.timing.catchUpTimeoutMs === undefined ? {} : { timeoutMs: o.timing.catchUpTimeoutMs }),
      ...this.durabilityGate(),
      partsProtocol: `${base}/sync/1.1.0`,
    })
    this.catchUp = catchUp
    await this.startRing(base, peerId)
    this.gossip = createGossip({
      pubsub,
      topic: `${base}/doc/1`,
      doc: this.doc,
      applier: this.applier,
      logger: this.logger,
      // a read-only peer collects losers locally but publishes nothing (peers refuse its updates)
      isLocalOrigin: (origin) =>
        origin === LOCAL_ORIGIN || (origin === CLEANUP_ORIGIN && this.security.policy.mayWrite(peerId)),
      epoch: () => this.security.epoch(),
      mayPublish: (publisher) => this.security.policy.mayWrite(publisher),
      maxMessageBytes: MAX_GOSSIP_MESSAGE_BYTES,
      requestPull: (from) => void catchUp.requestPull(from),
      ...this.durabilityGate(),
    })
    this.defaultNs = this.namespace(DEFAULT_NAMESPACE)
    this.gossip.start()
    await this.catchUp.start()
    await this.membership.start()
    this.ring_.start()
    this.joinSync?.start()
    await this.leases.start()
    this.versions.start()
    this.state = 'running'
    this.logger.info(`started ${peerId} on ${this.addresses.join(', ')}`)
  }

  // --- identity and peers ---------------------------------------------------------------------------------------

  get peerId(): string {
    return this.node.peerId.toString()
  }

  get addresses(): string[] {
    return this.node.getMultiaddrs().map((a) => a.toString())
  }

  peers(): PeerInfo[] {
    return this.state === 'running' ? this.membership.peers() : []
  }

  self(): PeerInfo {
    return this.membership.get(this.peerId) as PeerInfo
  }

  // --- the default namespace --------------------------------------------------------------------------------------

  get name(): string {
    return DEFAULT_NAMESPACE
  }

  get<T extends JsonValue = JsonValue>(key: string): T | undefined {
    return this.defaultNs.get<T>(key)
  }

  has(key: string): boolean {
    return this.defaultNs.has(key)
  }

  getEntry(key: string): EntryInfo | undefined {
    return this.defaultNs.getEntry(key)
  }

  entries(): Array<[string, JsonValue]> {
    return this.defaultNs.entries()
  }

  keys(): string[] {
    return this.defaultNs.keys()
  }

  toJSON(): Record<string, JsonValue> {
    return this.defaultNs.toJSON()
  }

  set(key: string, value: JsonValue): Promise<void> {
    return this.defaultNs.set(key, value)
  }

  delete(key: string): Promise<void> {
    return this.defaultNs.delete(key)
  }

  update(changes: Record<string, JsonValue | undefined>): Promise<void> {
    return this.defaultNs.update(changes)
  }

  watch(key: string, listener: WatchListener): () => void
  watch(target: { prefix: string }, listener: WatchListener): () => void
  watch(listener: WatchListener): () => void
  watch(a: WatchTarget | WatchListener, b?: WatchListener): () => void {
    return (this.defaultNs.watch as (a: WatchTarget | WatchListener, b?: WatchListener) => () => void)(a, b)
  }

  // --- namespaces -------------------------------------------------------------------------------------------------

  namespace(name: string): Namespace {
    let ns = this.namespaces_.get(name)
    if (ns === undefined) {
      ns = createNamespace(name, {
        store: this.overlay.view, // effective values: rollouts this peer is in (src/rollout)
        hub: this.hub,
        valueLimits: { maxBytes: this.opts.maxValueBytes },
        write: (ops) => this.write(ops),
        assertUsable: () => this.assertRunning(),
        secrets: this.security.secrets,
      })
      this.namespaces_.set(name, ns)
    }
    return ns
  }

  namespaces(): string[] {
    return this.store.namespaces()
  }

  watchAll(listener: WatchListener): () => void {
    this.assertRunning()
    if (typeof listener !== 'function') throw new TypeError('watchAll(listener): listener must be a function')
    return this.hub.addGlobal(listener)
  }

  // --- sync and diagnostics ---------------------------------------------------------------------------------------

  async connect(address: string): Promise<void> {
    this.assertRunning()
    await this.node.dial(multiaddr(address), { signal: AbortSignal.timeout(10_000) })
  }

  async disconnect(peerId: string): Promise<void> {
    this.assertRunning()
    await this.node.hangUp(peerIdFromString(peerId))
  }

  async syncNow(): Promise<void> {
    this.assertRunning()
    const peers = new Set(this.node.getConnections().map((c) => c.remotePeer.toString()))
    const members = new Set(this.membership.memberIds())
    await Promise.all([...peers].filter((p) => members.has(p)).map((p) => this.catchUp.requestPull(p)))
  }

  diagnostics(): MeshDiagnostics {
    const sv: Record<string, number> = {}
    for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(this.doc))) sv[String(client)] = clock
    const store = this.doc.store
    return {
      stateVector: sv,
      pending: store.pendingStructs !== null || store.pendingDs !== null,
      entries: this.store.entryCount(),
      counters: {
        ...prefixed('gossip', this.gossip.counters),
        ...prefixed('catchUp', this.catchUp.counters),
        ...prefixed('applier', this.applier.counters),
        ...prefixed('storage', this.persistence?.counters ?? {}),
        ...prefixed('join', this.joinSync?.counters ?? {}),
        ...prefixed('lease', this.leases.counters),
        ...prefixed('security', this.security.counters),
        ...prefixed('schema', this.schemas_.counters),
        'ring.members': this.ring_.members().length,
        'ring.version': this.ring_.version,
      },
    }
  }

  async stats(): Promise<MeshStats> {
    this.assertRunning()
    let keys = 0
    for (const ns of this.store.namespaces()) keys += this.store.entries(ns).length
    return {
      documentBytes: Y.encodeStateAsUpdate(this.doc).length,
      entries: this.store.entryCount(),
      keys,
      versions: this.versions.retained(),
    }
  }

  // --- ring and leases (src/ring, src/lease) ----------------------------------------------------------------------

  get ring(): MeshRing {
    return this.ring_
  }

  pick(options?: MeshPickOptions): string {
    this.assertRunning()
    return this.ring_.pick(options)
  }

  lease(name: string, options: LeaseRequestOptions): Promise<Lease> {
    this.assertRunning()
    return this.leases.acquire(name, options)
  }

  /** Builds the ring, the ring-served join (a peer with bootstrap addresses joins) and the lease service. */
  private async startRing(base: string, peerId: string): Promise<void> {
    const o = this.opts
    this.ring_ = await createMeshRing({
      membership: this.membership,
      self: peerId,
      weight: o.weight,
      ...(o.ring.vnodes === undefined ? {} : { vnodes: o.ring.vnodes }),
      ...(o.ring.boundedLoad === undefined ? {} : { boundedLoad: o.ring.boundedLoad }),
    })
    const join = o.ring.joinSync
    if (join !== false) {
      this.joinSync = createJoinSync({
        ...join,
        self: peerId,
        membership: this.membership,
        joining: o.bootstrap.length > 0,
        heartbeatMs: o.timing.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
        ...(o.ring.vnodes === undefined ? {} : { vnodes: o.ring.vnodes }),
        connect: (id) => this.connectMember(id),
        stateVector: () => Y.encodeStateVector(this.doc),
        fetchPart: (id, part, sv) => this.catchUp.fetchPart(id, part, sv),
        apply: (update, from) => this.applier.apply(update, { from, via: 'sync' }) === undefined,
        pullWhole: async (id) => {
          await this.catchUp.pull(id)
        },
        onReady: () => this.membership.announce(),
        logger: this.logger,
      })
      if (!this.joinSync.ready) this.catchUp.hold(this.joinSync.done)
    }
    this.leases = createLeases({
      ...o.lease,
      node: this.node,
      protocol: `${base}/lease/1.0.0`,
      self: peerId,
      ring: this.ring_,
      records: this.namespace(LEASE_NAMESPACE),
      flush: () => this.gossip.flush(),
      connect: (id) => this.connectMember(id),
      memberTimeoutMs: o.timing.memberTimeoutMs ?? DEFAULT_MEMBER_TIMEOUT_MS,
      ...(o.ring.vnodes === undefined ? {} : { vnodes: o.ring.vnodes }),
      logger: this.logger,
    })
  }

  /** Connects to a live member by the addresses it announced (no-op when connected). */
  private async connectMember(peerId: string): Promise<void> {
    if (peerId === this.peerId || this.node.getConnections(peerIdFromString(peerId)).length > 0) return
    const member = this.membership.get(peerId)
    if (member === undefined || member.addresses.length === 0)
      throw new NoLiveMembersError(`${peerId} is not a live member`)
    await this.node.dial(
      member.addresses.map((a) => multiaddr(a)),
      { signal: AbortSignal.timeout(5_000) },
    )
  }

  // --- versions (src/versions) ------------------------------------------------------------------------------------

  version(): Version {
    this.assertRunning()
    return this.versions.version()
  }

  compare(a: VersionRef, b: VersionRef): VersionOrder {
    return this.versions.compare(a, b)
  }

  history(options?: HistoryOptions): HistoryEntry[] {
    this.assertRunning()
    return this.versions.history(options)
  }

  async snapshot(message?: string): Promise<Version> {
    this.assertRunning()
    await this.batcher([]) // writes issued before come first
    return this.versions.snapshot((ops, meta) => this.writeWithMeta(ops, meta), message)
  }

  at(version: VersionRef): VersionView {
    this.assertRunning()
    return this.versions.at(version)
  }

  diff(from: VersionRef, to?: VersionRef): HistoryChange[] {
    this.assertRunning()
    return this.versions.diff(from, to)
  }

  atAsync(version: VersionRef, options?: VersionWaitOptions): Promise<VersionView> {
    this.assertRunning()
    return this.versions.atAsync(version, options)
  }

  diffAsync(from: VersionRef, to?: VersionRef, options?: VersionWaitOptions): Promise<HistoryChange[]> {
    this.assertRunning()
    return this.versions.diffAsync(from, to, options)
  }

  async rollback(version: VersionRef, options?: RollbackOptions): Promise<RollbackResult> {
    this.assertRunning()
    await this.batcher([]) // writes issued before are part of what is rolled back
    return this.versions.rollback(version, options, this.store, (ops, meta) => this.writeWithMeta(ops, meta))
  }

  /** A write batch with history metadata: applied at once, in its own transaction (not coalesced with others). */
  private async writeWithMeta(ops: WriteOp[], meta: WriteMeta): Promise<void> {
    this.assertRunning()
    this.security.assertMayWrite(ops)
    this.schemas_.assertValid([...ops, ...rolloutTargets(ops)])
    this.store.write(ops, meta)
    await this.persistence?.durable()
  }

  // --- lifecycle --------------------------------------------------------------------------------------------------

  stop(): Promise<void> {
    this.stopping ??= this.doStop()
    return this.stopping
  }

  private async doStop(): Promise<void> {
    if (this.state === 'new') return
    this.state = 'stopping'
    await this.leases.stop()
    this.joinSync?.stop()
    await this.gossip.flush()
    await this.membership.stop()
    this.ring_.stop()
    this.gossip.stop()
    await this.catchUp.stop()
    await this.node.stop()
    this.versions.stop()
    await this.persistence?.close() // last appends, compaction if due, address book, clean-stop flag
    this.store.destroy()
    this.doc.destroy()
    this.state = 'stopped'
    this.logger.info('stopped')
  }

  // --- durability (src/persistence) --------------------------------------------------------------------------------

  /** Gossip and catch-up wait for this before sending: nothing of ours leaves the process before it is on disk. */
  private durabilityGate(): { whenDurable?: () => Promise<void> } {
    const persistence = this.persistence
    return persistence === undefined ? {} : { whenDurable: () => persistence.durable() }
  }

  /** Releases what a failed `start()` acquired: the libp2p node and the data dir (its lock). */
  async abortStart(): Promise<void> {
    this.state = 'stopped'
    try {
      await (this.node as MeshNode | undefined)?.stop()
    } catch {
      // the start failure is what the caller needs to see
    }
    await this.persistence?.close()
  }

  private assertRunning(): void {
    if (this.state !== 'running') throw new MeshStoppedError(`mesh ${this.meshName} is ${this.state}`)
  }

  private async write(ops: WriteOp[]): Promise<void> {
    this.assertRunning()
    this.security.assertMayWrite(ops)
    this.schemas_.assertValid([...ops, ...rolloutTargets(ops)])
    await this.batcher(ops)
  }

  // --- security (src/security) ------------------------------------------------------------------------------------

  setSecret(key: string, value: JsonValue): Promise<void> {
    return this.defaultNs.setSecret(key, value)
  }

  secret<T extends JsonValue = JsonValue>(key: string): T | undefined {
    return this.defaultNs.secret<T>(key)
  }

  writers(): string[] | undefined {
    this.assertRunning()
    return this.security.writers()
  }

  async setWriters(writers: readonly string[]): Promise<void> {
    this.assertRunning()
    const op = this.security.writersOp(writers)
    await this.batcher([op])
  }

  // --- schemas (src/schema) ---------------------------------------------------------------------------------------

  setSchema(namespace: string, keyPattern: string, jsonSchema: JsonValue, options?: SetSchemaOptions): Promise<void> {
    this.assertRunning()
    return this.schemas_.set(namespace, keyPattern, jsonSchema, options)
  }

  deleteSchema(namespace: string, keyPattern: string): Promise<void> {
    this.assertRunning()
    return this.schemas_.delete(namespace, keyPattern)
  }

  schemas(): SchemaInfo[] {
    this.assertRunning()
    return this.schemas_.list()
  }

  validate(): SchemaIssue[] {
    this.assertRunning()
    return this.schemas_.validate()
  }

  // --- gray release (src/rollout) ---------------------------------------------------------------------------------

  rollout(namespace: string, key: string, value: JsonValue, options?: RolloutOptions): Promise<{ id: string }> {
    this.assertRunning()
    return this.rollouts_.rollout(namespace, key, value, options)
  }

  rollouts(): RolloutInfo[] {
    this.assertRunning()
    return this.rollouts_.rollouts()
  }

  promote(id: string): Promise<void> {
    this.assertRunning()
    return this.rollouts_.promote(id)
  }

  abort(id: string): Promise<void> {
    this.assertRunning()
    return this.rollouts_.abort(id)
  }

  // --- feature flags (src/flags) -----------------------------------------------------------------------------------

  importFlags(json: string | JsonValue, options?: ImportFlagsOptions): Promise<ImportFlagsResult> {
    this.assertRunning()
    return importFlags((name) => this.namespace(name), json, options)
  }
}

function prefixed(prefix: string, counters: object): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(counters)) if (typeof v === 'number') out[`${prefix}.${k}`] = v
  return out
}
