/**
 * Leases (a distributed lock with fencing tokens), granted by the ring owner of the lease name over the stream
 * protocol `/confmesh/<mesh>/lease/1.0.0` (codec: `lease/codec.ts`; owner side: `lease/lease-server.ts`).
 *
 * The requester sends `acquire` to the primary ring owner of the name in its own view (to itself without a stream);
 * a peer that sees another owner answers `redirect`, and the requester follows it (a few hops, then waits for the
 * views to converge). `held` is thrown as {@link LeaseHeldError}, or waited out with `{ wait: true }` by polling the
 * owner with backoff (no queue: no fairness between waiters). A lease's local expiry is counted from when the
 * request was *sent*, so it ends no later than the owner's.
 *
 * Guarantees and limits: `docs/leases.md`.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { type Clock, type Random, systemClock, type TimerHandle, timeoutSignal } from '../clock.js'
import { assertValidKey } from '../config/key.js'
import type { Namespace } from '../config/namespace.js'
import type { JsonValue } from '../config/value.js'
import { InvalidOptionsError, MeshStoppedError } from '../errors.js'
import type { MeshLogger } from '../logger.js'
import type { MeshRing, RingChange } from '../ring/mesh-ring.js'
import { StreamResetError } from '../transport/errors.js'
import type { Transport, TransportStream } from '../transport/transport.js'
import { decodeLeaseMessage, encodeLeaseMessage, type LeaseMessage, MAX_LEASE_MESSAGE_BYTES } from './codec.js'
import { LeaseDeniedError, LeaseHeldError, LeaseLostError, LeaseTimeoutError, LeaseUnavailableError } from './errors.js'
import {
  createLeaseServer,
  LEASE_NAMESPACE,
  type LeaseRecord,
  type LeaseServer,
  type LeaseServerCounters,
} from './lease-server.js'
import { createOwnershipHistory, type OwnershipHistory } from './ownership.js'

/** Default longest lease ttl (and so the takeover wait after an owner change, plus the member timeout). */
export const DEFAULT_MAX_TTL_MS = 15_000
/** Default deadline of a `lease()` call without `wait`, ms. */
export const DEFAULT_LEASE_REQUEST_TIMEOUT_MS = 5_000
/** Default deadline of a `lease()` call with `wait: true`, ms. */
export const DEFAULT_LEASE_WAIT_TIMEOUT_MS = 30_000
/** Time limit of one request/reply exchange, ms. */
export const LEASE_EXCHANGE_TIMEOUT_MS = 3_000
/** First poll interval of a waiting requester; it doubles up to 8x (no queue on the owner: waiters poll). */
const HELD_POLL_MS = 20
/** Redirects followed before waiting for the ring views to converge. */
const MAX_REDIRECT_HOPS = 3

/** Lease options of `createMesh({ lease })`. Every peer of a mesh should use the same values. */
export interface LeaseOptions {
  /**
   * Longest `ttlMs` this peer grants as an owner, ms. It is also the takeover wait: a peer that just became the
   * owner of a name grants it only after `maxTtlMs` + the member timeout. Default {@link DEFAULT_MAX_TTL_MS}.
   */
  maxTtlMs?: number
}

/** Options of `mesh.lease(name, options)`. */
export interface LeaseRequestOptions {
  /** Time to live of the lease, ms: a positive integer up to the owner's `maxTtlMs`. */
  ttlMs: number
  /** Wait while the lease is held (polling the owner) instead of throwing {@link LeaseHeldError}. Default `false`. */
  wait?: boolean
  /**
   * Give up after this many ms: {@link LeaseTimeoutError} with `wait`, else {@link LeaseUnavailableError} when the
   * owner could not be reached. Default {@link DEFAULT_LEASE_WAIT_TIMEOUT_MS} with `wait`, else
   * {@link DEFAULT_LEASE_REQUEST_TIMEOUT_MS}.
   */
  timeoutMs?: number
  /** Aborts the request (rejects with the signal's reason). */
  signal?: AbortSignal
}

/** A granted lease. */
export interface Lease {
  /** The lease name. */
  readonly name: string
  /**
   * Fencing token: grows with every grant of this name, also across owners. Pass it to whatever the lease protects
   * and have that refuse tokens lower than the highest it has seen.
   */
  readonly token: number
  /** Peer id of the owner that granted it (renewals and the release go there). */
  readonly owner: string
  /** The granted time to live, ms (of the last grant or renewal). */
  readonly ttlMs: number
  /**
   * When the lease ends on this peer's clock (ms since epoch): sent-time of the last grant or renewal request plus
   * its ttl, never later than the owner's own expiry.
   */
  readonly expiresAt: number
  /** Whether `expiresAt` has passed or the lease was released or lost. */
  readonly expired: boolean
  /** Aborted when the lease expires, is released, or a renewal finds it lost. */
  readonly signal: AbortSignal
  /**
   * Extends the lease by `ttlMs` (default: the granted ttl) from now. Only the granting owner renews.
   *
   * @throws {LeaseLostError} expired, released, or the owner no longer owns the name (or is unreachable)
   */
  renew(ttlMs?: number): Promise<void>
  /** Releases the lease (best effort: if the owner is unreachable the lease simply expires). Idempotent. */
  release(): Promise<void>
}

/** Counters of the lease service (owner and requester side). */
export interface LeaseCounters extends LeaseServerCounters {
  /** Requests this peer sent (including retries). */
  requests: number
  /** Requests that failed to reach an owner. */
  requestFailures: number
}

/** Options of {@link createLeases}. */
export interface LeasesInit extends LeaseOptions {
  transport: Transport
  /**
   * Time and timers: deadlines, expiry, backoff, the owner's takeover guard and token floor (virtual time in
   * simulations). Default: the system clock (with `performance.now` for the owner's monotonic durations).
   */
  clock?: Clock
  /** Randomness of backoff jitter and holder nonces (seeded in simulations). Default: `Math.random` and the CSPRNG. */
  random?: Random
  /** Protocol id, e.g. `/confmesh/<mesh>/lease/1.0.0`. */
  protocol: string
  self: string
  ring: MeshRing
  /** Namespace {@link LEASE_NAMESPACE} of the mesh, for the records. */
  records: Namespace
  /** Pushes pending local writes to the mesh now. */
  flush(): Promise<void>
  /** Connects to a member (no-op if connected). */
  connect(peerId: string): Promise<void>
  /** The member timeout of the mesh, ms (part of the takeover wait). */
  memberTimeoutMs: number
  /** Virtual nodes of the mesh ring. */
  vnodes?: number
  logger: MeshLogger
}

/** The lease service of one mesh peer. */
export interface Leases {
  /** Serves the lease protocol and follows the ring. */
  start(): Promise<void>
  /** Stops serving; pending `acquire` calls reject with `MeshStoppedError`. */
  stop(): Promise<void>
  /** Acquires a lease; see {@link LeaseRequestOptions}. */
  acquire(name: string, options: LeaseRequestOptions): Promise<Lease>
  /** Owner- and requester-side counters. */
  readonly counters: LeaseCounters
}

/** Creates the lease service (owner and requester side). */
export function createLeases(init: LeasesInit): Leases {
  return new LeaseService(init)
}

function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason)
      return
    }
    const timer = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    function onAbort(): void {
      clock.clearTimeout(timer)
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** A record read back from the config, if it has the expected shape. */
function parseRecord(value: JsonValue | undefined): LeaseRecord | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
  const v = value as Record<string, JsonValue>
  if (typeof v.token !== 'number' || !Number.isSafeInteger(v.token)) return undefined
  return {
    token: v.token,
    owner: String(v.owner ?? ''),
    holder: String(v.holder ?? ''),
    ttlMs: typeof v.ttlMs === 'number' ? v.ttlMs : 0,
    grantedAt: typeof v.grantedAt === 'number' ? v.grantedAt : 0,
    ...(v.released === true ? { released: true as const } : {}),
  }
}

class LeaseService implements Leases {
  readonly #init: LeasesInit
  readonly clock: Clock
  readonly #random: Random
  readonly #maxTtlMs: number
  readonly #history: OwnershipHistory
  readonly #server: LeaseServer
  readonly #controller = new AbortController()
  readonly #requests = { requests: 0, requestFailures: 0 }
  #running = false
  readonly #onRingChange = (_evt: CustomEvent<RingChange>): void => this.#recordRing()

  constructor(init: LeasesInit) {
    this.#init = init
    this.clock = init.clock ?? systemClock
    this.#random = init.random ?? Math.random
    // the system clock's time may step; the owner measures its durations on performance.now then
    const monotonic = this.clock === systemClock ? {} : { now: () => this.clock.now() }
    this.#maxTtlMs = init.maxTtlMs ?? DEFAULT_MAX_TTL_MS
    if (!Number.isSafeInteger(this.#maxTtlMs) || this.#maxTtlMs < 1) {
      throw new InvalidOptionsError(`lease.maxTtlMs must be a positive integer, got ${String(init.maxTtlMs)}`)
    }
    const guardMs = this.#maxTtlMs + init.memberTimeoutMs
    this.#history = createOwnershipHistory({
      self: init.self,
      windowMs: guardMs,
      ...monotonic,
      ...(init.vnodes === undefined ? {} : { vnodes: init.vnodes }),
    })
    this.#server = createLeaseServer({
      self: init.self,
      ownerOf: (name) => init.ring.ownerOf(name)[0],
      history: this.#history,
      maxTtlMs: this.#maxTtlMs,
      guardMs,
      ...monotonic,
      wallNow: () => this.clock.now(),
      readRecord: (name) => parseRecord(init.records.get(name)),
      writeRecord: async (name, record) => {
        await init.records.set(name, JSON.parse(JSON.stringify(record)) as JsonValue)
        await init.flush()
      },
      logger: init.logger,
    })
  }

  get counters(): LeaseCounters {
    return { ...this.#server.counters, ...this.#requests }
  }

  async start(): Promise<void> {
    this.#running = true
    this.#recordRing()
    this.#init.ring.on('change', this.#onRingChange)
    await this.#init.transport.handle(this.#init.protocol, (stream) => this.#serve(stream, stream.remotePeer), {
      maxInboundStreams: 64,
      maxMessageBytes: MAX_LEASE_MESSAGE_BYTES,
    })
  }

  async stop(): Promise<void> {
    this.#running = false
    this.#controller.abort(new MeshStoppedError('mesh stopped'))
    this.#init.ring.off('change', this.#onRingChange)
    try {
      await this.#init.transport.unhandle(this.#init.protocol)
    } catch {
      // node already stopped
    }
  }

  #recordRing(): void {
    const ring = this.#init.ring
    this.#history.record(ring.members().map((id) => [id, ring.weightOf(id) ?? 1] as const))
  }

  async #serve(stream: TransportStream, from: string): Promise<void> {
    const signal = AbortSignal.any([this.#controller.signal, timeoutSignal(this.clock, LEASE_EXCHANGE_TIMEOUT_MS)])
    try {
      const request = decodeLeaseMessage(await readOne(stream, signal))
      const reply = await this.#server.handle(request, from)
      await stream.write(encodeLeaseMessage(reply), { signal })
      await stream.close({ signal })
    } catch (err) {
      this.#init.logger.debug(`lease request from ${from} failed: ${(err as Error).message}`)
      stream.abort(err as Error)
    }
  }

  /** One exchange with `peerId` (this peer: no stream). */
  async #exchange(peerId: string, request: LeaseMessage, outer: AbortSignal): Promise<LeaseMessage> {
    this.#requests.requests++
    if (peerId === this.#init.self) return this.#server.handle(request, this.#init.self)
    const signal = AbortSignal.any([outer, timeoutSignal(this.clock, LEASE_EXCHANGE_TIMEOUT_MS)])
    let stream: TransportStream | undefined
    try {
      await this.#init.connect(peerId)
      stream = await this.#init.transport.openStream(peerId, this.#init.protocol, {
        signal,
        maxMessageBytes: MAX_LEASE_MESSAGE_BYTES,
      })
      await stream.write(encodeLeaseMessage(request), { signal })
      const reply = decodeLeaseMessage(await readOne(stream, signal))
      await stream.close({ signal }).catch(() => {})
      return reply
    } catch (err) {
      this.#requests.requestFailures++
      stream?.abort(err as Error)
      throw err
    }
  }

  async acquire(name: string, options: LeaseRequestOptions): Promise<Lease> {
    if (!this.#running) throw new MeshStoppedError('mesh stopped')
    assertValidKey(name)
    const { ttlMs, wait = false } = options ?? ({} as LeaseRequestOptions)
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 1 || ttlMs > this.#maxTtlMs) {
      throw new InvalidOptionsError(`ttlMs must be an integer in 1..${this.#maxTtlMs}, got ${String(ttlMs)}`)
    }
    const timeoutMs = options.timeoutMs ?? (wait ? DEFAULT_LEASE_WAIT_TIMEOUT_MS : DEFAULT_LEASE_REQUEST_TIMEOUT_MS)
    const deadline = this.clock.now() + timeoutMs
    const signals = [this.#controller.signal, timeoutSignal(this.clock, timeoutMs)]
    if (options.signal !== undefined) signals.push(options.signal)
    const signal = AbortSignal.any(signals)
    const holder = this.#holderNonce()
    let target: string | undefined
    let hops = 0
    let attempt = 0
    let lastProblem = 'no owner reachable'
    for (;;) {
      target ??= this.#init.ring.ownerOf(name)[0]
      let pause = 0
      if (target !== undefined) {
        const sentAt = this.clock.now()
        let reply: LeaseMessage | undefined
        try {
          reply = await this.#exchange(target, { kind: 'acquire', name, holder, ttlMs }, signal)
        } catch (err) {
          if (options.signal?.aborted) throw options.signal.reason
          if (this.#controller.signal.aborted) throw new MeshStoppedError('mesh stopped')
          lastProblem = `owner ${target} unreachable: ${(err as Error).message}`
        }
        switch (reply?.kind) {
          case 'granted':
            return new LeaseHandle(this, name, holder, reply, sentAt)
          case 'held': {
            const error = new LeaseHeldError(
              reply.reason === 'held'
                ? `lease ${name} is held${reply.holder === undefined ? '' : ` by ${reply.holder}`}`
                : `lease ${name} may still be held under a previous owner; ${target} grants it in ${reply.retryAfterMs} ms`,
              {
                lease: name,
                reason: reply.reason,
                retryAfterMs: reply.retryAfterMs,
                ...(reply.holder === undefined ? {} : { holder: reply.holder }),
              },
            )
            if (!wait) throw error
            lastProblem = error.message
            pause = Math.min(reply.retryAfterMs, HELD_POLL_MS * 2 ** Math.min(attempt, 3))
            hops = 0
            break
          }
          case 'redirect':
            lastProblem = `${target} redirected to ${reply.owner ?? 'nobody'}`
            hops++
            if (reply.owner !== undefined && reply.owner !== target && hops <= MAX_REDIRECT_HOPS) {
              target = reply.owner
              continue
            }
            // Views disagree: wait for membership to converge, then ask our own view's owner again.
            pause = 50 * 2 ** Math.min(attempt, 4)
            hops = 0
            break
          case 'denied':
            throw new LeaseDeniedError(`lease ${name} denied by ${target}: ${reply.reason}`)
          case undefined:
            pause = 50 * 2 ** Math.min(attempt, 4)
            break
          default:
            lastProblem = `unexpected ${reply?.kind} reply from ${target}`
            pause = 50
        }
      }
      attempt++
      target = undefined
      const remaining = deadline - this.clock.now()
      if (remaining <= 0) {
        throw wait
          ? new LeaseTimeoutError(`lease ${name} not granted within ${timeoutMs} ms: ${lastProblem}`)
          : new LeaseUnavailableError(`lease ${name}: ${lastProblem}`)
      }
      try {
        await sleep(this.clock, Math.min(remaining, pause * (0.75 + this.#random() * 0.5) + 1), signal)
      } catch {
        if (options.signal?.aborted) throw options.signal.reason
        if (this.#controller.signal.aborted) throw new MeshStoppedError('mesh stopped')
        throw wait
          ? new LeaseTimeoutError(`lease ${name} not granted within ${timeoutMs} ms: ${lastProblem}`)
          : new LeaseUnavailableError(`lease ${name}: ${lastProblem}`)
      }
    }
  }

  /** A requester's holder nonce: 12 random bytes (from the seeded source in simulations). */
  #holderNonce(): string {
    if (this.#init.random === undefined) return randomBytes(12).toString('base64url')
    return Buffer.from(Array.from({ length: 12 }, () => Math.floor(this.#random() * 256))).toString('base64url')
  }

  /** Renewal / release of a lease, sent to its granting owner. */
  request(owner: string, message: LeaseMessage): Promise<LeaseMessage> {
    return this.#exchange(owner, message, this.#controller.signal)
  }
}

class LeaseHandle implements Lease {
  readonly name: string
  readonly token: number
  readonly owner: string
  #ttlMs: number
  #expiresAt: number
  readonly #service: LeaseService
  readonly #holder: string
  readonly #controller = new AbortController()
  #timer: TimerHandle | undefined
  #done = false

  constructor(
    service: LeaseService,
    name: string,
    holder: string,
    granted: Extract<LeaseMessage, { kind: 'granted' }>,
    sentAt: number,
  ) {
    this.#service = service
    this.name = name
    this.#holder = holder
    this.token = granted.token
    this.owner = granted.owner
    this.#ttlMs = granted.ttlMs
    this.#expiresAt = sentAt + granted.ttlMs
    this.#schedule()
  }

  get ttlMs(): number {
    return this.#ttlMs
  }

  get expiresAt(): number {
    return this.#expiresAt
  }

  get expired(): boolean {
    return this.#done || this.#service.clock.now() >= this.#expiresAt
  }

  get signal(): AbortSignal {
    return this.#controller.signal
  }

  async renew(ttlMs: number = this.#ttlMs): Promise<void> {
    if (this.expired) {
      this.#end('expired')
      throw new LeaseLostError(`lease ${this.name} (token ${this.token}) already ended`)
    }
    const sentAt = this.#service.clock.now()
    let reply: LeaseMessage
    try {
      reply = await this.#service.request(this.owner, {
        kind: 'renew',
        name: this.name,
        holder: this.#holder,
        token: this.token,
        ttlMs,
      })
    } catch (err) {
      throw new LeaseLostError(`lease ${this.name}: owner ${this.owner} unreachable`, { cause: err })
    }
    if (reply.kind !== 'granted' || reply.token !== this.token) {
      this.#end('lost')
      throw new LeaseLostError(
        `lease ${this.name} (token ${this.token}) not renewed: ${'reason' in reply ? reply.reason : reply.kind}`,
      )
    }
    this.#ttlMs = reply.ttlMs
    this.#expiresAt = sentAt + reply.ttlMs
    this.#schedule()
  }

  async release(): Promise<void> {
    if (this.#done) return
    this.#end('released')
    if (this.#service.clock.now() >= this.#expiresAt) return
    try {
      await this.#service.request(this.owner, {
        kind: 'release',
        name: this.name,
        holder: this.#holder,
        token: this.token,
      })
    } catch {
      // unreachable owner: the lease expires on its own
    }
  }

  #schedule(): void {
    const clock = this.#service.clock
    clock.clearTimeout(this.#timer)
    this.#timer = clock.setTimeout(() => this.#end('expired'), Math.max(0, this.#expiresAt - clock.now()))
  }

  #end(why: 'expired' | 'released' | 'lost'): void {
    if (this.#done) return
    this.#done = true
    this.#service.clock.clearTimeout(this.#timer)
    this.#controller.abort(new LeaseLostError(`lease ${this.name} (token ${this.token}) ${why}`))
  }
}

export { LEASE_NAMESPACE }

/** The one message a lease exchange expects next; a stream that ends first is an error. */
async function readOne(stream: TransportStream, signal: AbortSignal): Promise<Uint8Array> {
  const message = await stream.read({ signal })
  if (message === undefined) throw new StreamResetError(`lease stream with ${stream.remotePeer} ended early`)
  return message
}
