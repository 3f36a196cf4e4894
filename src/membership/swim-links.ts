/**
 * SWIM messages over the transport seam: how the sans-IO state machine's sends reach other peers and how their
 * messages reach it. Guarantees:
 *
 * - Probe-sized messages (ping, ping-req, ack, nack, gossip) go on one cached outbound stream per peer
 *   (`/confmesh/<mesh>/swim/1`, length-prefixed frames, at most {@link SWIM_LIMITS}.maxPacketBytes each), written
 *   in order; the stream is reopened after an error, and when its connection closed. A message whose write fails
 *   on a stream that was open goes out once more on a fresh one. They are datagrams: a peer that cannot be
 *   reached, or whose queue already holds {@link MAX_PENDING_PER_PEER} unsent messages, loses them (SWIM counts on
 *   loss, not on delivery). The remote peer of a stream is authenticated (Noise on libp2p), so the sender of every
 *   received message is known by construction and nobody can speak for another peer.
 * - Push-pulls (the whole member table) go on a fresh stream of their own protocol (`/confmesh/<mesh>/swim-sync/1`),
 *   one frame of at most {@link SWIM_LIMITS}.maxPushPullBytes (16 MiB), then closed.
 * - A member this peer is not connected to is dialled on demand at the addresses it announced. Connections opened
 *   that way are short-lived: {@link SwimLinks.closeIdle} closes those this peer sent nothing on for a while, and
 *   at most `maxProbeConnections` are open at once (the least recently used is closed first), so probing members
 *   in turn does not leave a peer connected to everyone. A peer can `keep` such a connection (discovery wants it),
 *   which takes it out of the set.
 * - Messages never wait behind a dial of ours once the member is connected some other way (it dialled us: a dial
 *   into a partition waits for its timeout even after the heal): the next message opens a stream on that
 *   connection, and whatever was queued behind the dial is dropped (datagrams).
 *
 * @module
 */
import type { MeshLogger } from '../logger.js'
import { DialRefusedError } from '../transport/errors.js'
import type { Transport, TransportStream } from '../transport/transport.js'
import { SWIM_LIMITS } from './swim/codec.js'

/** Unsent messages queued for one peer beyond which new ones are dropped (a datagram network would drop them too). */
export const MAX_PENDING_PER_PEER = 64
/** A release: the empty frame a peer sends before it closes the connection it opened to reach the receiver. */
const RELEASE = new Uint8Array(0)
/** Default cap of connections opened only to reach a member for SWIM. */
export const DEFAULT_MAX_PROBE_CONNECTIONS = 12

/** Options of {@link SwimLinks}. */
export interface SwimLinksInit {
  transport: Transport
  /** Protocol of probe-sized messages, e.g. `/confmesh/<mesh>/swim/1`. */
  protocol: string
  /** Protocol of push-pulls, e.g. `/confmesh/<mesh>/swim-sync/1`. */
  syncProtocol: string
  logger: MeshLogger
  /** Addresses to dial a member at when not connected (empty: cannot reach it). */
  addressesOf(peerId: string): readonly string[]
  /** A message from an authenticated peer. */
  onMessage(from: string, bytes: Uint8Array): void
  /** This peer closes a connection it opened for SWIM (idle, or to stay under the cap). */
  onEvict?(peerId: string): void
  /**
   * A peer sent a release (an empty frame): it is alive and about to close the connection it opened to reach this
   * peer (see {@link SwimLinks.closeIdle}), so that close is not a failure.
   */
  onRelease?(peerId: string): void
  /**
   * A push-pull could not reach `peerId`: this peer was not connected to it and the dial failed (refused, timed out,
   * no address). Evidence that the member may be down or on the far side of a partition; not called for a push-pull
   * lost on an open connection.
   */
  onUnreachable?(peerId: string): void
  /**
   * A dial to `peerId` (for a probe, a relay or a push-pull) was refused at every address ({@link DialRefusedError}):
   * nothing listens there, its process is gone. Called besides `onUnreachable`.
   */
  onRefused?(peerId: string): void
  /** Cap of connections opened for SWIM only. Default {@link DEFAULT_MAX_PROBE_CONNECTIONS}. */
  maxProbeConnections?: number
  /** The time in ms, for idle probe connections. Default `Date.now`. */
  now?: () => number
}

/** Traffic counters of one peer's SWIM links. */
export interface SwimTraffic {
  sent: number
  received: number
  sentBytes: number
  receivedBytes: number
  dropped: number
  /** Dials made to reach a member (not connected before). */
  dials: number
  /** Connections closed because the probe-connection cap was reached. */
  evictions: number
}

interface Link {
  readonly stream: Promise<TransportStream>
  tail: Promise<void>
  pending: number
  /** Whether its stream still waits for a dial of ours. */
  readonly dial: DialState
}

interface DialState {
  dialling: boolean
  /** Set when the dial failed (or there was no address to dial). */
  failed?: boolean
}

/** One peer's SWIM streams. */
export class SwimLinks {
  readonly traffic: SwimTraffic = {
    sent: 0,
    received: 0,
    sentBytes: 0,
    receivedBytes: 0,
    dropped: 0,
    dials: 0,
    evictions: 0,
  }
  readonly #init: SwimLinksInit
  readonly #links = new Map<string, Link>()
  readonly #inbound = new Set<TransportStream>()
  /** Connections this peer opened only for SWIM -> when this peer last opened a stream on it; least recent first. */
  readonly #probeConnections = new Map<string, number>()
  /** Idle probe connections whose SWIM stream this peer ended; hung up at the next {@link SwimLinks.closeIdle}. */
  readonly #ending = new Set<string>()
  readonly #maxProbe: number
  readonly #now: () => number
  #running = false

  constructor(init: SwimLinksInit) {
    this.#init = init
    this.#maxProbe = init.maxProbeConnections ?? DEFAULT_MAX_PROBE_CONNECTIONS
    this.#now = init.now ?? Date.now
  }

  /** Serves both protocols. */
  async start(): Promise<void> {
    this.#running = true
    const { transport, protocol, syncProtocol } = this.#init
    await transport.handle(protocol, (s) => this.#readAll(s), {
      maxMessageBytes: SWIM_LIMITS.maxPacketBytes,
      maxInboundStreams: 4,
    })
    await transport.handle(syncProtocol, (s) => this.#readOne(s), {
      maxMessageBytes: SWIM_LIMITS.maxPushPullBytes,
      maxInboundStreams: 4,
    })
  }

  /** Sends `bytes` to `to`: on its cached stream, or (`stream`) as a push-pull on a fresh one. Never throws. */
  send(to: string, bytes: Uint8Array, stream: boolean): void {
    if (!this.#running) return
    if (stream) {
      void this.#pushPull(to, bytes)
      return
    }
    this.#enqueue(to, this.#linkTo(to), bytes)
  }

  /** The cached link to `to`, opened if there is none. */
  #linkTo(to: string): Link {
    let link = this.#links.get(to)
    // A cached link is replaced when its state contradicts the connection's: our dial is still pending (one into a
    // partition waits for its timeout even when the partition heals) but `to` is connected now (it dialled us, or
    // another part of this peer did), so messages (an ack, the news that it is held down) need not queue behind a
    // dial that may still fail; or it is not dialling and its connection closed (the member hung up an idle probe
    // connection, or released it), so its stream is dead.
    if (link !== undefined && link.dial.dialling === this.#init.transport.isConnected(to)) {
      this.#links.delete(to)
      abortLink(link)
      link = undefined
    }
    if (link === undefined) {
      link = this.#newLink(to, true)
      this.#links.set(to, link)
    }
    return link
  }

  /** A new link to `to` (not cached); `use`: it counts as a use of a probe connection (a release does not). */
  #newLink(to: string, use: boolean): Link {
    const dial: DialState = { dialling: false }
    return {
      stream: this.#open(to, this.#init.protocol, SWIM_LIMITS.maxPacketBytes, use, dial),
      tail: Promise.resolve(),
      pending: 0,
      dial,
    }
  }

  /**
   * Writes `bytes` on `link` after everything queued before it; a full queue or a failed write drops it. `resend`: a
   * write that fails on a stream that was open (its connection closed under it: the member hung up an idle probe
   * connection, or released it) goes out once more on a fresh link instead of being lost.
   */
  #enqueue(to: string, link: Link, bytes: Uint8Array, resend = true): void {
    if (link.pending >= MAX_PENDING_PER_PEER) {
      this.traffic.dropped++
      return
    }
    const current = link
    current.pending++
    let opened = false
    current.tail = current.tail
      .then(async () => {
        const s = await current.stream
        opened = true
        await s.write(bytes)
        this.traffic.sent++
        this.traffic.sentBytes += bytes.length
      })
      .catch((err: Error) => {
        const cached = this.#links.get(to) === current
        if (cached) {
          this.#links.delete(to)
          abortLink(current)
          this.#init.logger.debug(`swim: link to ${to} lost: ${err.message}`)
        }
        // A stale stream, not an unreachable member: in a 100-peer fleet at idle, every false suspicion left was a
        // probe or an ack written to a stream whose connection the other side had just hung up (SWIM counts on loss,
        // but this loss is ours to avoid). A failed dial is not retried (the member may be down).
        if (resend && opened && cached && this.#running) this.#enqueue(to, this.#linkTo(to), bytes, false)
        else this.traffic.dropped++
      })
      .finally(() => {
        current.pending--
      })
  }

  /** Resolves once every message queued so far was written (or dropped), or after `signal` aborts. */
  async flush(signal: AbortSignal): Promise<void> {
    const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
    await Promise.race([Promise.all([...this.#links.values()].map((l) => l.tail)), aborted])
  }

  /** Takes `peerId` out of the evictable probe connections (discovery keeps it). */
  keep(peerId: string): void {
    this.#probeConnections.delete(peerId)
  }

  /** Whether the connection to `peerId` was opened for SWIM only (and may be closed to stay under the cap). */
  isProbeConnection(peerId: string): boolean {
    return this.#probeConnections.has(peerId)
  }

  /**
   * Closes the connections opened only for SWIM that this peer opened no stream on for `idleMs` (a probe's, a
   * push-pull's), in two steps a call apart: first this peer sends a release (an empty frame) and ends its SWIM
   * stream, so the member sees a live peer let go rather than a crash (`onRelease`), then it hangs up. Keeping them
   * would leave a peer connected to every member it ever probed.
   */
  closeIdle(idleMs: number): void {
    for (const peerId of this.#ending) {
      this.#ending.delete(peerId)
      if (this.#probeConnections.has(peerId)) this.#closeProbeConnection(peerId)
    }
    const now = this.#now()
    const idle: string[] = []
    for (const [peerId, usedAt] of this.#probeConnections) {
      if (now - usedAt < idleMs) break // least recently used first
      idle.push(peerId) // #ending is empty here: the loop above hung up every one
    }
    for (const peerId of idle) {
      if (!this.#init.transport.isConnected(peerId)) {
        this.#probeConnections.delete(peerId) // already gone: nothing to release
        continue
      }
      this.#ending.add(peerId)
      const link = this.#links.get(peerId) ?? this.#newLink(peerId, false)
      this.#links.delete(peerId)
      this.#enqueue(peerId, link, RELEASE, false)
      link.tail = link.tail.then(() => link.stream.then((s) => s.close().catch(() => s.abort()))).catch(() => {})
    }
  }

  /** Closes every stream and stops serving. */
  async stop(): Promise<void> {
    if (!this.#running) return
    this.#running = false
    for (const link of this.#links.values()) abortLink(link)
    this.#links.clear()
    for (const s of this.#inbound) s.abort()
    this.#inbound.clear()
    const { transport, protocol, syncProtocol } = this.#init
    await transport.unhandle(protocol).catch(() => {})
    await transport.unhandle(syncProtocol).catch(() => {})
  }

  async #pushPull(to: string, bytes: Uint8Array): Promise<void> {
    const dial: DialState = { dialling: false }
    try {
      const s = await this.#open(to, this.#init.syncProtocol, SWIM_LIMITS.maxPacketBytes, true, dial)
      await s.write(bytes)
      await s.close()
      this.traffic.sent++
      this.traffic.sentBytes += bytes.length
    } catch (err) {
      this.traffic.dropped++
      this.#init.logger.debug(`swim: push-pull to ${to} failed: ${(err as Error).message}`)
      if (dial.failed === true) this.#init.onUnreachable?.(to)
    }
  }

  async #open(
    to: string,
    protocol: string,
    maxMessageBytes: number,
    use = true,
    dial?: DialState,
  ): Promise<TransportStream> {
    const { transport } = this.#init
    if (!transport.isConnected(to)) {
      const addresses = this.#init.addressesOf(to)
      if (addresses.length === 0) {
        if (dial !== undefined) dial.failed = true
        throw new Error(`no address known for ${to}`)
      }
      this.traffic.dials++
      if (dial !== undefined) dial.dialling = true
      try {
        await transport.dial(addresses)
      } catch (err) {
        if (dial !== undefined) dial.failed = true
        if (err instanceof DialRefusedError && this.#running) this.#init.onRefused?.(to)
        throw err
      } finally {
        if (dial !== undefined) dial.dialling = false
      }
      this.#useProbeConnection(to)
      while (this.#probeConnections.size > this.#maxProbe) {
        this.traffic.evictions++
        this.#closeProbeConnection(this.#probeConnections.keys().next().value as string)
      }
    } else if (use && this.#probeConnections.has(to)) this.#useProbeConnection(to)
    return transport.openStream(to, protocol, { maxMessageBytes })
  }

  /** Marks a probe connection used now (most recently used last). */
  #useProbeConnection(peerId: string): void {
    this.#ending.delete(peerId)
    this.#probeConnections.delete(peerId)
    this.#probeConnections.set(peerId, this.#now())
  }

  #closeProbeConnection(peerId: string): void {
    this.#probeConnections.delete(peerId)
    this.#ending.delete(peerId)
    const link = this.#links.get(peerId)
    this.#links.delete(peerId)
    if (link !== undefined) abortLink(link)
    void this.#init.transport.hangUp(peerId).catch(() => {})
    this.#init.onEvict?.(peerId)
  }

  async #readAll(stream: TransportStream): Promise<void> {
    this.#inbound.add(stream)
    try {
      for (;;) {
        const bytes = await stream.read()
        if (bytes === undefined || !this.#running) break
        if (bytes.byteLength === 0) this.#init.onRelease?.(stream.remotePeer)
        else this.#deliver(stream.remotePeer, bytes)
      }
      // The sender ended its side (a release, or it replaced the stream): end ours, so the stream closes on both
      // sides. Half-open, it would count against the protocol's inbound stream limit on this connection for as long
      // as the connection lives (a probe connection discovery kept after its release).
      await stream.close()
    } catch (err) {
      this.#init.logger.debug(`swim: stream from ${stream.remotePeer} ended: ${(err as Error).message}`)
    } finally {
      this.#inbound.delete(stream)
    }
  }

  async #readOne(stream: TransportStream): Promise<void> {
    this.#inbound.add(stream)
    try {
      const bytes = await stream.read()
      if (bytes !== undefined && this.#running) this.#deliver(stream.remotePeer, bytes)
      await stream.close()
    } catch (err) {
      this.#init.logger.debug(`swim: push-pull from ${stream.remotePeer} failed: ${(err as Error).message}`)
      stream.abort()
    } finally {
      this.#inbound.delete(stream)
    }
  }

  #deliver(from: string, bytes: Uint8Array): void {
    this.traffic.received++
    this.traffic.receivedBytes += bytes.length
    this.#init.onMessage(from, bytes)
  }
}

/** Resets the stream of `link` once it is open (a link whose stream never opened has nothing to reset). */
function abortLink(link: Link): void {
  link.stream.then(
    (s) => s.abort(),
    () => {},
  )
}
