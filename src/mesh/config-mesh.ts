/**
 * ConfigMesh: the facade of one embedded peer of a configuration mesh. It validates options (`options.ts`), has the
 * wiring build every part (`wiring.ts`), runs their start and stop lists, and forwards calls; protocol details live in
 * `sync/`, data semantics in `config/` and `doc/`, membership in `membership/`, the ring in `ring/`.
 *
 * @module
 */

import { TypedEventEmitter } from 'main-event'
import * as Y from 'yjs'
import { timeoutSignal } from '../clock.js'
import { DEFAULT_NAMESPACE, type EntryInfo, type Namespace } from '../config/namespace.js'
import type { JsonValue } from '../config/value.js'
import type { WatchListener, WatchTarget } from '../config/watch.js'
import { MeshStoppedError } from '../errors.js'
import type { MeshFlags } from '../flags/api.js'
import { type ImportFlagsOptions, type ImportFlagsResult, importFlags } from '../flags/import-flags.js'
import type { Lease, LeaseRequestOptions } from '../lease/leases.js'
import type { Member, MembershipChange } from '../membership/membership.js'
import type { MeshPickOptions, MeshRing } from '../ring/mesh-ring.js'
import type { MeshRollouts, RolloutInfo, RolloutOptions } from '../rollout/api.js'
import type { MeshSchemas, SchemaInfo, SetSchemaOptions } from '../schema/api.js'
import type { SchemaIssue } from '../schema/errors.js'
import type { CatchUp } from '../sync/catch-up.js'
import type { MeshVersions } from '../versions/api.js'
import type { HistoryChange } from '../versions/diff.js'
import type { HistoryEntry, HistoryOptions } from '../versions/history.js'
import type { RollbackOptions, RollbackResult } from '../versions/rollback.js'
import type { Version, VersionOrder, VersionRef } from '../versions/vector-clock.js'
import type { VersionWaitOptions } from '../versions/version-wait.js'
import type { VersionView } from '../versions/view.js'
import { type MeshOptions, type ResolvedOptions, validateOptions } from './options.js'
import { startAll, stopAll } from './startable.js'
import { type MeshParts, wireMesh } from './wiring.js'

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
  /** Entries held (live values, tombstones, losers awaiting GC, replaced values history still refers to). */
  entries: number
  /**
   * Counters by part (`gossip.`, `catchUp.`, `applier.`, `storage.`, `join.`, `lease.`, `security.`, `schema.`,
   * `membership.`) and a few gauges (`membership.health`, `membership.incarnation`, `ring.members`, `ring.version`,
   * `transport.connections`).
   */
  counters: Record<string, number>
}

/** Sizes reported by `stats()`. */
export interface MeshStats {
  /** The encoded document size in bytes (`Y.encodeStateAsUpdate(doc).length`). */
  documentBytes: number
  /** Entries held in the document (live values, tombstones, losers awaiting GC, replaced values history refers to). */
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
  await mesh.start()
  return mesh
}

class Mesh implements ConfigMesh {
  readonly events = new TypedEventEmitter<MeshEvents>()
  readonly meshName: string
  private readonly opts: ResolvedOptions
  private p!: MeshParts
  private defaultNs!: Namespace
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new'
  private stopping: Promise<void> | undefined

  constructor(opts: ResolvedOptions) {
    this.opts = opts
    this.meshName = opts.name
  }

  async start(): Promise<void> {
    this.p = await wireMesh(this.opts, { assertRunning: () => this.assertRunning() })
    const p = this.p
    p.membership.addEventListener('change', (evt) => {
      this.events.safeDispatchEvent('peers:change', { detail: evt.detail })
    })
    this.defaultNs = p.namespace(DEFAULT_NAMESPACE)
    try {
      await startAll(p.startOrder)
    } catch (err) {
      this.state = 'stopped'
      await p.abort()
      throw err
    }
    this.state = 'running'
    p.logger.info(`started ${p.peerId} on ${this.addresses.join(', ')}`)
  }

  /** The catch-up protocol; private, but security tests reach into it by this name to force a pull. */
  private get catchUp(): CatchUp {
    return this.p.catchUp
  }

  // --- identity and peers ---------------------------------------------------------------------------------------

  get peerId(): string {
    return this.p.peerId
  }

  get addresses(): string[] {
    return this.p.transport.addresses()
  }

  peers(): PeerInfo[] {
    return this.state === 'running' ? this.p.membership.peers() : []
  }

  self(): PeerInfo {
    return this.p.membership.get(this.peerId) as PeerInfo
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
    return this.p.namespace(name)
  }

  namespaces(): string[] {
    return this.p.store.namespaces()
  }

  watchAll(listener: WatchListener): () => void {
    this.assertRunning()
    if (typeof listener !== 'function') throw new TypeError('watchAll(listener): listener must be a function')
    return this.p.hub.addGlobal(listener)
  }

  // --- sync and diagnostics ---------------------------------------------------------------------------------------

  async connect(address: string): Promise<void> {
    this.assertRunning()
    // on the mesh's clock: a simulated run's dial must not depend on how much real time the run takes
    await this.p.transport.dial([address], { signal: timeoutSignal(this.opts.clock, 10_000) })
  }

  async disconnect(peerId: string): Promise<void> {
    this.assertRunning()
    await this.p.transport.hangUp(peerId)
  }

  async syncNow(): Promise<void> {
    this.assertRunning()
    await this.p.pullAll()
  }

  diagnostics(): MeshDiagnostics {
    const p = this.p
    const sv: Record<string, number> = {}
    for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(p.doc))) sv[String(client)] = clock
    const store = p.doc.store
    return {
      stateVector: sv,
      pending: store.pendingStructs !== null || store.pendingDs !== null,
      entries: p.store.entryCount(),
      counters: {
        ...prefixed('gossip', p.gossip.counters),
        ...prefixed('catchUp', p.catchUp.counters),
        ...prefixed('applier', p.ingest.counters),
        ...prefixed('storage', p.persistence?.counters ?? {}),
        ...prefixed('join', p.joinSync?.counters ?? {}),
        ...prefixed('lease', p.leases.counters),
        ...prefixed('security', p.security.counters),
        ...prefixed('schema', p.schemas.counters),
        ...prefixed('membership', p.membership.counters?.() ?? {}),
        'ring.members': p.ring.members().length,
        'ring.version': p.ring.version,
        'transport.connections': p.transport.connections().length,
      },
    }
  }

  async stats(): Promise<MeshStats> {
    this.assertRunning()
    const p = this.p
    let keys = 0
    for (const ns of p.store.namespaces()) keys += p.store.entries(ns).length
    return {
      documentBytes: Y.encodeStateAsUpdate(p.doc).length,
      entries: p.store.entryCount(),
      keys,
      versions: p.versions.retained(),
    }
  }

  // --- ring and leases (src/ring, src/lease) ----------------------------------------------------------------------

  get ring(): MeshRing {
    return this.p.ring
  }

  pick(options?: MeshPickOptions): string {
    this.assertRunning()
    return this.p.ring.pick(options)
  }

  lease(name: string, options: LeaseRequestOptions): Promise<Lease> {
    this.assertRunning()
    return this.p.leases.acquire(name, options)
  }

  // --- versions (src/versions) ------------------------------------------------------------------------------------

  version(): Version {
    this.assertRunning()
    return this.p.versions.version()
  }

  compare(a: VersionRef, b: VersionRef): VersionOrder {
    return this.p.versions.compare(a, b)
  }

  history(options?: HistoryOptions): HistoryEntry[] {
    this.assertRunning()
    return this.p.versions.history(options)
  }

  async snapshot(message?: string): Promise<Version> {
    this.assertRunning()
    await this.p.settled() // writes issued before come first
    return this.p.versions.snapshot(this.p.writeWithMeta, message)
  }

  at(version: VersionRef): VersionView {
    this.assertRunning()
    return this.p.versions.at(version)
  }

  diff(from: VersionRef, to?: VersionRef): HistoryChange[] {
    this.assertRunning()
    return this.p.versions.diff(from, to)
  }

  atAsync(version: VersionRef, options?: VersionWaitOptions): Promise<VersionView> {
    this.assertRunning()
    return this.p.versions.atAsync(version, options)
  }

  diffAsync(from: VersionRef, to?: VersionRef, options?: VersionWaitOptions): Promise<HistoryChange[]> {
    this.assertRunning()
    return this.p.versions.diffAsync(from, to, options)
  }

  async rollback(version: VersionRef, options?: RollbackOptions): Promise<RollbackResult> {
    this.assertRunning()
    await this.p.settled() // writes issued before are part of what is rolled back
    return this.p.versions.rollback(version, options, this.p.store, this.p.writeWithMeta)
  }

  // --- lifecycle --------------------------------------------------------------------------------------------------

  stop(): Promise<void> {
    this.stopping ??= this.doStop()
    return this.stopping
  }

  private async doStop(): Promise<void> {
    if (this.state === 'new' || this.state === 'stopped') return
    this.state = 'stopping'
    await stopAll(this.p.stopOrder)
    this.state = 'stopped'
    this.p.logger.info('stopped')
  }

  private assertRunning(): void {
    if (this.state !== 'running') throw new MeshStoppedError(`mesh ${this.meshName} is ${this.state}`)
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
    return this.p.security.writers()
  }

  async setWriters(writers: readonly string[]): Promise<void> {
    this.assertRunning()
    const op = this.p.security.writersOp(writers)
    await this.p.writeWriterSet(op)
  }

  // --- schemas (src/schema) ---------------------------------------------------------------------------------------

  setSchema(namespace: string, keyPattern: string, jsonSchema: JsonValue, options?: SetSchemaOptions): Promise<void> {
    this.assertRunning()
    return this.p.schemas.set(namespace, keyPattern, jsonSchema, options)
  }

  deleteSchema(namespace: string, keyPattern: string): Promise<void> {
    this.assertRunning()
    return this.p.schemas.delete(namespace, keyPattern)
  }

  schemas(): SchemaInfo[] {
    this.assertRunning()
    return this.p.schemas.list()
  }

  validate(): SchemaIssue[] {
    this.assertRunning()
    return this.p.schemas.validate()
  }

  // --- gray release (src/rollout) ---------------------------------------------------------------------------------

  rollout(namespace: string, key: string, value: JsonValue, options?: RolloutOptions): Promise<{ id: string }> {
    this.assertRunning()
    return this.p.rollouts.rollout(namespace, key, value, options)
  }

  rollouts(): RolloutInfo[] {
    this.assertRunning()
    return this.p.rollouts.rollouts()
  }

  promote(id: string): Promise<void> {
    this.assertRunning()
    return this.p.rollouts.promote(id)
  }

  abort(id: string): Promise<void> {
    this.assertRunning()
    return this.p.rollouts.abort(id)
  }

  // --- feature flags (src/flags) ----------------------------------------------------------------------------------

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
