/**
 * The transport seam: everything gossip, catch-up, membership and leases need from the network, and nothing more.
 * Two implementations: {@link createLibp2pTransport} (TCP, Noise, Yamux, gossipsub; `libp2p-transport.ts`) and the
 * seeded, virtual-time simulated network (`simulated-network.ts`). Both pass the same acceptance suite
 * (`src/testing/transport-acceptance.ts`), which is the executable form of the contract below.
 *
 * Peers are named by string peer ids and reached by string addresses (multiaddrs ending in `/p2p/<peerId>`); no
 * implementation type leaks through the seam.
 *
 * Publish/subscribe guarantees: a published message reaches every peer subscribed to its topic that is connected to
 * the publisher directly or through subscribed peers, at most once per peer (duplicates are dropped on the
 * publisher's id and sequence number), never the publisher itself; `from` is the authenticated publisher (nobody can
 * publish under another peer's id). Before a message is delivered or relayed, the receiving peer's `validate` runs:
 * `reject` and `ignore` stop it there (it is neither delivered nor relayed), `reject` also counts against the peer it
 * came from. A message larger than {@link Transport.maxMessageBytes} is dropped silently by receivers, like gossipsub
 * drops an RPC over its limit. Publish/subscribe does NOT guarantee delivery or order: messages may be lost (no
 * route yet, a partition) or arrive reordered; protocols heal by direct exchange (catch-up).
 *
 * Stream guarantees: a stream carries whole messages (length-prefixed frames), reliably and in order, until one side
 * closes its write side (the other's `read()` then resolves `undefined` after the last message), aborts (the other's
 * `read()` and `write()` reject with {@link StreamResetError}), or the connection drops (the same). A frame larger
 * than the reader's `maxMessageBytes` makes the reader's `read()` reject with {@link MessageTooLargeError} and resets
 * the stream. Opening a stream to a peer that does not handle the protocol rejects with
 * {@link UnsupportedProtocolError}.
 *
 * Connection events: `peer:connect` when the first connection to a peer opens, `peer:disconnect` when the last one
 * closes (also when the remote crashes or a partition cuts the link), `peer:identify` once the peer's protocols are
 * known, `subscription-change` when a connected peer (un)subscribes a topic.
 *
 * @module
 */
import type { TypedEventTarget } from 'main-event'

/** What a subscriber decides about a received message before it is delivered or relayed. */
export type Verdict = 'accept' | 'reject' | 'ignore'

/** A message received on a topic. */
export interface TopicMessage {
  /** The topic it was published on. */
  readonly topic: string
  /** The publisher's peer id (authenticated). */
  readonly from: string
  /** The payload. */
  readonly data: Uint8Array
}

/** The handler of one subscribed topic. */
export interface TopicSubscriber {
  /** Runs before delivery and relaying; default: accept everything. Must not throw (a throw counts as `reject`). */
  validate?(message: TopicMessage): Verdict
  /**
   * A validated message (never one this peer published): the very object `validate` saw, so work done while
   * validating can be kept for delivery (a `WeakMap` keyed by the message: parse once).
   */
  onMessage(message: TopicMessage): void
}

/** A message stream to one peer for one protocol. */
export interface TransportStream {
  /** The remote peer's id. */
  readonly remotePeer: string
  /** The protocol id it was opened for. */
  readonly protocol: string
  /** Sends one message. Rejects with {@link StreamResetError} once the stream is reset, or on `signal`'s abort. */
  write(message: Uint8Array, options?: { signal?: AbortSignal }): Promise<void>
  /** The next message; `undefined` once the remote closed its write side and everything sent before was read. */
  read(options?: { signal?: AbortSignal }): Promise<Uint8Array | undefined>
  /** Closes the write side once everything written is sent; reading goes on. */
  close(options?: { signal?: AbortSignal }): Promise<void>
  /** Resets both directions at once: the remote's pending and later reads and writes reject. */
  abort(reason?: Error): void
}

/** Options of {@link Transport.handle}. */
export interface HandleOptions {
  /** Largest message the handler's streams read. Default {@link DEFAULT_STREAM_MESSAGE_BYTES}. */
  maxMessageBytes?: number
  /** Streams of this protocol open at once from remote peers (more are refused). Default 32. */
  maxInboundStreams?: number
}

/** Options of {@link Transport.openStream}. */
export interface OpenStreamOptions {
  /** Aborts the open (and is not kept for the stream's later reads and writes). */
  signal?: AbortSignal
  /** Largest message this side reads. Default {@link DEFAULT_STREAM_MESSAGE_BYTES}. */
  maxMessageBytes?: number
}

/** Handles an inbound stream; a rejection or throw resets the stream. */
export type StreamHandler = (stream: TransportStream) => void | Promise<void>

/** Events of a {@link Transport}. */
export interface TransportEvents {
  /** The first connection to a peer opened (detail: its peer id). */
  'peer:connect': CustomEvent<string>
  /** The last connection to a peer closed (detail: its peer id). */
  'peer:disconnect': CustomEvent<string>
  /** A connected peer's protocols became known. */
  'peer:identify': CustomEvent<{ peerId: string; protocols: string[] }>
  /** A connected peer subscribed or unsubscribed a topic. */
  'subscription-change': CustomEvent<{ peerId: string; topic: string; subscribed: boolean }>
}

/** Default largest message of a stream (1 MiB + framing headroom). */
export const DEFAULT_STREAM_MESSAGE_BYTES = 1024 * 1024 + 1024

/** The network as one peer sees it. */
export interface Transport extends TypedEventTarget<TransportEvents> {
  /** This peer's id. */
  readonly peerId: string
  /** Largest published message receivers accept; larger ones are dropped silently. */
  readonly maxMessageBytes: number
  /** Starts listening (idempotent). */
  start(): Promise<void>
  /** Closes every connection and stops; later calls reject with {@link TransportStoppedError} (idempotent). */
  stop(): Promise<void>
  /** Addresses other peers can dial, each ending in `/p2p/<peerId>`. */
  addresses(): string[]

  /** Subscribes `topic` with its only subscriber; throws {@link TopicInUseError} if it already has one. */
  subscribe(topic: string, subscriber: TopicSubscriber): void
  /** Unsubscribes `topic` (no-op if not subscribed). */
  unsubscribe(topic: string): void
  /** Publishes on `topic` (also to zero peers, without error). */
  publish(topic: string, data: Uint8Array): Promise<void>
  /** Connected peers known to subscribe `topic`. */
  subscribers(topic: string): string[]

  /** Serves `protocol`: `handler` gets every inbound stream. Replaces an earlier handler. */
  handle(protocol: string, handler: StreamHandler, options?: HandleOptions): Promise<void>
  /** Stops serving `protocol` (no-op if not served). */
  unhandle(protocol: string): Promise<void>
  /** Opens a stream to a connected peer (dialling it first if needed and its addresses are known). */
  openStream(peerId: string, protocol: string, options?: OpenStreamOptions): Promise<TransportStream>

  /**
   * Connects to the peer at `addresses` (all of one peer); resolves with its peer id. Rejects with {@link DialError},
   * or its subclass {@link DialRefusedError} when every address refused the connection (nothing listens there).
   */
  dial(addresses: readonly string[], options?: { signal?: AbortSignal }): Promise<string>
  /** Closes every connection to `peerId` (no-op if none). */
  hangUp(peerId: string): Promise<void>
  /** Peers with an open connection, sorted. */
  connections(): string[]
  /** Whether a connection to `peerId` is open. */
  isConnected(peerId: string): boolean
}

/** The peer id at the end of a `/p2p/<peerId>` address, or `undefined`. */
export function peerIdOfAddress(address: string): string | undefined {
  const at = address.lastIndexOf('/p2p/')
  if (at < 0) return undefined
  const id = address.slice(at + 5)
  return id.length > 0 && !id.includes('/') ? id : undefined
}
