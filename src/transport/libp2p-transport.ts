/**
 * The transport seam (`transport.ts`) over confmesh's libp2p node (`createNode`: TCP, Noise, Yamux, identify,
 * gossipsub with StrictSign).
 *
 * Guarantees beyond the seam's: topic validation runs in gossipsub's topic validator, so a rejected message is
 * neither delivered nor forwarded and gossipsub's peer scoring punishes its sender; only signed messages (StrictSign)
 * are accepted, so `from` is the verified signer. A publish over {@link Transport.maxMessageBytes} is dropped here,
 * before it is sent: receivers would drop it anyway, and gossipsub's inbound decoder drops the whole RPC stream of a
 * peer that sends one frame over its limit (later messages on that stream would be lost too). Streams keep the wire
 * framing of `lpStream` (`libp2p-stream.ts`).
 *
 * @module
 */
import type { Message as PubsubMessage, SubscriptionChangeData } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { IdentifyResult, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { TypedEventEmitter } from 'main-event'
import { MAX_GOSSIP_MESSAGE_BYTES } from '../doc/limits.js'
import type { MeshLogger } from '../logger.js'
import {
  DialError,
  DialRefusedError,
  TopicInUseError,
  TransportAbortedError,
  TransportStoppedError,
  UnsupportedProtocolError,
} from './errors.js'
import type { MeshNode } from './libp2p-node.js'
import { libp2pTransportStream } from './libp2p-stream.js'
import {
  DEFAULT_STREAM_MESSAGE_BYTES,
  type HandleOptions,
  type OpenStreamOptions,
  type StreamHandler,
  type TopicMessage,
  type TopicSubscriber,
  type Transport,
  type TransportEvents,
  type TransportStream,
  type Verdict,
} from './transport.js'

/** Options of {@link createLibp2pTransport}. */
export interface Libp2pTransportInit {
  /** The libp2p node (`createNode`); the transport owns it from now on and stops it in `stop()`. */
  node: MeshNode
  /** Largest published message. Default `MAX_GOSSIP_MESSAGE_BYTES` (1 MiB). */
  maxMessageBytes?: number
  /** Time limit of a dial or stream open without a signal, ms. Default 5,000 (the node's dial timeout). */
  dialTimeoutMs?: number
  /** Where dropped messages are logged (debug). Default: nowhere. */
  logger?: MeshLogger
}

/** Wraps a started libp2p node as a {@link Transport}. */
export function createLibp2pTransport(init: Libp2pTransportInit): Transport {
  return new Libp2pTransport(init)
}

const VERDICTS: Record<Verdict, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  reject: TopicValidatorResult.Reject,
  ignore: TopicValidatorResult.Ignore,
}

/** Most parsed peer ids a transport keeps (see `Libp2pTransport.peerIds`). */
const PEER_ID_CACHE_SIZE = 8_192
/** Longest a cached address list is used without libp2p reporting a change of its own record (ms). */
const ADDRESS_CACHE_MS = 10_000

class Libp2pTransport extends TypedEventEmitter<TransportEvents> implements Transport {
  readonly peerId: string
  readonly maxMessageBytes: number
  private readonly node: MeshNode
  private readonly init: Libp2pTransportInit
  private readonly topics = new Map<string, TopicSubscriber>()
  private stopped = false
  /**
   * Parsed peer ids by their string form: `isConnected` runs for every member on every probe and listing, and
   * parsing a peer id (base58, multihash) was a tenth of the CPU of 40 peers forming a mesh. Cleared when it outgrows
   * {@link PEER_ID_CACHE_SIZE}.
   */
  private readonly peerIds = new Map<string, PeerId>()
  /** The seam's view of each gossipsub message, so `onMessage` gets the very object `validate` saw. */
  private readonly views = new WeakMap<PubsubMessage, TopicMessage>()
  /**
   * This peer's addresses as last read, and when: libp2p builds the list anew on every read (124 µs, read once per
   * second by SWIM's announce: about a third of a SWIM peer's own idle work besides its probes). Dropped when libp2p
   * updates this peer's own record (`self:peer:update`, a listener opened or closed, an address confirmed) and after
   * {@link ADDRESS_CACHE_MS}.
   */
  private addressCache: { at: number; list: readonly string[] } | undefined
  private readonly onSelfUpdate = (): void => {
    this.addressCache = undefined
  }
  private readonly onMessage = (evt: CustomEvent<PubsubMessage>): void => {
    const msg = evt.detail
    if (msg.type !== 'signed') return
    this.topics.get(msg.topic)?.onMessage(this.view(msg))
  }
  private readonly onSubscription = (evt: CustomEvent<SubscriptionChangeData>): void => {
    const peerId = evt.detail.peerId.toString()
    for (const s of evt.detail.subscriptions) {
      this.safeDispatchEvent('subscription-change', { detail: { peerId, topic: s.topic, subscribed: s.subscribe } })
    }
  }
  private readonly onConnect = (evt: CustomEvent<PeerId>): void => {
    this.safeDispatchEvent('peer:connect', { detail: evt.detail.toString() })
  }
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    this.safeDispatchEvent('peer:disconnect', { detail: evt.detail.toString() })
  }
  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    const detail = { peerId: evt.detail.peerId.toString(), protocols: [...evt.detail.protocols] }
    this.safeDispatchEvent('peer:identify', { detail })
  }

  constructor(init: Libp2pTransportInit) {
    super()
    this.init = init
    this.node = init.node
    this.peerId = init.node.peerId.toString()
    this.maxMessageBytes = init.maxMessageBytes ?? MAX_GOSSIP_MESSAGE_BYTES
    const pubsub = this.node.services.pubsub
    pubsub.addEventListener('message', this.onMessage)
    pubsub.addEventListener('subscription-change', this.onSubscription)
    this.node.addEventListener('peer:connect', this.onConnect)
    this.node.addEventListener('peer:disconnect', this.onDisconnect)
    this.node.addEventListener('peer:identify', this.onIdentify)
    this.node.addEventListener('self:peer:update', this.onSelfUpdate)
  }

  async start(): Promise<void> {
    this.assertRunning()
    await this.node.start()
    this.addressCache = undefined
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    const pubsub = this.node.services.pubsub
    for (const topic of this.topics.keys()) pubsub.topicValidators.delete(topic)
    this.topics.clear()
    pubsub.removeEventListener('message', this.onMessage)
    pubsub.removeEventListener('subscription-change', this.onSubscription)
    await this.node.stop()
    // after the node stopped, so the last connections' disconnect events still reach listeners
    this.node.removeEventListener('peer:connect', this.onConnect)
    this.node.removeEventListener('peer:disconnect', this.onDisconnect)
    this.node.removeEventListener('peer:identify', this.onIdentify)
    this.node.removeEventListener('self:peer:update', this.onSelfUpdate)
  }

  addresses(): string[] {
    const now = Date.now()
    let cached = this.addressCache
    if (cached === undefined || now - cached.at >= ADDRESS_CACHE_MS || now < cached.at) {
      const list = this.node.getMultiaddrs().map((a) => a.toString())
      cached = { at: now, list }
      // an empty list (not listening yet) is not kept: the first addresses must show at once
      this.addressCache = list.length > 0 ? cached : undefined
    }
    return [...cached.list]
  }

  subscribe(topic: string, subscriber: TopicSubscriber): void {
    this.assertRunning()
    if (this.topics.has(topic)) throw new TopicInUseError(`topic ${topic} already has a subscriber`)
    this.topics.set(topic, subscriber)
    const pubsub = this.node.services.pubsub
    pubsub.topicValidators.set(topic, (_peer, msg) => {
      if (msg.type !== 'signed') return TopicValidatorResult.Reject
      if (subscriber.validate === undefined) return TopicValidatorResult.Accept
      try {
        return VERDICTS[subscriber.validate(this.view(msg))]
      } catch {
        return TopicValidatorResult.Reject
      }
    })
    pubsub.subscribe(topic)
  }

  unsubscribe(topic: string): void {
    if (!this.topics.delete(topic) || this.stopped) return
    const pubsub = this.node.services.pubsub
    pubsub.topicValidators.delete(topic)
    try {
      pubsub.unsubscribe(topic)
    } catch {
      // the node is stopping
    }
  }

  async publish(topic: string, data: Uint8Array): Promise<void> {
    this.assertRunning()
    if (data.byteLength > this.maxMessageBytes) {
      this.init.logger?.debug(`dropped a ${data.byteLength}-byte message on ${topic}: over ${this.maxMessageBytes}`)
      return
    }
    await this.node.services.pubsub.publish(topic, data)
  }

  subscribers(topic: string): string[] {
    if (this.stopped) return []
    return this.node.services.pubsub
      .getSubscribers(topic)
      .map((p) => p.toString())
      .sort()
  }

  async handle(protocol: string, handler: StreamHandler, options?: HandleOptions): Promise<void> {
    this.assertRunning()
    const max = options?.maxMessageBytes ?? DEFAULT_STREAM_MESSAGE_BYTES
    await this.node.handle(
      protocol,
      async (stream, connection) => {
        const wrapped = libp2pTransportStream(stream, connection.remotePeer.toString(), protocol, max)
        try {
          await handler(wrapped)
        } catch (err) {
          wrapped.abort(err as Error)
        }
      },
      { maxInboundStreams: options?.maxInboundStreams ?? 32, maxOutboundStreams: 64, force: true },
    )
  }

  async unhandle(protocol: string): Promise<void> {
    if (this.stopped) return
    await this.node.unhandle(protocol)
  }

  async openStream(peerId: string, protocol: string, options?: OpenStreamOptions): Promise<TransportStream> {
    this.assertRunning()
    let stream: Stream
    try {
      stream = await this.node.dialProtocol(this.peerIdOf(peerId), protocol, {
        signal: options?.signal ?? AbortSignal.timeout(this.init.dialTimeoutMs ?? 5_000),
      })
    } catch (err) {
      throw this.mapDialError(err, `open ${protocol} to ${peerId}`, options?.signal)
    }
    return libp2pTransportStream(stream, peerId, protocol, options?.maxMessageBytes ?? DEFAULT_STREAM_MESSAGE_BYTES)
  }

  async dial(addresses: readonly string[], options?: { signal?: AbortSignal }): Promise<string> {
    this.assertRunning()
    try {
      const conn = await this.node.dial(
        addresses.map((a) => multiaddr(a)),
        { signal: options?.signal ?? AbortSignal.timeout(this.init.dialTimeoutMs ?? 5_000) },
      )
      return conn.remotePeer.toString()
    } catch (err) {
      throw this.mapDialError(err, `dial ${addresses.join(', ')}`, options?.signal)
    }
  }

  async hangUp(peerId: string): Promise<void> {
    if (this.stopped) return
    await this.node.hangUp(this.peerIdOf(peerId))
  }

  connections(): string[] {
    if (this.stopped) return []
    const peers = new Set<string>()
    for (const c of this.node.getConnections()) if (c.status === 'open') peers.add(c.remotePeer.toString())
    return [...peers].sort()
  }

  isConnected(peerId: string): boolean {
    if (this.stopped) return false
    return this.node.getConnections(this.peerIdOf(peerId)).some((c) => c.status === 'open')
  }

  private peerIdOf(peerId: string): PeerId {
    let parsed = this.peerIds.get(peerId)
    if (parsed === undefined) {
      parsed = peerIdFromString(peerId)
      if (this.peerIds.size >= PEER_ID_CACHE_SIZE) this.peerIds.clear()
      this.peerIds.set(peerId, parsed)
    }
    return parsed
  }

  private view(msg: PubsubMessage & { type: 'signed' }): TopicMessage {
    let view = this.views.get(msg)
    if (view === undefined) {
      view = { topic: msg.topic, from: msg.from.toString(), data: msg.data }
      this.views.set(msg, view)
    }
    return view
  }

  private assertRunning(): void {
    if (this.stopped) throw new TransportStoppedError('transport stopped')
  }

  private mapDialError(err: unknown, what: string, signal: AbortSignal | undefined): Error {
    if (this.stopped) return new TransportStoppedError('transport stopped', { cause: err })
    if (signal?.aborted === true) return new TransportAbortedError(`${what}: aborted`, { cause: err })
    const name = (err as Error).name
    if (name === 'UnsupportedProtocolError') return new UnsupportedProtocolError(`${what}: unsupported`, { cause: err })
    if (refusedEverywhere(err))
      return new DialRefusedError(`${what} refused: ${(err as Error).message}`, { cause: err })
    return new DialError(`${what} failed: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * Whether a libp2p dial error comes down to connection refusals only: `ECONNREFUSED` from the TCP socket, reached
 * through `cause` chains, and for an `AggregateError` (one error per address tried) in every one of them.
 */
function refusedEverywhere(err: unknown, depth = 0): boolean {
  if (err === null || typeof err !== 'object' || depth > 8) return false
  if ((err as { code?: unknown }).code === 'ECONNREFUSED') return true
  const errors = (err as { errors?: unknown }).errors
  if (Array.isArray(errors) && errors.length > 0) return errors.every((e) => refusedEverywhere(e, depth + 1))
  return refusedEverywhere((err as { cause?: unknown }).cause, depth + 1)
}
