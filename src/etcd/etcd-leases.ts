/**
 * etcd leases over the mesh, for service registration: a lease is a record in the replicated config (namespace
 * {@link ETCD_LEASE_NAMESPACE}: granted TTL, wall-clock expiry), the keys attached to it are recorded per served
 * namespace (`__confmesh.etcd.keys/<namespace>`: key -> lease id), and every agent can read, extend and revoke it.
 *
 * - Ids are deterministic and collision-free without coordination: 22 bits of the granting peer id's hash and 41
 *   bits of a per-agent counter that starts at the milliseconds since 2020 and only grows.
 * - Keep-alives on any agent write a new expiry (last writer wins: the latest keep-alive counts).
 * - Expiry is done by one agent per lease: the first live member in the ring order of `etcd-lease/<id>` that serves
 *   the etcd API (agents announce themselves in {@link ETCD_AGENTS_NAMESPACE}). When the agent that granted a lease
 *   crashes, membership drops it within the member timeout and the next agent in ring order expires the lease. The
 *   expiring agent deletes the lease record, every attached key (in every served namespace) and the attachments in
 *   one change, so every peer sees the keys go together.
 *
 * Not guaranteed: expiry to the millisecond (it runs every `checkMs`, and compares wall clocks of different agents:
 * keep their clocks synchronised); a key re-put without the lease on another agent at the same moment as the expiry
 * may be deleted or kept (last writer wins per key).
 *
 * @module
 */
import { createHash } from 'node:crypto'
import type { JsonValue } from '../config/value.js'
import type { MeshLogger } from '../logger.js'
import type { ConfigMesh } from '../mesh/config-mesh.js'
import { etcdErrors, invalidArgument } from './errors.js'

/** Namespace of the lease records (id -> `{ ttl, expiresAt, grantedBy }`). */
export const ETCD_LEASE_NAMESPACE = '__confmesh.etcd.leases'
/** Namespace where each etcd API announces itself (peer id -> `{ address, namespace }`). */
export const ETCD_AGENTS_NAMESPACE = '__confmesh.etcd.agents'
/** Prefix of the namespaces recording which keys are attached to which lease (one per served namespace). */
export const ETCD_ATTACH_PREFIX = '__confmesh.etcd.keys/'
/** Largest lease TTL, seconds (etcd's `MaxLeaseTTL`). */
export const MAX_LEASE_TTL = 9_000_000_000
/** Default period of the expiry check, ms. */
export const DEFAULT_LEASE_CHECK_MS = 250

const ID_EPOCH_MS = Date.UTC(2020, 0, 1)
const SEQ_BITS = 41n

/** The attachment namespace of a served namespace. */
export function attachNamespace(namespace: string): string {
  return ETCD_ATTACH_PREFIX + namespace
}

/** A lease record as replicated. */
export interface LeaseRecord {
  /** Granted TTL, seconds. */
  ttl: number
  /** Wall-clock expiry, ms since epoch. */
  expiresAt: number
  /** Peer id of the agent that granted it. */
  grantedBy: string
}

/** Options of {@link EtcdLeases}. */
export interface EtcdLeasesInit {
  mesh: ConfigMesh
  logger: MeshLogger
  /** Period of the expiry check, ms. Default {@link DEFAULT_LEASE_CHECK_MS}. */
  checkMs?: number
}

function parseRecord(v: JsonValue | undefined): LeaseRecord | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined
  const { ttl, expiresAt, grantedBy } = v as Record<string, JsonValue>
  if (typeof ttl !== 'number' || typeof expiresAt !== 'number') return undefined
  return { ttl, expiresAt, grantedBy: typeof grantedBy === 'string' ? grantedBy : '' }
}

/** Normalises a request's lease id (int64 as string or number) to a decimal string; `'0'` for none. */
export function leaseIdOf(id: string | number | undefined): string {
  if (id === undefined || id === '' || id === 0) return '0'
  let n: bigint
  try {
    n = BigInt(id)
  } catch {
    throw invalidArgument(`lease id ${String(id)} is not an integer`)
  }
  if (n < 0n) throw invalidArgument(`lease id ${String(id)} is negative`)
  return n.toString()
}

/** The etcd leases of one agent (read and written through the mesh). */
export class EtcdLeases {
  readonly #mesh: ConfigMesh
  readonly #logger: MeshLogger
  readonly #checkMs: number
  readonly #idPrefix: bigint
  #lastSeq = 0n
  #timer: NodeJS.Timeout | undefined
  readonly #expiring = new Set<string>()

  constructor(init: EtcdLeasesInit) {
    this.#mesh = init.mesh
    this.#logger = init.logger
    this.#checkMs = init.checkMs ?? DEFAULT_LEASE_CHECK_MS
    const h = createHash('sha256').update(init.mesh.peerId).digest()
    this.#idPrefix = BigInt(h.readUInt32BE(0) & 0x3fffff)
  }

  /** Starts the expiry check. */
  start(): void {
    this.#timer = setInterval(() => this.#sweep(), this.#checkMs)
    this.#timer.unref()
  }

  /** Stops the expiry check. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
  }

  get #records() {
    return this.#mesh.namespace(ETCD_LEASE_NAMESPACE)
  }

  /** The record of lease `id`, if it exists (expired-but-not-yet-swept leases count as existing until swept). */
  get(id: string): LeaseRecord | undefined {
    return id === '0' ? undefined : parseRecord(this.#records.get(id))
  }

  /** Grants a lease of `ttl` seconds (`requested`: the client's id, `'0'` to choose one); returns its id. */
  async grant(ttl: number, requested: string): Promise<{ id: string; ttl: number }> {
    if (!Number.isFinite(ttl) || ttl > MAX_LEASE_TTL) throw etcdErrors.leaseTtlTooLarge()
    const granted = Math.max(1, Math.trunc(ttl))
    let id = requested
    if (id === '0') {
      const now = BigInt(Date.now() - ID_EPOCH_MS)
      this.#lastSeq = now > this.#lastSeq ? now : this.#lastSeq + 1n
      id = ((this.#idPrefix << SEQ_BITS) | (this.#lastSeq & ((1n << SEQ_BITS) - 1n))).toString()
    } else if (this.get(id) !== undefined) {
      throw etcdErrors.leaseExists()
    }
    const record: LeaseRecord = { ttl: granted, expiresAt: Date.now() + granted * 1000, grantedBy: this.#mesh.peerId }
    await this.#records.set(id, { ...record })
    return { id, ttl: granted }
  }

  /** Extends lease `id` by its TTL from now; returns the TTL, or 0 when the lease does not exist (etcd's answer). */
  async keepAlive(id: string): Promise<number> {
    const record = this.get(id)
    if (record === undefined || record.expiresAt <= Date.now()) return 0
    await this.#records.set(id, { ...record, expiresAt: Date.now() + record.ttl * 1000 })
    return record.ttl
  }

  /** Remaining seconds (-1 when the lease does not exist), granted TTL and, with `withKeys`, the attached keys. */
  timeToLive(id: string, attachedIn: string): { ttl: number; grantedTtl: number; keys: string[] } {
    const record = this.get(id)
    if (record === undefined) return { ttl: -1, grantedTtl: 0, keys: [] }
    const ttl = Math.max(0, Math.ceil((record.expiresAt - Date.now()) / 1000))
    return { ttl, grantedTtl: record.ttl, keys: this.attachedKeys(id, attachedIn) }
  }

  /** Ids of every lease. */
  list(): string[] {
    return this.#records.keys()
  }

  /** Keys of `namespace` attached to lease `id`. */
  attachedKeys(id: string, namespace: string): string[] {
    return this.#mesh
      .namespace(attachNamespace(namespace))
      .entries()
      .filter(([, v]) => v === id)
      .map(([k]) => k)
  }

  /** The lease `key` of `namespace` is attached to (`'0'`: none). */
  leaseOf(namespace: string, key: string): string {
    const v = this.#mesh.namespace(attachNamespace(namespace)).get(key)
    return typeof v === 'string' ? v : '0'
  }

  /** Revokes lease `id`: deletes it and its keys everywhere. Throws etcd's lease-not-found. */
  async revoke(id: string): Promise<void> {
    if (this.get(id) === undefined) throw etcdErrors.leaseNotFound()
    await this.#drop(id)
  }

  /** Deletes the record, the attached keys of every served namespace and their attachments, as one change. */
  #drop(id: string): Promise<unknown> {
    const writes: Array<Promise<void>> = [this.#records.delete(id)]
    for (const ns of this.#mesh.namespaces()) {
      if (!ns.startsWith(ETCD_ATTACH_PREFIX)) continue
      const served = this.#mesh.namespace(ns.slice(ETCD_ATTACH_PREFIX.length))
      const attach = this.#mesh.namespace(ns)
      for (const [key, v] of attach.entries()) {
        if (v !== id) continue
        writes.push(attach.delete(key))
        if (served.has(key)) writes.push(served.delete(key))
      }
    }
    return Promise.all(writes)
  }

  /** The agent that expires lease `id`: the first live etcd agent in the ring order of `etcd-lease/<id>`. */
  expirerOf(id: string): string {
    const ring = this.#mesh.ring
    const agents = this.#mesh.namespace(ETCD_AGENTS_NAMESPACE)
    const order = ring.ownerOf(`etcd-lease/${id}`, Math.max(1, ring.members().length))
    return order.find((peer) => agents.has(peer)) ?? this.#mesh.peerId
  }

  #sweep(): void {
    const now = Date.now()
    for (const [id, v] of this.#records.entries()) {
      const record = parseRecord(v)
      if (record === undefined || record.expiresAt > now || this.#expiring.has(id)) continue
      if (this.expirerOf(id) !== this.#mesh.peerId) continue
      this.#expiring.add(id)
      this.#drop(id)
        .catch((err) => this.#logger.error(`etcd lease ${id} not expired: ${String(err)}`))
        .finally(() => this.#expiring.delete(id))
    }
  }
}
