/**
 * One peer's {@link Transport} on the simulated network (`simulated-network.ts`). The peer-local half of the
 * simulation lives here: its subscriptions and validators, what it knows of its neighbours' topics, the seen-cache
 * that drops duplicate gossip, relaying, and its protocol handlers. Everything that crosses a link goes through the
 * {@link SimulatedFabric} (the network), which applies latency, faults, partitions and crashes.
 *
 * Gossip behaves like confmesh's gossipsub setup (flood publish, StrictSign, no emit-self, mesh degree 3): a published
 * message goes to every connected peer known to subscribe its topic; a peer that accepts it delivers it and relays it
 * to at most `relayDegree` of its subscribed neighbours, chosen at random (not back, not to the publisher), as
 * gossipsub relays to its mesh peers only; duplicates are dropped on `publisher/seqno` for
 * `seenTtlMs`; `reject` and `ignore` stop a message at the peer that decided so.
 *
 * @module
 */
import { TypedEventEmitter } from 'main-event'
import type { Clock } from '../clock.js'
import { DialError, DialRefusedError, TopicInUseError, TransportStoppedError } from './errors.js'
import type { SeededRandom } from './seeded-random.js'
import type { SimulatedStreamEnd } from './simulated-stream.js'
import {
  DEFAULT_STREAM_MESSAGE_BYTES,
  type HandleOptions,
  type OpenStreamOptions,
  peerIdOfAddress,
  type StreamHandler,
  type TopicSubscriber,
  type Transport,
  type TransportEvents,
  type TransportStream,
  type Verdict,
} from './transport.js'

/** A gossip message on its way (one hop). */
export interface GossipFrame {
  /** `publisher/seqno`: the duplicate key. */
  readonly id: string
  readonly topic: string
  readonly origin: string
  readonly data: Uint8Array
}

/** A control message between two connected peers (reliable, in order). */
export type ControlFrame =
  | { kind: 'subscription'; topic: string; subscribed: boolean }
  | { kind: 'identify'; protocols: string[] }

/** What the network offers a peer's transport. */
export interface SimulatedFabric {
  readonly maxMessageBytes: number
  readonly seenTtlMs: number
  /** Most neighbours a received message is relayed to. */
  readonly relayDegree: number
  /** Hashes an event into the trace. */
  record(line: string, data?: Uint8Array): void
  /** Records an error thrown by application code (a subscriber or handler). */
  reportError(peerId: string, err: unknown): void
  /** Connects `from` to `to` (resolves once open). */
  dial(from: string, to: string, signal?: AbortSignal): Promise<void>
  /** Closes the connection between `from` and `to` (if any). */
  hangUp(from: string, to: string): void
  /** Peers `peerId` has an open connection to, sorted. */
  neighbours(peerId: string): string[]
  /** Whether `a` and `b` are connected. */
  isConnected(a: string, b: string): boolean
  /** Sends one gossip hop (lossy). */
  sendGossip(from: string, to: string, frame: GossipFrame): void
  /** Sends a control frame (reliable). */
  sendControl(from: string, to: string, frame: ControlFrame): void
  /** Opens a stream; resolves with the opener's end. */
  openStream(
    from: string,
    to: string,
    protocol: string,
    maxMessageBytes: number,
    signal?: AbortSignal,
  ): Promise<SimulatedStreamEnd>
  /** Closes every connection of `peerId` (it stopped). */
  stopped(peerId: string): void
  /** The address of `peerId`. */
  addressOf(peerId: string): string
  /** Whether `peerId` exists on the network. */
  exists(peerId: string): boolean
}

/** A protocol handler as the network needs it. */
export interface SimulatedHandler {
  handler: StreamHandler
  maxMessageBytes: number
  maxInboundStreams: number
}

/** A peer's transport on the simulated network: the seam plus the peer's virtual clock and random stream. */
export interface SimulatedTransport extends Transport {
  /** Virtual time as this peer reads it; its timers die with it on a crash. */
  readonly clock: Clock
  /** This peer's random stream (seeded from the network's seed, its id and incarnation). */
  readonly random: SeededRandom
  /** 0 at first, +1 per restart. */
  readonly incarnation: number
  /** Counters of gossip this peer saw. */
  readonly counters: { published: number; delivered: number; duplicates: number; rejected: number; ignored: number }
}

/** Internals the network calls on a peer's transport. */
export interface SimulatedPeer extends SimulatedTransport {
  readonly running: boolean
  onConnect(peer: string): void
  onDisconnect(peer: string): void
  onGossip(via: string, frame: GossipFrame): void
  onControl(from: string, frame: ControlFrame): void
  handlerFor(protocol: string): SimulatedHandler | undefined
  /** Stops without a word (crash): no events, no goodbyes. */
  kill(): void
}

/** Creates a peer's transport (the network calls this). */
export function createSimulatedPeer(
  peerId: string,
  incarnation: number,
  fabric: SimulatedFabric,
  clock: Clock,
  random: SeededRandom,
): SimulatedPeer {
  return new PeerTransport(peerId, incarnation, fabric, clock, random)
}

class PeerTransport extends TypedEventEmitter<TransportEvents> implements SimulatedPeer {
  readonly counters = { published: 0, delivered: 0, duplicates: 0, rejected: 0, ignored: 0 }
  private state: 'new' | 'running' | 'stopped' = 'new'
  private readonly topics = new Map<string, TopicSubscriber>()
  private readonly remoteTopics = new Map<string, Set<string>>()
  private readonly handlers = new Map<string, SimulatedHandler>()
  private readonly seen = new Map<string, number>()
  private seqno = 0

  constructor(
    readonly peerId: string,
    readonly incarnation: number,
    private readonly fabric: SimulatedFabric,
    readonly clock: Clock,
    readonly random: SeededRandom,
  ) {
    super()
  }

  get maxMessageBytes(): number {
    return this.fabric.maxMessageBytes
  }

  get running(): boolean {
    return this.state === 'running'
  }

  async start(): Promise<void> {
    this.assertUsable()
    if (this.state === 'new') this.fabric.record(`start ${this.peerId}`)
    this.state = 'running'
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return
    this.fabric.record(`stop ${this.peerId}`)
    this.fabric.stopped(this.peerId)
    this.state = 'stopped'
    this.topics.clear()
    this.handlers.clear()
  }

  kill(): void {
    this.state = 'stopped'
    this.topics.clear()
    this.handlers.clear()
  }

  addresses(): string[] {
    return [this.fabric.addressOf(this.peerId)]
  }

  subscribe(topic: string, subscriber: TopicSubscriber): void {
    this.assertUsable()
    if (this.topics.has(topic)) throw new TopicInUseError(`topic ${topic} already has a subscriber`)
    this.topics.set(topic, subscriber)
    this.fabric.record(`subscribe ${this.peerId} ${topic}`)
    for (const peer of this.fabric.neighbours(this.peerId)) {
      this.fabric.sendControl(this.peerId, peer, { kind: 'subscription', topic, subscribed: true })
    }
  }

  unsubscribe(topic: string): void {
    if (!this.topics.delete(topic) || this.state !== 'running') return
    this.fabric.record(`unsubscribe ${this.peerId} ${topic}`)
    for (const peer of this.fabric.neighbours(this.peerId)) {
      this.fabric.sendControl(this.peerId, peer, { kind: 'subscription', topic, subscribed: false })
    }
  }

  async publish(topic: string, data: Uint8Array): Promise<void> {
    this.assertRunning()
    const frame: GossipFrame = { id: `${this.peerId}/${++this.seqno}`, topic, origin: this.peerId, data: data.slice() }
    this.markSeen(frame.id)
    this.counters.published++
    this.fabric.record(`publish ${frame.id} ${topic} ${data.byteLength}B`, data)
    this.relay(frame, undefined)
  }

  subscribers(topic: string): string[] {
    if (this.state !== 'running') return []
    return this.fabric.neighbours(this.peerId).filter((p) => this.remoteTopics.get(p)?.has(topic) === true)
  }

  async handle(protocol: string, handler: StreamHandler, options?: HandleOptions): Promise<void> {
    this.assertUsable()
    this.handlers.set(protocol, {
      handler,
      maxMessageBytes: options?.maxMessageBytes ?? DEFAULT_STREAM_MESSAGE_BYTES,
      maxInboundStreams: options?.maxInboundStreams ?? 32,
    })
    this.identifyToAll()
  }

  async unhandle(protocol: string): Promise<void> {
    if (this.handlers.delete(protocol) && this.state === 'running') this.identifyToAll()
  }

  handlerFor(protocol: string): SimulatedHandler | undefined {
    return this.state === 'running' ? this.handlers.get(protocol) : undefined
  }

  async openStream(peerId: string, protocol: string, options?: OpenStreamOptions): Promise<TransportStream> {
    this.assertRunning()
    if (!this.fabric.isConnected(this.peerId, peerId)) {
      if (!this.fabric.exists(peerId)) throw new DialError(`unknown peer ${peerId}`)
      await this.fabric.dial(this.peerId, peerId, options?.signal)
    }
    const max = options?.maxMessageBytes ?? DEFAULT_STREAM_MESSAGE_BYTES
    return this.fabric.openStream(this.peerId, peerId, protocol, max, options?.signal)
  }

  async dial(addresses: readonly string[], options?: { signal?: AbortSignal }): Promise<string> {
    this.assertRunning()
    const ids = new Set(addresses.map((a) => peerIdOfAddress(a)))
    const [target] = ids
    if (ids.size !== 1 || target === undefined)
      throw new DialError(`not the addresses of one peer: ${addresses.join(', ')}`)
    if (!this.fabric.exists(target) || !addresses.includes(this.fabric.addressOf(target))) {
      throw new DialRefusedError(`no peer listens on ${addresses.join(', ')}`)
    }
    if (target === this.peerId) throw new DialError('cannot dial self')
    await this.fabric.dial(this.peerId, target, options?.signal)
    return target
  }

  async hangUp(peerId: string): Promise<void> {
    if (this.state !== 'running') return
    this.fabric.hangUp(this.peerId, peerId)
  }

  connections(): string[] {
    return this.state === 'running' ? this.fabric.neighbours(this.peerId) : []
  }

  isConnected(peerId: string): boolean {
    return this.state === 'running' && this.fabric.isConnected(this.peerId, peerId)
  }

  // --- called by the network ---------------------------------------------------------------------------------------

  onConnect(peer: string): void {
    if (this.state !== 'running') return
    this.remoteTopics.set(peer, new Set())
    this.safeDispatchEvent('peer:connect', { detail: peer })
    // the gossipsub hello and identify: what this peer subscribes and speaks
    for (const topic of this.topics.keys()) {
      this.fabric.sendControl(this.peerId, peer, { kind: 'subscription', topic, subscribed: true })
    }
    this.fabric.sendControl(this.peerId, peer, { kind: 'identify', protocols: [...this.handlers.keys()].sort() })
  }

  onDisconnect(peer: string): void {
    if (this.state !== 'running') return
    this.remoteTopics.delete(peer)
    this.safeDispatchEvent('peer:disconnect', { detail: peer })
  }

  onControl(from: string, frame: ControlFrame): void {
    if (this.state !== 'running') return
    if (frame.kind === 'identify') {
      this.safeDispatchEvent('peer:identify', { detail: { peerId: from, protocols: frame.protocols } })
      return
    }
    const topics = this.remoteTopics.get(from)
    if (topics === undefined) return
    if (frame.subscribed) topics.add(frame.topic)
    else topics.delete(frame.topic)
    const detail = { peerId: from, topic: frame.topic, subscribed: frame.subscribed }
    this.safeDispatchEvent('subscription-change', { detail })
  }

  onGossip(via: string, frame: GossipFrame): void {
    if (this.state !== 'running') return
    const subscriber = this.topics.get(frame.topic)
    if (subscriber === undefined) {
      this.fabric.record(`unsubscribed ${this.peerId} ${frame.id}`)
      return
    }
    if (this.isSeen(frame.id)) {
      this.counters.duplicates++
      this.fabric.record(`duplicate ${this.peerId} ${frame.id}`)
      return
    }
    this.markSeen(frame.id)
    const message = { topic: frame.topic, from: frame.origin, data: frame.data }
    let verdict: Verdict = 'accept'
    try {
      verdict = subscriber.validate?.(message) ?? 'accept'
    } catch {
      verdict = 'reject'
    }
    this.fabric.record(`${verdict} ${this.peerId} ${frame.id}`)
    if (verdict === 'reject') this.counters.rejected++
    if (verdict === 'ignore') this.counters.ignored++
    if (verdict !== 'accept') return
    this.counters.delivered++
    try {
      subscriber.onMessage(message)
    } catch (err) {
      this.fabric.reportError(this.peerId, err)
    }
    if (this.state === 'running') this.relay(frame, via)
  }

  // --- internals ---------------------------------------------------------------------------------------------------

  /** Publishing (`via` undefined): to every subscribed neighbour. Relaying: to `relayDegree` random ones. */
  private relay(frame: GossipFrame, via: string | undefined): void {
    const targets = this.fabric
      .neighbours(this.peerId)
      .filter((p) => p !== via && p !== frame.origin && this.remoteTopics.get(p)?.has(frame.topic) === true)
    const degree = via === undefined ? targets.length : this.fabric.relayDegree
    while (targets.length > degree) targets.splice(Math.floor(this.random.next() * targets.length), 1)
    for (const peer of targets) this.fabric.sendGossip(this.peerId, peer, frame)
  }

  private identifyToAll(): void {
    if (this.state !== 'running') return
    const protocols = [...this.handlers.keys()].sort()
    for (const peer of this.fabric.neighbours(this.peerId)) {
      this.fabric.sendControl(this.peerId, peer, { kind: 'identify', protocols })
    }
  }

  private isSeen(id: string): boolean {
    const now = this.clock.now()
    for (const [key, expires] of this.seen) {
      if (expires > now) break
      this.seen.delete(key)
    }
    return this.seen.has(id)
  }

  private markSeen(id: string): void {
    this.seen.set(id, this.clock.now() + this.fabric.seenTtlMs)
  }

  private assertUsable(): void {
    if (this.state === 'stopped') throw new TransportStoppedError(`transport of ${this.peerId} stopped`)
  }

  private assertRunning(): void {
    if (this.state !== 'running') throw new TransportStoppedError(`transport of ${this.peerId} is not running`)
  }
}
