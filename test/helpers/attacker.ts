/**
 * A hostile peer built from real parts, for security tests: a libp2p node from `src/transport/libp2p-node.ts` (same transports, Noise,
 * gossipsub with StrictSign, optionally the private-network key) that subscribes to a mesh's document topic and
 * - publishes crafted `update` / raw messages encoded with `src/wire/codec.ts` (signed by itself: gossipsub cannot
 *   sign as anyone else);
 * - relays a captured message of another peer with changed data and the original signature (a forged relay);
 * - serves the catch-up protocol (`/confmesh/<name>/sync/1.0.0`) with crafted replies;
 * - captures every message it receives on the topic (what an eavesdropping member sees).
 *
 * It is not a mesh member (it sends no heartbeats): honest peers see it only as a connected gossipsub peer.
 *
 * @module
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Message as PubsubMessage } from '@libp2p/gossipsub'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import * as Y from 'yjs'
import { clientIdFor } from '../../src/security/client-id.js'
import { parseNetworkKey } from '../../src/security/network-key.js'
import { createNode, type MeshNode } from '../../src/transport/libp2p-node.js'
import { decodeMessage, encodeMessage } from '../../src/wire/codec.js'

/** Options of {@link createAttacker}. */
export interface AttackerInit {
  /** Mesh name whose topics it targets. Default `'confmesh'`. */
  meshName?: string
  /** Private-network key (swarm key text); default none. */
  networkKey?: string
  /** Identity; default a new Ed25519 key. */
  privateKey?: PrivateKey
}

/** A crafted config entry (the kv-store layout). */
export interface CraftedEntry {
  n?: string
  k: string
  v?: unknown
  x?: 1
  t?: number
  c?: number
  a: string
  e?: number
}

/** The hostile peer. */
export interface Attacker {
  readonly peerId: string
  readonly node: MeshNode
  /** Messages received on the document topic (decoded payload bytes, publisher). */
  readonly captured: Array<{ from: string; data: Uint8Array; message: PubsubMessage }>
  /** Dials a peer. */
  connect(address: string): Promise<void>
  /** Number of open connections. */
  connections(): number
  /** Publishes a Yjs update as an `update` message (with `epoch`: the bound form). */
  publishUpdate(update: Uint8Array, epoch?: number): Promise<void>
  /** Publishes raw bytes on the document topic. */
  publishRaw(data: Uint8Array): Promise<void>
  /** Re-sends `original` (captured from another peer) to `target` with `data` replaced, keeping its signature. */
  relayForged(target: string, original: PubsubMessage, data: Uint8Array): boolean
  /** Serves catch-up requests with `reply(requestNumber)` (raw update bytes, sent as chunks + end). */
  serveCatchUp(reply: (n: number) => Uint8Array): Promise<void>
  /** Number of catch-up requests served. */
  readonly served: number
  stop(): Promise<void>
}

/** Builds a Yjs update holding `entries` under `clientId` (default: `clientIdFor(author of the first, epoch)`). */
export function craftUpdate(entries: CraftedEntry[], options: { clientId?: number; epoch?: number } = {}): Uint8Array {
  const doc = new Y.Doc({ gc: true })
  const first = entries[0]!
  doc.clientID = options.clientId ?? clientIdFor(first.a, options.epoch ?? first.e ?? 1)
  const now = Date.now()
  doc.getArray('entries').push(
    entries.map((e) => ({
      n: 'default',
      t: now + 60_000,
      c: 0,
      ...(options.epoch === undefined ? {} : { e: options.epoch }),
      ...e,
    })),
  )
  return Y.encodeStateAsUpdate(doc)
}

/** Starts an attacker node on loopback. */
export async function createAttacker(init: AttackerInit = {}): Promise<Attacker> {
  const name = init.meshName ?? 'confmesh'
  const topic = `/confmesh/${name}/doc/1`
  const node = await createNode({
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: [],
    privateKey: init.privateKey ?? (await generateKeyPair('Ed25519')),
    ...(init.networkKey === undefined ? {} : { networkKey: parseNetworkKey(init.networkKey) }),
  })
  const pubsub = node.services.pubsub
  const captured: Attacker['captured'] = []
  pubsub.addEventListener('message', (evt) => {
    const m = evt.detail
    if (m.topic === topic && m.type === 'signed') captured.push({ from: m.from.toString(), data: m.data, message: m })
  })
  pubsub.subscribe(topic)
  let served = 0
  return {
    peerId: node.peerId.toString(),
    node,
    captured,
    get served() {
      return served
    },
    async connect(address) {
      await node.dial(multiaddr(address), { signal: AbortSignal.timeout(5_000) })
    },
    connections: () => node.getConnections().length,
    async publishUpdate(update, epoch) {
      await pubsub.publish(topic, encodeMessage({ kind: 'update', update, ...(epoch === undefined ? {} : { epoch }) }))
    },
    async publishRaw(data) {
      await pubsub.publish(topic, data)
    },
    relayForged(target, original, data) {
      if (original.type !== 'signed') throw new Error('can only forge signed messages')
      const seqno = new Uint8Array(8)
      new DataView(seqno.buffer).setBigUint64(0, original.sequenceNumber)
      const raw = {
        from: original.from.toMultihash().bytes,
        data,
        seqno,
        topic: original.topic,
        signature: original.signature,
      }
      const send = (pubsub as unknown as { sendRpc(id: string, rpc: unknown): boolean }).sendRpc.bind(pubsub)
      return send(peerIdFromString(target).toString(), { subscriptions: [], messages: [raw] })
    },
    async serveCatchUp(reply) {
      await node.handle(
        `/confmesh/${name}/sync/1.0.0`,
        async (stream) => {
          try {
            const lp = lpStream(stream, { maxDataLength: 64 * 1024 * 1024 })
            decodeMessage((await lp.read()).subarray())
            const payload = reply(served++)
            for (let off = 0; off < payload.length; off += 256 * 1024) {
              await lp.write(encodeMessage({ kind: 'sync-chunk', chunk: payload.subarray(off, off + 256 * 1024) }))
            }
            await lp.write(
              encodeMessage({ kind: 'sync-end', totalBytes: payload.length, stateVector: new Uint8Array([0]) }),
            )
            await stream.close()
          } catch (err) {
            stream.abort(err as Error)
          }
        },
        { maxInboundStreams: 64 },
      )
    },
    stop: async () => {
      await node.stop()
    },
  }
}
