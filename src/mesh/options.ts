/**
 * The options of `createMesh`: their types with documented defaults, and their validation into
 * {@link ResolvedOptions} (nothing starts until every option is valid).
 *
 * @module
 */

import type { ConnectionGater, PrivateKey } from '@libp2p/interface'
import { type Clock, type Random, systemClock } from '../clock.js'
import { DEFAULT_MAX_VALUE_BYTES } from '../config/value.js'
import { InvalidOptionsError } from '../errors.js'
import type { LeaseOptions } from '../lease/leases.js'
import type { MeshLogger } from '../logger.js'
import type { SwimConfig } from '../membership/swim/config.js'
import type { BoundedLoadInit } from '../ring/hash-ring.js'
import { assertWeight } from '../ring/weight.js'
import { type ResolvedSecurity, resolveSecurity, type SecurityOptions } from '../security/mesh-security.js'
import { createSqliteStorage } from '../storage/sqlite-storage.js'
import type { Storage } from '../storage/storage.js'
import type { JoinSyncOptions } from '../sync/join-sync.js'
import { DEFAULT_MAX_CONNECTIONS } from '../transport/libp2p-node.js'
import type { Transport } from '../transport/transport.js'
import { type ResolvedRetention, type RetentionOptions, resolveRetention } from '../versions/retention.js'

/** Default listen address: loopback, any free port. */
export const DEFAULT_LISTEN = ['/ip4/127.0.0.1/tcp/0']
/** Default mesh name. Meshes with different names never mix. */
export const DEFAULT_MESH_NAME = 'confmesh'

/** Ring options of `createMesh({ ring })`. */
export interface RingOptions {
  /** Virtual nodes per unit of weight. Default `DEFAULT_VNODES` (200) of `ring/hash-ring.ts`. */
  vnodes?: number
  /** Bounded loads for `MeshRing.assign`. Default: off (every key on its `ownerOf` primary). */
  boundedLoad?: BoundedLoadInit
  /**
   * How a joiner takes its first full state: from its ring owners, split in parts (`sync/join-sync.ts`), or `false`
   * to pull from every new neighbour as before. Default: enabled with that module's defaults.
   */
  joinSync?: false | JoinSyncOptions
}

/** How peers learn who is alive (see docs/membership.md). */
export interface MembershipOptions {
  /**
   * `'swim'` (default): SWIM failure detection with Lifeguard (one probe per period, piggybacked updates,
   * push-pull), constant cost per peer whatever the mesh size. `'heartbeat'`: every peer publishes a signed
   * heartbeat to all others every `timing.heartbeatMs` (cost per peer grows with N; the protocol before SWIM). Every
   * peer of a mesh must use the same one.
   */
  protocol?: 'swim' | 'heartbeat'
  /**
   * SWIM settings (`SwimConfig` of `membership/swim/config.ts`). Default: derived from `timing` (probe period
   * `heartbeatMs / 2`, suspicion sized to drop a crashed peer within about `memberTimeoutMs` at up to 10 members);
   * with `timing` unset, period 500 ms and suspicion `2 log10 N` periods (dropped within ~4.3 s at 100 peers).
   */
  swim?: Partial<SwimConfig>
  /**
   * Connections a peer opens only to probe members it is not connected to, kept least-recently-used (the oldest is
   * closed when another is needed). Default `targetConnections` (12): a peer opens at most twice that many.
   */
  maxProbeConnections?: number
}

/** Tuning knobs; the defaults suit most meshes. */
export interface MeshTiming {
  /** Membership heartbeat period in ms (with SWIM: twice the probe period). Default 1000. */
  heartbeatMs?: number
  /**
   * A member silent this long (ms) is dropped. Default 4000 (dropped everywhere within 5 s). With SWIM, the
   * suspicion is sized from it (see {@link MembershipOptions.swim}).
   */
  memberTimeoutMs?: number
  /**
   * Anti-entropy catch-up period in ms (±25 % jitter) while this peer's document changes; 0 disables. Default 5000.
   * A quiet peer doubles it after 6 rounds without a change, up to {@link MeshTiming.maxAntiEntropyMs}.
   */
  antiEntropyMs?: number
  /** Longest anti-entropy period of a quiet peer, in ms (equal to `antiEntropyMs`: a fixed period). Default 60000. */
  maxAntiEntropyMs?: number
  /** Time limit of one catch-up exchange in ms. Default 30000. */
  catchUpTimeoutMs?: number
}

/** Options of `createMesh`. Security options (`networkKey`, `identity`, `writers`, `dataKey`): see `THREAT_MODEL.md`. */
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
  /** Membership protocol and its settings. Default: SWIM. */
  membership?: MembershipOptions
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
  /**
   * The network to run on instead of the libp2p node built from `listen`, `bootstrap`, `networkKey`,
   * `connectionGater` and `maxConnections`: a {@link Transport} (e.g. a peer of `confmesh/testing`'s simulated
   * network), or a function that builds one for this peer's identity (the data dir's, if any). The mesh takes it
   * over: it starts and stops it. Default: the libp2p node.
   */
  transport?: Transport | TransportFactory
  /** Time and timers of every part (a simulated peer's `clock` in simulations). Default: the system clock. */
  clock?: Clock
  /** Randomness of every part: jitter, random peers, the writer epoch (a simulated peer's `random`). Default: `Math.random` and the CSPRNG. */
  random?: Random
}

/** Builds the transport of a peer with this identity (see {@link MeshOptions.transport}). */
export type TransportFactory = (identity: { privateKey: PrivateKey }) => Promise<Transport>

/** {@link MeshOptions} validated, with every default applied (what the wiring builds from). */
export interface ResolvedOptions {
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
  membership: MembershipOptions & { protocol: 'swim' | 'heartbeat' }
  connectionGater: ConnectionGater | undefined
  retention: ResolvedRetention
  storage: Storage | undefined
  ring: RingOptions
  lease: LeaseOptions
  security: ResolvedSecurity
  transport: Transport | TransportFactory | undefined
  clock: Clock
  random: Random | undefined
}

const MESH_NAME = /^[A-Za-z0-9._-]{1,64}$/

/** Validates `createMesh` options; throws `InvalidOptionsError` (or a building block's named error). */
export function validateOptions(o: MeshOptions): ResolvedOptions {
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
    membership: resolveMembership(o.membership),
    connectionGater: o.connectionGater,
    retention: resolveRetention(o.retention),
    storage: resolveStorage(o),
    // with writers, catch-up replies come from writers only: joiners pull from them, not from ring-chosen owners
    ring: security.writers === undefined ? { ...o.ring } : { ...o.ring, joinSync: false },
    lease: { ...o.lease },
    transport: o.transport,
    clock: o.clock ?? systemClock,
    random: o.random,
  }
}

/** The membership options with their default (SWIM). */
function resolveMembership(m: MembershipOptions | undefined): MembershipOptions & { protocol: 'swim' | 'heartbeat' } {
  if (m !== undefined && (m === null || typeof m !== 'object'))
    throw new InvalidOptionsError('membership must be an object')
  const protocol = m?.protocol ?? 'swim'
  if (protocol !== 'swim' && protocol !== 'heartbeat') {
    throw new InvalidOptionsError(`membership.protocol must be 'swim' or 'heartbeat', got ${JSON.stringify(protocol)}`)
  }
  const cap = m?.maxProbeConnections
  if (cap !== undefined && !(Number.isSafeInteger(cap) && cap >= 1)) {
    throw new InvalidOptionsError(`membership.maxProbeConnections must be a positive integer, got ${String(cap)}`)
  }
  return { ...m, protocol }
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
