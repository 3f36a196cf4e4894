/**
 * The only file that builds libp2p. TCP transport, Noise encryption, Yamux multiplexing (with half-window updates:
 * `yamux-window.ts`), identify, bootstrap discovery, gossipsub, and (with a network key) a pre-shared-key private
 * network.
 *
 * @module
 */
import { noise } from '@chainsafe/libp2p-noise'
import { bootstrap } from '@libp2p/bootstrap'
import { type GossipSub, gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { ConnectionGater, PrivateKey } from '@libp2p/interface'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import { MAX_GOSSIP_MESSAGE_BYTES } from '../doc/limits.js'
import { noiseCrypto } from './noise-crypto.js'
import { halfWindowYamux } from './yamux-window.js'

/** Default connection cap per peer. */
export const DEFAULT_MAX_CONNECTIONS = 128

/** Options of {@link createNode}. */
export interface NodeInit {
  /** Multiaddrs to listen on. */
  listen: string[]
  /** Multiaddrs (with `/p2p/<id>`) dialled at start. */
  bootstrap: string[]
  /** The peer's identity. */
  privateKey: PrivateKey
  /** Pre-shared private-network key (the pnet key file format, as bytes); omitted: no private network. */
  networkKey?: Uint8Array
  /** Connection cap. Default {@link DEFAULT_MAX_CONNECTIONS}. */
  maxConnections?: number
  /** libp2p connection gater (allow/deny peers and addresses). Default: libp2p's. */
  connectionGater?: ConnectionGater
}

/** The services confmesh uses. */
export type NodeServices = {
  pubsub: GossipSub
  identify: unknown
}

/** A libp2p node as confmesh configures it. */
export type MeshNode = Libp2p<NodeServices>

/**
 * Gossipsub's local duplicate key of a received message: its author and sequence number (which StrictSign requires
 * and binds with the signature). Messages lacking either get an id no other message shares; they fail validation.
 */
export function fastMessageId(msg: { from?: Uint8Array; seqno?: Uint8Array }): string {
  if (msg.from === undefined || msg.seqno === undefined) return `invalid:${++unidentified}`
  return `${Buffer.from(msg.from.buffer, msg.from.byteOffset, msg.from.byteLength).toString('base64')}/${Buffer.from(
    msg.seqno.buffer,
    msg.seqno.byteOffset,
    msg.seqno.byteLength,
  ).toString('base64')}`
}
let unidentified = 0

/** Messages from this size on are announced with IDONTWANT to the mesh (see the gossipsub options), bytes. */
const IDONTWANT_MIN_BYTES = 16 * 1024

/** Builds and starts the libp2p node. */
export async function createNode(init: NodeInit): Promise<MeshNode> {
  return createLibp2p({
    privateKey: init.privateKey,
    addresses: { listen: init.listen },
    transports: [tcp()],
    connectionEncrypters: [noise({ crypto: noiseCrypto })],
    // Yamux's keepalive pinged every connection every 30 s from both ends, a ping and a pong each way: a third of the
    // frames an idle peer sent in the 100-peer fleet (bench/RESULTS.md, fleet section), and it never closes a connection
    // whose pings go unanswered. Membership detects dead peers (SWIM probes each connected member in turn, so a
    // connection carries a probe about every `connections` periods), and TCP keepalive is on (@libp2p/tcp's default).
    streamMuxers: [halfWindowYamux({ enableKeepAlive: false })],
    ...(init.networkKey === undefined ? {} : { connectionProtector: preSharedKey({ psk: init.networkKey }) }),
    ...(init.connectionGater === undefined ? {} : { connectionGater: init.connectionGater }),
    // libp2p's connection monitor opens a ping stream on every connection every 10 s from both ends: in a mesh of 20
    // that was most of an idle peer's CPU (3.8 stream negotiations per second per peer). Membership already detects
    // dead peers (SWIM probes, or heartbeats) and closes their connections.
    connectionMonitor: { enabled: false },
    peerDiscovery: init.bootstrap.length > 0 ? [bootstrap({ list: init.bootstrap, timeout: 0 })] : [],
    connectionManager: {
      maxConnections: init.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      dialTimeout: 5_000,
      // hostile-input limits (security review): an upgrade (pnet + Noise + Yamux) must finish within 5 s, at most 10
      // connections upgrade at once, a host may open 64 per second: libp2p's default of 5 refused peers that share an
      // address (many processes per host, NAT, Kubernetes) while a mesh of 30 started (measured in bench/scale.ts)
      inboundUpgradeTimeout: 5_000,
      maxIncomingPendingConnections: 32,
      inboundConnectionThreshold: 64,
      // confmesh's own dialer re-dials known members; libp2p's reconnect queue stays modest.
      reconnectRetries: 3,
    },
    services: {
      identify: identify(),
      pubsub: gossipsub({
        globalSignaturePolicy: 'StrictSign',
        emitSelf: false,
        allowPublishToZeroTopicPeers: true,
        ignoreDuplicatePublishError: true,
        floodPublish: true,
        // Duplicates (every message arrives from several mesh peers) are dropped on this id before the signature
        // check; without it gossipsub verifies each copy's Ed25519 signature first, which was most of a receiving
        // peer's CPU in a 10-peer mesh. Under StrictSign the spec'd message id is `from + seqno` too, and a message
        // enters this cache only after its signature verified, so a forged copy cannot shadow the real one.
        fastMsgIdFn: fastMessageId,
        fallbackToFloodsub: false,
        canRelayMessage: true,
        maxInboundDataLength: MAX_GOSSIP_MESSAGE_BYTES + 64 * 1024,
        decodeRpcLimits: {
          maxSubscriptions: 64,
          maxMessages: 512,
          maxIhaveMessageIDs: 5000,
          maxIwantMessageIDs: 5000,
          maxIdontwantMessageIDs: 5000,
          maxControlMessages: 64,
          maxPeerInfos: 32,
        },
        // gossipsub's default period: mesh upkeep and IHAVE gossip only (a message goes to the mesh at once). 700 ms
        // cost an idle peer 0.05 % of a core more in a mesh of 20 (bench/fleet.ts) for no measured gain.
        heartbeatInterval: 1_000,
        // Mesh degree 3 (gossipsub's default is 6): with flood publishing a message reaches every directly connected
        // peer in one hop anyway, and each extra mesh link only adds duplicates. In a 10-peer mesh every peer
        // received each heartbeat 7.6 times; the duplicates (one Noise frame, one Yamux window update, one decode
        // each) were most of an idle peer's CPU. Three links still give every message independent paths.
        D: 3,
        Dlo: 2,
        Dhi: 5,
        Dout: 1,
        Dscore: 1,
        // IHAVE gossip (the lazy repair of messages a mesh path lost) to 2 peers outside the mesh per heartbeat, not
        // max(6, a quarter of them): with 15-50 connections per peer, gossipsub's defaults sent each peer 7 IHAVE
        // frames a heartbeat while writes flowed, half as many frames again as the copies of the writes themselves.
        // 100-peer fleet, one run each: CPU per write (all peers) 594 -> 522 ms, propagation p99 364 -> 314 ms, none
        // missed. Each message id is still advertised by every peer to 2 others in each of 3 heartbeats.
        Dlazy: 2,
        gossipFactor: 0,
        // IDONTWANT (gossipsub v1.2) only for messages of 16 KiB and more, not gossipsub's 512 B. On receiving a message
        // a peer tells each mesh peer it has it; that saves a copy only when the note arrives before the mesh peer
        // forwards, which a config write's wave (every peer forwards within a millisecond of receiving) almost never
        // allows. A write carries the writer's state vector (about 6 bytes per writer), so where many peers write it
        // passes 512 B, and every peer sent 2-3 such notes per write: one process of 30 peers, 700 B writes,
        // received RPCs per write per peer 6.1-6.6 with the notes and 3.2-3.5 without, copies of the write itself the
        // same (3.1-3.5), CPU per write per peer 2.8-3.2 ms against 2.2-2.7 ms. Large values, where the bytes outweigh
        // a frame, still get them.
        idontwantMinDataSize: IDONTWANT_MIN_BYTES,
        // Gossipsub's IP-colocation penalty ((peers on one IP - 10)^2 x -5) graylists every peer once more than ~14
        // share an address, which is normal for a config mesh (many services per host, NAT, Kubernetes): with 15
        // peers on one host, 4 never received a heartbeat; with 30 the mesh did not converge. Sybil resistance comes
        // from the private-network key and the writer allow-list instead. Other score parameters stay as they are.
        scoreParams: { IPColocationFactorWeight: 0 },
      }),
    },
  })
}
