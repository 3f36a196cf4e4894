/**
 * A peer written from PROTOCOL.md, talking to a real confmesh peer over loopback.
 *
 * The "foreign" peer below uses no confmesh code at all: a plain js-libp2p node (TCP, Noise, Yamux, identify,
 * gossipsub with StrictSign), a Yjs document, lib0's varuints and node:crypto, wired exactly as PROTOCOL.md says
 * (topics and protocol ids from the mesh name, the `[01][kind][payload]` envelope, bound updates with the writer epoch,
 * entries `{n,k,v,t,c,a,e}` under `clientIdFor(peerId, epoch)`, heartbeats, the catch-up exchange in length-prefixed
 * frames, leases). If this test passes, the document is enough to interoperate: the mesh accepts the foreign peer's
 * writes over gossip and catch-up, the foreign peer reads the mesh's writes, both end with identical state vectors, and
 * the mesh refuses an update the document says it must refuse.
 */
import { createHash } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { type GossipSub, gossipsub, type Message as PubsubMessage } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
// the only confmesh imports: the peer under test, and the test helper that waits for conditions
import { type ConfigMesh, createMesh } from '../../src/index.js'
import { waitFor } from '../helpers/wait-for.js'

const MESH = 'conformance'
const DOC_TOPIC = `/confmesh/${MESH}/doc/1`
const MEMBERS_TOPIC = `/confmesh/${MESH}/members/1`
const SYNC = `/confmesh/${MESH}/sync/1.0.0`
const LEASE = `/confmesh/${MESH}/lease/1.0.0`
const EPOCH = 0x5eed
const CHUNK = 256 * 1024

// --- the foreign peer, from PROTOCOL.md ---------------------------------------------------------------------------

/** Section 11: `uint32_be(sha256(peerId + "/" + epoch)[0..4])`, else the next 4 bytes, else 1. */
function clientIdFor(peerId: string, epoch: number): number {
  const digest = createHash('sha256').update(`${peerId}/${epoch}`, 'utf8').digest()
  return digest.readUInt32BE(0) || digest.readUInt32BE(4) || 1
}

/** Section 2: `[01][kind][payload]`. */
function envelope(kind: number, ...parts: Array<(enc: encoding.Encoder) => void>): Uint8Array {
  const enc = encoding.createEncoder()
  encoding.writeUint8(enc, 1)
  encoding.writeUint8(enc, kind)
  for (const part of parts) part(enc)
  return encoding.toUint8Array(enc)
}
const bytes = (b: Uint8Array) => (enc: encoding.Encoder) => encoding.writeUint8Array(enc, b)
const varuint = (n: number) => (enc: encoding.Encoder) => encoding.writeVarUint(enc, n)
const json = (v: unknown) => bytes(new TextEncoder().encode(JSON.stringify(v)))

interface Entry {
  n: string
  k: string
  v?: unknown
  x?: 1
  t: number
  c: number
  a: string
  e?: number
}

/** Section 9.3: the winner of a key among the alive entries, by (t, c), author, client id, clock. */
function winningValue(doc: Y.Doc, n: string, k: string): unknown {
  let best: { e: Entry; client: number; clock: number } | undefined
  for (let item = doc.getArray('entries')._start; item !== null; item = item.right) {
    if (item.deleted || !(item.content instanceof Y.ContentAny)) continue
    item.content.arr.forEach((el, j) => {
      const e = el as Entry
      if (e === null || typeof e !== 'object' || e.n !== n || e.k !== k || typeof e.t !== 'number') return
      const cand = { e, client: item.id.client, clock: item.id.clock + j }
      const order = (x: typeof cand, y: typeof cand) =>
        x.e.t - y.e.t || x.e.c - y.e.c || (x.e.a === y.e.a ? 0 : x.e.a > y.e.a ? 1 : -1) || x.client - y.client
      if (best === undefined || order(cand, best) > 0) best = cand
    })
  }
  return best === undefined || best.e.x === 1 ? undefined : best.e.v
}

class ForeignPeer {
  readonly doc = new Y.Doc({ gc: true })
  readonly received: Array<{ topic: string; from: string; data: Uint8Array }> = []
  private readonly startedAt = Date.now()
  private clock = { ms: 0, c: 0 }

  constructor(readonly node: Libp2p<{ pubsub: GossipSub; identify: unknown }>) {
    this.doc.clientID = clientIdFor(this.id, EPOCH)
    node.services.pubsub.addEventListener('message', (evt: CustomEvent<PubsubMessage>) => {
      const m = evt.detail
      if (m.type !== 'signed') return
      this.received.push({ topic: m.topic, from: m.from.toString(), data: m.data })
      if (m.topic === DOC_TOPIC && m.data[0] === 1 && m.data[1] === 8) {
        const dec = decoding.createDecoder(m.data.subarray(2))
        decoding.readVarUint(dec) // the publisher's epoch (checked by the test)
        Y.applyUpdate(this.doc, m.data.subarray(2 + dec.pos), 'remote')
      }
    })
  }

  get id(): string {
    return this.node.peerId.toString()
  }

  /** Section 9.2/9.3: one entry appended at the end of `entries`, stamped by the hybrid logical clock. */
  write(n: string, k: string, v: unknown): Uint8Array {
    const wall = Date.now()
    this.clock = wall > this.clock.ms ? { ms: wall, c: 0 } : { ms: this.clock.ms, c: this.clock.c + 1 }
    const entry: Entry = { n, k, v, t: this.clock.ms, c: this.clock.c, a: this.id, e: EPOCH }
    let update: Uint8Array | undefined
    const capture = (u: Uint8Array) => {
      update = u
    }
    this.doc.on('update', capture)
    this.doc.getArray('entries').push([entry])
    this.doc.off('update', capture)
    return update!
  }

  /** Section 3: a bound update on the document topic. */
  async publishUpdate(update: Uint8Array, epoch = EPOCH): Promise<void> {
    await this.node.services.pubsub.publish(DOC_TOPIC, envelope(8, varuint(epoch), bytes(update)))
  }

  /** Section 4: a heartbeat. */
  async heartbeat(): Promise<void> {
    const body = {
      peerId: this.id,
      addresses: this.node.getMultiaddrs().map((a) => a.toString()),
      weight: 1,
      tags: { impl: 'foreign' },
      startedAt: this.startedAt,
      ready: true,
      meshSize: 2,
    }
    await this.node.services.pubsub.publish(MEMBERS_TOPIC, envelope(6, json(body)))
  }

  /** Section 5, responder side. */
  async serve(stream: Stream): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: 64 * 1024 * 1024 })
    const request = (await lp.read()).subarray()
    if (request[0] !== 1 || request[1] !== 3) throw new Error('expected sync-request')
    const payload = Y.encodeStateAsUpdate(this.doc, request.subarray(2))
    for (let off = 0; off < payload.length; off += CHUNK) {
      await lp.write(envelope(4, bytes(payload.subarray(off, off + CHUNK))))
    }
    await lp.write(envelope(5, varuint(payload.length), bytes(Y.encodeStateVector(this.doc))))
    await stream.close()
  }

  /** Section 5, requester side: returns the reply's frames (kinds) and applies the payload. */
  async pull(peerId: string): Promise<number[]> {
    const stream = await this.node.dialProtocol(peerIdFromString(peerId), SYNC)
    const lp = lpStream(stream, { maxDataLength: CHUNK + 1024 })
    await lp.write(envelope(3, bytes(Y.encodeStateVector(this.doc))))
    const kinds: number[] = []
    const chunks: Uint8Array[] = []
    for (;;) {
      const frame = (await lp.read()).subarray()
      expect(frame[0]).toBe(1)
      kinds.push(frame[1]!)
      if (frame[1] === 4) chunks.push(frame.slice(2))
      else if (frame[1] === 5) {
        const dec = decoding.createDecoder(frame.subarray(2))
        expect(decoding.readVarUint(dec)).toBe(chunks.reduce((n, c) => n + c.length, 0))
        break
      } else throw new Error(`unexpected kind ${frame[1]}`)
    }
    await stream.close()
    Y.applyUpdate(this.doc, Buffer.concat(chunks), 'remote')
    return kinds
  }

  /** Section 8: one lease request, one reply. */
  async lease(peerId: string, request: object): Promise<{ code: number; body: Record<string, unknown> }> {
    const stream = await this.node.dialProtocol(peerIdFromString(peerId), LEASE)
    const lp = lpStream(stream, { maxDataLength: 4096 })
    await lp.write(envelope(1, json(request)))
    const reply = (await lp.read()).subarray()
    await stream.close()
    expect(reply[0]).toBe(1)
    return { code: reply[1]!, body: JSON.parse(new TextDecoder().decode(reply.subarray(2))) }
  }
}

async function startForeignPeer(): Promise<ForeignPeer> {
  const node = await createLibp2p({
    privateKey: await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(0xf0)),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      pubsub: gossipsub({ globalSignaturePolicy: 'StrictSign', allowPublishToZeroTopicPeers: true, emitSelf: false }),
    },
  })
  const peer = new ForeignPeer(node)
  await node.handle(SYNC, (stream) => peer.serve(stream).catch((err: Error) => stream.abort(err)))
  node.services.pubsub.subscribe(DOC_TOPIC)
  node.services.pubsub.subscribe(MEMBERS_TOPIC)
  return peer
}

// --- the test -----------------------------------------------------------------------------------------------------

let mesh: ConfigMesh
let foreign: ForeignPeer

beforeAll(async () => {
  // The foreign peer speaks the heartbeat membership of PROTOCOL.md (SWIM frames are checked byte for byte in the vectors).
  mesh = await createMesh({ name: MESH, membership: { protocol: 'heartbeat' } })
  foreign = await startForeignPeer()
  await foreign.node.dial(multiaddr(mesh.addresses[0]!))
  // Heartbeats until the mesh lists the foreign peer as a live member (its subscriptions are known by then too).
  await waitFor(
    async () => {
      await foreign.heartbeat()
      return mesh.peers().some((p) => p.peerId === foreign.id)
    },
    { timeoutMs: 30_000, intervalMs: 200, message: 'the mesh to list the foreign peer as a member' },
  )
})

afterAll(async () => {
  await mesh?.stop()
  await foreign?.node.stop()
})

describe('a peer written from PROTOCOL.md interoperates with a confmesh peer', () => {
  it('receives the mesh heartbeat with the documented fields', async () => {
    const hb = await waitFor(() =>
      foreign.received.find((m) => m.topic === MEMBERS_TOPIC && m.from === mesh.peerId && m.data[1] === 6),
    )
    expect(hb.data[0]).toBe(1)
    const body = JSON.parse(new TextDecoder().decode(hb.data.subarray(2)))
    expect(body).toMatchObject({ peerId: mesh.peerId, weight: 1, tags: {}, ready: true })
    expect(typeof body.startedAt).toBe('number')
    expect(body.meshSize).toBeGreaterThanOrEqual(1)
    for (const a of body.addresses) expect(a).toMatch(new RegExp(`/p2p/${mesh.peerId}$`))
    const member = mesh.peers().find((p) => p.peerId === foreign.id)!
    expect(member.tags).toEqual({ impl: 'foreign' })
  })

  it('reads a mesh write from gossip: a bound update under clientIdFor(peer, epoch), with entry and history record', async () => {
    await mesh.namespace('payments').set('limit', { daily: 500 })
    const msg = await waitFor(() => foreign.received.find((m) => m.topic === DOC_TOPIC && m.from === mesh.peerId))
    expect([msg.data[0], msg.data[1]]).toEqual([1, 8])
    const dec = decoding.createDecoder(msg.data.subarray(2))
    const epoch = decoding.readVarUint(dec)
    const { structs } = Y.decodeUpdate(msg.data.subarray(2 + dec.pos))
    for (const s of structs) expect(s.id.client).toBe(clientIdFor(mesh.peerId, epoch))
    const [entry, record] = (structs[0] as Y.Item).content.getContent() as [Entry, Record<string, unknown>]
    // a recorded entry (h: 1): the record refers to it for the value (PROTOCOL.md 10.2)
    expect(entry).toMatchObject({ n: 'payments', k: 'limit', v: { daily: 500 }, c: 0, a: mesh.peerId, e: epoch, h: 1 })
    expect(record).toMatchObject({ a: mesh.peerId, u: [['payments', 'limit', entry.t, entry.c]] })
    expect(record).not.toHaveProperty('w')
    expect(winningValue(foreign.doc, 'payments', 'limit')).toEqual({ daily: 500 })
  })

  it('writes over gossip: the mesh applies the foreign bound update and reports its author', async () => {
    const seen = new Promise<{ author: string; value: unknown }>((resolve) => {
      const off = mesh.watch('from.foreign', (e) => {
        off()
        resolve({ author: e.author, value: e.value })
      })
    })
    await foreign.publishUpdate(foreign.write('default', 'from.foreign', { hello: 'mesh' }))
    expect(await seen).toEqual({ author: foreign.id, value: { hello: 'mesh' } })
  })

  it('refuses an update whose structs are not under the publisher-bound client id, and applies nothing', async () => {
    const before = mesh.diagnostics().counters['security.UnauthorizedUpdateError'] ?? 0
    const forged = new Y.Doc()
    forged.clientID = clientIdFor(mesh.peerId, 1) // another peer's client id
    let update: Uint8Array | undefined
    forged.on('update', (u: Uint8Array) => {
      update = u
    })
    forged.getArray('entries').push([{ n: 'default', k: 'forged', v: 1, t: Date.now(), c: 0, a: foreign.id, e: 1 }])
    await foreign.publishUpdate(update!)
    await waitFor(() => (mesh.diagnostics().counters['security.UnauthorizedUpdateError'] ?? 0) > before, {
      message: 'the mesh to refuse the forged update',
    })
    expect(mesh.get('forged')).toBeUndefined()
  })

  it('serves catch-up: an announce makes the mesh pull a write the foreign peer never gossiped', async () => {
    foreign.write('default', 'pulled', [1, 2, 3]) // local only
    await foreign.node.services.pubsub.publish(DOC_TOPIC, envelope(2, bytes(Y.encodeStateVector(foreign.doc))))
    await waitFor(() => mesh.get('pulled') !== undefined, { message: 'the mesh to pull from the foreign peer' })
    expect(mesh.get('pulled')).toEqual([1, 2, 3])
  })

  it('pulls by catch-up, and both ends hold identical state vectors', async () => {
    await mesh.set('after', 'gossip or pull')
    const kinds = await foreign.pull(mesh.peerId)
    expect(kinds.at(-1)).toBe(5)
    expect(kinds.slice(0, -1).every((k) => k === 4)).toBe(true)
    expect(winningValue(foreign.doc, 'default', 'after')).toBe('gossip or pull')
    await waitFor(
      async () => {
        await foreign.pull(mesh.peerId)
        const ours: Record<string, number> = {}
        for (const [client, n] of Y.decodeStateVector(Y.encodeStateVector(foreign.doc))) ours[String(client)] = n
        return isDeepStrictEqual(ours, mesh.diagnostics().stateVector)
      },
      { message: 'identical state vectors' },
    )
    expect(foreign.doc.store.pendingStructs).toBeNull()
    expect(mesh.diagnostics().pending).toBe(false)
  })

  it('answers a lease request with a documented reply', async () => {
    const { code, body } = await foreign.lease(mesh.peerId, { name: 'conformance', holder: 'AAAA', ttlMs: 1000 })
    // granted (4), held (5: the takeover guard of a young owner) or redirect (6: the foreign peer owns the name)
    expect([4, 5, 6]).toContain(code)
    expect(body.name).toBe('conformance')
    if (code === 6) expect(body.owner).toBe(foreign.id)
  })
})
