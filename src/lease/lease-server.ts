/**
 * The owner side of leases: the ring owner of a lease name grants, renews and releases it.
 *
 * State is in memory on the owner (who holds which name until when, the last fencing token it issued), plus a record
 * per name in the replicated config (namespace {@link LEASE_NAMESPACE}: last token, granting owner, holder, ttl)
 * written before a grant is answered (best effort: an owner that may not write the config still grants). See `docs/leases.md` for what this guarantees.
 *
 * Rules:
 * - Only the primary ring owner of a name (in this peer's view) answers; others reply `redirect` with the owner
 *   they see.
 * - Takeover guard: a peer that has owned a name for less than `guardMs` (`maxTtlMs` + member timeout) does not
 *   grant it: a previous owner (crashed, stopped, or not yet aware that ownership moved) may have granted a lease
 *   that is still running. Grants made in an earlier ownership period are forgotten.
 * - Fencing tokens: a grant's token is `max(last token issued here + 1, token in the replicated record + 1,
 *   Date.now() * 1000)`, so tokens grow per name even across owners whose records were lost, as long as clocks are
 *   within `maxTtlMs` of each other.
 * - Renewals are accepted only by the granting owner, during the same ownership period, before expiry.
 *
 * @module
 */
import type { LeaseMessage } from './codec.js'
import type { OwnershipHistory } from './ownership.js'

/** The reserved namespace holding one record per lease name (written by the granting owner). */
export const LEASE_NAMESPACE = '__confmesh.leases'
/** Fencing tokens are at least `Date.now() * TOKEN_CLOCK_SCALE` when granted. */
export const TOKEN_CLOCK_SCALE = 1000
/** Recorded tokens at or above this are ignored (leaves room below `Number.MAX_SAFE_INTEGER`). */
const MAX_RECORDED_TOKEN = Number.MAX_SAFE_INTEGER - 2 ** 32

/** The replicated record of a lease name. */
export interface LeaseRecord {
  /** Last fencing token issued for the name. */
  token: number
  /** Peer id of the granting owner. */
  owner: string
  /** Peer id of the holder. */
  holder: string
  /** Granted time to live, ms. */
  ttlMs: number
  /** Wall-clock time of the grant (owner's clock), ms since epoch. */
  grantedAt: number
  /** Set once the holder released it. */
  released?: true
}

/** Options of {@link createLeaseServer}. */
export interface LeaseServerInit {
  self: string
  /** Primary ring owner of a name in this peer's current view. */
  ownerOf(name: string): string | undefined
  history: OwnershipHistory
  /** Longest ttl granted. */
  maxTtlMs: number
  /** Takeover guard, ms (`maxTtlMs` + member timeout). */
  guardMs: number
  /** Reads the replicated record of a name. */
  readRecord(name: string): LeaseRecord | undefined
  /** Writes the replicated record of a name and pushes it to the mesh (resolves once sent). */
  writeRecord(name: string, record: LeaseRecord): Promise<void>
  /** Monotonic clock in ms. Default `performance.now`. */
  now?: () => number
  /** Wall clock in ms since the epoch (token floor, `grantedAt` of records). Default `Date.now`. */
  wallNow?: () => number
  logger: { debug(msg: string): void }
}

/** Counters of the lease server. */
export interface LeaseServerCounters {
  granted: number
  renewed: number
  released: number
  held: number
  takeoverWaits: number
  redirected: number
  /** Grants whose replicated record could not be written (e.g. this peer may not write the config). */
  recordFailures: number
}

/** The owner side of leases. */
export interface LeaseServer {
  /** Answers one request from `from` (a peer id). */
  handle(request: LeaseMessage, from: string): Promise<LeaseMessage>
  readonly counters: LeaseServerCounters
}

/** Creates the owner side. */
export function createLeaseServer(init: LeaseServerInit): LeaseServer {
  return new Server(init)
}

interface Grant {
  /** `<peer id>/<holder nonce>` */
  holder: string
  holderPeer: string
  token: number
  ttlMs: number
  grantedAt: number
  expiresAt: number
}

class Server implements LeaseServer {
  readonly counters: LeaseServerCounters = {
    granted: 0,
    renewed: 0,
    released: 0,
    held: 0,
    takeoverWaits: 0,
    redirected: 0,
    recordFailures: 0,
  }
  readonly #init: LeaseServerInit
  readonly #now: () => number
  readonly #wallNow: () => number
  readonly #grants = new Map<string, Grant>()
  readonly #lastToken = new Map<string, number>()

  constructor(init: LeaseServerInit) {
    this.#init = init
    this.#now = init.now ?? (() => performance.now())
    this.#wallNow = init.wallNow ?? Date.now
  }

  async handle(request: LeaseMessage, from: string): Promise<LeaseMessage> {
    const name = request.name
    if (request.kind !== 'acquire' && request.kind !== 'renew' && request.kind !== 'release') {
      return { kind: 'denied', name, reason: `${request.kind} is not a request` }
    }
    const holder = `${from}/${request.holder}`
    if (request.kind === 'release') return this.#release(name, holder, request.token)
    if (request.ttlMs < 1 || request.ttlMs > this.#init.maxTtlMs) {
      return { kind: 'denied', name, reason: `ttlMs must be 1..${this.#init.maxTtlMs}` }
    }
    const owner = this.#init.ownerOf(name)
    if (owner !== this.#init.self) {
      this.counters.redirected++
      return owner === undefined ? { kind: 'redirect', name } : { kind: 'redirect', name, owner }
    }
    const since = await this.#init.history.ownedSince(name)
    if (since === undefined) {
      // Ownership moved while we looked it up.
      const now = this.#init.ownerOf(name)
      return now === undefined ? { kind: 'redirect', name } : { kind: 'redirect', name, owner: now }
    }
    // From here on no await until the decision is recorded: requests for one name cannot interleave.
    const now = this.#now()
    let grant = this.#grants.get(name)
    if (grant !== undefined && (grant.grantedAt < since || grant.expiresAt <= now)) {
      // Expired, or granted in an earlier ownership period (someone else may have granted it since).
      this.#grants.delete(name)
      grant = undefined
    }
    if (request.kind === 'renew') {
      if (grant === undefined || grant.holder !== holder || grant.token !== request.token) {
        return { kind: 'lost', name, reason: 'not held by this holder here (expired, released or owner changed)' }
      }
      grant.expiresAt = now + request.ttlMs
      grant.ttlMs = request.ttlMs
      this.counters.renewed++
      return { kind: 'granted', name, token: grant.token, ttlMs: request.ttlMs, owner: this.#init.self }
    }
    if (grant !== undefined) {
      if (grant.holder === holder) {
        // A retried acquire whose answer was lost: same grant.
        return { kind: 'granted', name, token: grant.token, ttlMs: grant.ttlMs, owner: this.#init.self }
      }
      this.counters.held++
      return {
        kind: 'held',
        name,
        reason: 'held',
        retryAfterMs: Math.max(1, Math.ceil(grant.expiresAt - now)),
        holder: grant.holderPeer,
      }
    }
    const safeAt = since + this.#init.guardMs
    if (now < safeAt) {
      this.counters.takeoverWaits++
      return { kind: 'held', name, reason: 'takeover', retryAfterMs: Math.max(1, Math.ceil(safeAt - now)) }
    }
    const record = this.#init.readRecord(name)
    // A record near the top of the safe-integer range (forged, or from a clock far in the future) is ignored
    // rather than allowed to push tokens past what the wire format carries.
    const recorded = record !== undefined && record.token < MAX_RECORDED_TOKEN ? record.token : 0
    const token = Math.max((this.#lastToken.get(name) ?? 0) + 1, recorded + 1, this.#wallNow() * TOKEN_CLOCK_SCALE)
    const granted: Grant = {
      holder,
      holderPeer: from,
      token,
      ttlMs: request.ttlMs,
      grantedAt: now,
      expiresAt: now + request.ttlMs,
    }
    this.#grants.set(name, granted)
    this.#lastToken.set(name, token)
    this.#sweep(now)
    try {
      await this.#init.writeRecord(name, {
        token,
        owner: this.#init.self,
        holder: from,
        ttlMs: request.ttlMs,
        grantedAt: this.#wallNow(),
      })
    } catch (err) {
      // E.g. this peer is not an allowed writer of the mesh. The grant stands: a later owner then continues the
      // token sequence from the clock term alone (see docs/leases.md).
      this.counters.recordFailures++
      this.#init.logger.debug(`lease record for ${name} not written: ${(err as Error).message}`)
    }
    this.counters.granted++
    return { kind: 'granted', name, token, ttlMs: request.ttlMs, owner: this.#init.self }
  }

  #release(name: string, holder: string, token: number): LeaseMessage {
    const grant = this.#grants.get(name)
    if (grant !== undefined && grant.holder === holder && grant.token === token) {
      this.#grants.delete(name)
      this.counters.released++
      const record = this.#init.readRecord(name)
      if (record !== undefined && record.token === token) {
        this.#init.writeRecord(name, { ...record, released: true }).catch(() => {})
      }
    }
    return { kind: 'released', name }
  }

  /** Drops expired grants (bounded memory for many names). */
  #sweep(now: number): void {
    if (this.#grants.size < 1024) return
    for (const [name, g] of this.#grants) if (g.expiresAt <= now) this.#grants.delete(name)
  }
}
