/**
 * The test vectors of PROTOCOL.md, checked against the code.
 *
 * Every vector lives in `test/fixtures/protocol/vectors.json` as `{ hex, decoded }`. This test checks three things:
 * 1. PROTOCOL.md quotes every vector (a block after `<!-- vector: <name> -->`) with exactly the fixture's bytes, and
 *    quotes no vector the fixture lacks;
 * 2. the code, given the vector's fixed inputs, encodes exactly the fixture's bytes;
 * 3. the code decodes the fixture's bytes to exactly the fixture's `decoded` meaning.
 *
 * Inputs are fixed: Ed25519 keys from fixed seeds, fixed writer epochs, a fixed wall clock (so the hybrid logical
 * clock is fixed), fixed nonces and sequence numbers. Ed25519 signatures are deterministic, so even the signed
 * gossipsub message is a fixed byte string. Where confmesh draws randomness (epochs, secret nonces, lease holder
 * nonces, gossipsub sequence numbers) the vector fixes the random input and checks the decoding.
 *
 * After a deliberate protocol change, regenerate the fixture AND the hex blocks of PROTOCOL.md with
 * `CONFMESH_WRITE_VECTORS=1 npx vitest run test/unit/protocol-vectors.test.ts` (then `npx biome check --write` the
 * fixture), and review the diff of both: the decoded meaning must still be what PROTOCOL.md says around each block.
 *
 * Longer than ~500 lines on purpose: one build/decode spec per vector (36 of them), side by side so each vector's
 * inputs are easy to find, and every import of confmesh's own modules in one block at the top (the renovation moves
 * files; the integrator fixes the paths there). Byte helpers that need no confmesh code: `test/helpers/protocol-bytes.ts`.
 */
import { createCipheriv, createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { generateKeyPairFromSeed, publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { RPC } from '@libp2p/gossipsub/message'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromPublicKey } from '@libp2p/peer-id'
import * as decoding from 'lib0/decoding'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
// gossipsub's own message-id function (not in its package exports; imported by path so the vector checks the real one)
import { msgId as gossipsubMsgId } from '../../node_modules/@libp2p/gossipsub/dist/src/utils/msgIdFn.js'
import { createKvStore, type KvStore } from '../../src/config/kv-store.js'
import { deleteElement } from '../../src/config/yjs-elements.js'
// --- Every import of confmesh's own modules is here, so the paths are easy to fix when files move. ---------------
import { createHybridLogicalClock } from '../../src/doc/hlc.js'
import { createIngest } from '../../src/doc/ingest.js'
import { channelLimits } from '../../src/doc/limits.js'
import { CLEANUP_ORIGIN, LOCAL_ORIGIN, type UpdateContext } from '../../src/doc/origins.js'
import { InvalidMessageError } from '../../src/errors.js'
import { decodeLeaseMessage, encodeLeaseMessage, type LeaseMessage } from '../../src/lease/codec.js'
import { createAliveSigner } from '../../src/membership/alive-signer.js'
import { parseSample } from '../../src/membership/membership.js'
import {
  decodeSwimMessage,
  encodeAliveBody,
  encodeSwimMessage,
  encodeUpdate,
  SWIM_LIMITS,
} from '../../src/membership/swim/codec.js'
import type { AliveUpdate } from '../../src/membership/swim/member.js'
import { createHashRing } from '../../src/ring/hash-ring.js'
import { loadHasher } from '../../src/ring/hasher.js'
import { UnauthorizedUpdateError } from '../../src/security/authorization-errors.js'
import { clientIdFor } from '../../src/security/client-id.js'
import { createClientRegistry } from '../../src/security/client-registry.js'
import { parseNetworkKey } from '../../src/security/network-key.js'
import { dataKeyId, openValue, secretAad } from '../../src/security/secret-box.js'
import { createUpdateAuthorization } from '../../src/security/update-authorization.js'
import { createWriterPolicy, parseWriterSet, WRITERS_KEY, WRITERS_NAMESPACE } from '../../src/security/writers.js'
import { decodePartRequest, encodePartRequest, encodeUpdatePart } from '../../src/sync/parts.js'
import { fastMessageId } from '../../src/transport/libp2p-node.js'
import { parseRecord } from '../../src/versions/record.js'
import { decodeVersionId, encodeVersionId } from '../../src/versions/vector-clock.js'
import { createVersions } from '../../src/versions/versions.js'
import { decodeMessage, encodeMessage, type Message } from '../../src/wire/codec.js'
// -----------------------------------------------------------------------------------------------------------------
import {
  anyBytes,
  BLOCK,
  docBlocks,
  frame,
  fromHex,
  hexBlock,
  jsonSafe,
  summarize,
  toHex,
  unframe,
} from '../helpers/protocol-bytes.js'

const FIXTURE_FILE = new URL('../fixtures/protocol/vectors.json', import.meta.url)
const PROTOCOL_FILE = new URL('../../PROTOCOL.md', import.meta.url)
const WRITE = process.env.CONFMESH_WRITE_VECTORS === '1'

/** One vector: the bytes and what they mean. */
interface Vector {
  hex: string
  decoded: unknown
}

// --- fixed inputs ---------------------------------------------------------------------------------------------------

/** The wall clock of every writer: 2026-01-01T00:00:00.000Z. */
const T0 = 1_767_225_600_000
/** Writer epochs (normally random per process start, or persisted with a data dir). */
const EPOCH_A = 305_419_896 // 0x12345678
const EPOCH_B = 3_000_000_000 // above 2^31: lib0 writes it as a float32 inside entries
const MESH = 'confmesh'
const TOPIC_DOC = `/confmesh/${MESH}/doc/1`
/** A gossipsub sequence number as js-libp2p draws them (wall clock in ns, then +1 per message). */
const SEQNO = BigInt(T0) * 1_000_000n + 1n
const DATA_KEY = Uint8Array.from({ length: 32 }, (_, i) => i)
const SECRET_NONCE = Uint8Array.from({ length: 12 }, (_, i) => 0xa0 + i)
const NETWORK_KEY_HEX = 'c0ffee'.repeat(10) + 'c0de'

const seed = (byte: number): Uint8Array => new Uint8Array(32).fill(byte)

// --- helpers --------------------------------------------------------------------------------------------------------

/** Decodes a confmesh wire message into its header fields and payload meaning. */
function describeMessage(bytes: Uint8Array): unknown {
  const msg = decodeMessage(bytes)
  const head = { version: bytes[0], code: bytes[1], kind: msg.kind }
  switch (msg.kind) {
    case 'update':
      return { ...head, epoch: msg.epoch, update: summarize(msg.update) }
    case 'announce':
    case 'sync-request':
      return { ...head, stateVector: Object.fromEntries(Y.decodeStateVector(msg.stateVector)) }
    case 'sync-chunk':
      return { ...head, chunkBytes: msg.chunk.length }
    case 'sync-end':
      return {
        ...head,
        totalBytes: msg.totalBytes,
        stateVector: Object.fromEntries(Y.decodeStateVector(msg.stateVector)),
      }
    case 'member':
      return { ...head, body: msg.body, sample: parseSample(msg.body) }
    case 'leave':
      return { ...head, body: msg.body }
  }
}

// --- deterministic writers --------------------------------------------------------------------------------------------

interface Peer {
  key: Ed25519PrivateKey
  id: string
}

async function peer(seedByte: number): Promise<Peer> {
  const key = await generateKeyPairFromSeed('Ed25519', seed(seedByte))
  return { key, id: peerIdFromPrivateKey(key).toString() }
}

interface Writer {
  doc: Y.Doc
  store: KvStore
  /** Updates of local write batches, in order (what gossip publishes, one per tick). */
  local: Uint8Array[]
}

/** A replica writing as `p` in `epoch` with a fixed wall clock; `history` records versions as the mesh does. */
function writer(p: Peer, epoch: number, history: boolean): Writer {
  const doc = new Y.Doc({ gc: true })
  doc.clientID = clientIdFor(p.id, epoch)
  const clock = createHybridLogicalClock(() => T0)
  const versions = history ? createVersions({ doc, author: p.id, clock, now: () => T0 }) : undefined
  const store = createKvStore({
    doc,
    author: p.id,
    clock,
    epoch: () => epoch,
    ...(versions === undefined ? {} : { onLocalWrite: versions.onLocalWrite }),
  })
  const local: Uint8Array[] = []
  doc.on('update', (u: Uint8Array, origin: unknown) => {
    if (origin === LOCAL_ORIGIN || origin === CLEANUP_ORIGIN) local.push(u)
  })
  return { doc, store, local }
}

/** The validators every peer runs on remote updates, for an open mesh (no writer set) or with `writers`. */
function validators(writers?: string[], registry = createClientRegistry()) {
  const policy = createWriterPolicy({ ...(writers === undefined ? {} : { seed: writers }), read: () => undefined })
  const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }
  const ingest = createIngest({ doc: new Y.Doc(), logger: silent, limits: channelLimits() })
  ingest.addCheck(createUpdateAuthorization({ policy, registry }).check)
  return (update: Uint8Array, context: UpdateContext): void => {
    const parsed = ingest.parse(update, context) // the ingest pipeline's bound + authorise steps
    if (parsed instanceof Error) throw parsed
  }
}

// --- the scenario every document vector comes from ------------------------------------------------------------------

async function scenario() {
  const A = await peer(0xa1)
  const B = await peer(0xb2)
  // A sets default/feature.checkout = {"enabled":true}, with history (what a mesh with default retention sends)
  const a = writer(A, EPOCH_A, true)
  a.store.write([{ namespace: 'default', key: 'feature.checkout', value: { enabled: true } }])
  const gossipSet = a.local[0]!
  // B receives it, then overwrites the key: its entry deletes A's (last writer wins by hybrid time)
  const b = writer(B, EPOCH_B, true)
  Y.applyUpdate(b.doc, gossipSet, 'remote')
  b.store.write([{ namespace: 'default', key: 'feature.checkout', value: { enabled: false } }])
  const gossipOverwrite = b.local[0]!
  // minimal updates (no history) for the byte-by-byte walk-through
  const m = writer(A, EPOCH_A, false)
  m.store.write([{ namespace: 'default', key: 'feature.checkout', value: { enabled: true } }])
  m.store.write([{ namespace: 'default', key: 'feature.checkout', value: undefined }])
  const [minimalSet, minimalTombstone] = m.local as [Uint8Array, Uint8Array]
  // a delete-only update (what a cleanup transaction publishes): B deletes A's entry
  const d = writer(B, EPOCH_B, false)
  Y.applyUpdate(d.doc, minimalSet, 'remote')
  d.doc.transact((tr) => deleteElement(tr, Y.createID(clientIdFor(A.id, EPOCH_A), 0)), CLEANUP_ORIGIN)
  const deleteOnly = d.local[0]!
  // the writer set, as `setWriters([A, B])` writes it
  const w = writer(A, EPOCH_A, false)
  w.store.write([
    { namespace: WRITERS_NAMESPACE, key: WRITERS_KEY, value: { writers: [A.id, B.id].sort(), former: [] } },
  ])
  const writersUpdate = w.local[0]!
  // two separate sets by A (one merged struct of two elements): the document the parts vectors cut
  const p = writer(A, EPOCH_A, false)
  p.store.write([{ namespace: 'default', key: 'a', value: 1 }])
  p.store.write([{ namespace: 'default', key: 'b', value: 2 }])
  return { A, B, a, b, gossipSet, gossipOverwrite, minimalSet, minimalTombstone, deleteOnly, writersUpdate, parts: p }
}

type Scenario = Awaited<ReturnType<typeof scenario>>

const S = await scenario()

/** A vector: how the code builds its bytes from fixed inputs, and how the code decodes them. */
interface VectorSpec {
  build(s: Scenario): Promise<Uint8Array> | Uint8Array
  decode(bytes: Uint8Array, s: Scenario): Promise<unknown> | unknown
}

const bound = (update: Uint8Array, epoch: number) => encodeMessage({ kind: 'update', update, epoch })

const leaseMessages: Record<string, LeaseMessage> = {
  'lease-acquire': { kind: 'acquire', name: 'schema-migration', holder: 'AAECAwQFBgcICQoL', ttlMs: 10_000 },
  'lease-renew': {
    kind: 'renew',
    name: 'schema-migration',
    holder: 'AAECAwQFBgcICQoL',
    token: 1_767_225_600_000_000,
    ttlMs: 10_000,
  },
  'lease-release': {
    kind: 'release',
    name: 'schema-migration',
    holder: 'AAECAwQFBgcICQoL',
    token: 1_767_225_600_000_000,
  },
  'lease-granted': {
    kind: 'granted',
    name: 'schema-migration',
    token: 1_767_225_600_000_000,
    ttlMs: 10_000,
    owner: 'OWNER',
  },
  'lease-held': { kind: 'held', name: 'schema-migration', reason: 'held', retryAfterMs: 8000, holder: 'HOLDER' },
  'lease-redirect': { kind: 'redirect', name: 'schema-migration', owner: 'OWNER' },
  'lease-released': { kind: 'released', name: 'schema-migration' },
  'lease-lost': { kind: 'lost', name: 'schema-migration', reason: 'not held by this holder here' },
  'lease-denied': { kind: 'denied', name: 'schema-migration', reason: 'ttlMs must be 1..15000' },
}

/** Lease messages name real peer ids where the protocol carries them. */
function leaseMessage(name: string, s: Scenario): LeaseMessage {
  const msg = structuredClone(leaseMessages[name]!) as Record<string, unknown>
  if (msg.owner === 'OWNER') msg.owner = s.B.id
  if (msg.holder === 'HOLDER') msg.holder = s.A.id
  return msg as unknown as LeaseMessage
}

const heartbeat = (s: Scenario) => ({
  peerId: s.A.id,
  addresses: [`/ip4/127.0.0.1/tcp/4001/p2p/${s.A.id}`],
  weight: 1,
  tags: { zone: 'eu-west' },
  startedAt: T0,
  ready: true,
  meshSize: 2,
  sample: [{ peerId: s.B.id, addresses: [`/ip4/127.0.0.1/tcp/4002/p2p/${s.B.id}`] }],
})

const EMPTY_SV = Y.encodeStateVector(new Y.Doc())

/** The catch-up reply payload a responder holding A's set computes for a requester with nothing. */
const replyPayload = (s: Scenario) => Y.encodeStateAsUpdate(s.a.doc, EMPTY_SV)

/** Splits a reply payload into sync-chunk messages of `chunkBytes`, then sync-end (the responder's rule). */
function replyMessages(payload: Uint8Array, chunkBytes: number, sv: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let off = 0; off < payload.length; off += chunkBytes) {
    out.push(encodeMessage({ kind: 'sync-chunk', chunk: payload.subarray(off, off + chunkBytes) }))
  }
  out.push(encodeMessage({ kind: 'sync-end', totalBytes: payload.length, stateVector: sv }))
  return out
}

async function describeFrames(wire: Uint8Array, maxDataLength: number): Promise<unknown> {
  return (await unframe(wire, maxDataLength)).map((m) => ({ frameBytes: m.length, message: describeMessage(m) }))
}

/** The signed gossipsub message (protobuf `Message`) that carries the gossip-set update on the document topic. */
async function signedPubsubMessage(s: Scenario): Promise<Uint8Array> {
  const seqno = new Uint8Array(8)
  new DataView(seqno.buffer).setBigUint64(0, SEQNO, false)
  const unsigned = {
    from: peerIdFromPrivateKey(s.A.key).toMultihash().bytes,
    data: bound(s.gossipSet, EPOCH_A),
    seqno,
    topic: TOPIC_DOC,
  }
  const signature = await s.A.key.sign(Buffer.concat([Buffer.from('libp2p-pubsub:'), RPC.Message.encode(unsigned)]))
  return RPC.Message.encode({ ...unsigned, signature, key: publicKeyToProtobuf(s.A.key.publicKey) })
}

/** The secret-box envelope built by the rule PROTOCOL.md states (not by the code), so the code's `openValue` checks it. */
function sealByTheRule(value: unknown, namespace: string, key: string) {
  const kid = createHash('sha256')
    .update('confmesh/secret-box/kid/v1\n')
    .update(DATA_KEY)
    .digest()
    .subarray(0, 8)
    .toString('base64url')
  const aad = Buffer.concat([
    Buffer.from(`confmesh/secret-box/v1\n1\n${kid.length}:${kid}\n`),
    Buffer.from(JSON.stringify(['confmesh', namespace, key])),
  ])
  const cipher = createCipheriv('aes-256-gcm', DATA_KEY, SECRET_NONCE, { authTagLength: 16 })
  cipher.setAAD(aad)
  const c = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final(), cipher.getAuthTag()])
  return {
    envelope: { $secret: 1, kid, n: Buffer.from(SECRET_NONCE).toString('base64url'), c: c.toString('base64url') },
    c,
  }
}

/** A peer id's bytes (identity multihash of the public-key protobuf), from a fixed Ed25519 seed. */
function peerIdVector(seedByte: number, pick: (s: Scenario) => Peer): VectorSpec {
  return {
    build: (s) => peerIdFromPrivateKey(pick(s).key).toMultihash().bytes,
    decode: (bytes) => ({
      seed: toHex(seed(seedByte)),
      publicKeyProtobuf: toHex(bytes.subarray(2)),
      peerId: peerIdFromPublicKey(publicKeyFromProtobuf(bytes.subarray(2))).toString(),
    }),
  }
}

/** The SHA-256 digest a client id is taken from, and the client id. */
function clientIdVector(pick: (s: Scenario) => Peer, epoch: number): VectorSpec {
  return {
    build: (s) =>
      createHash('sha256')
        .update(`${pick(s).id}/${epoch}`, 'utf8')
        .digest(),
    decode: (bytes, s) => ({
      input: `${pick(s).id}/${epoch}`,
      clientId: clientIdFor(pick(s).id, epoch),
      firstFourBytesBigEndian: Buffer.from(bytes).readUInt32BE(0),
    }),
  }
}

const SPECS: Record<string, VectorSpec> = {
  // --- identities and the client-id binding ---
  'peer-id-a': peerIdVector(0xa1, (s) => s.A),
  'peer-id-b': peerIdVector(0xb2, (s) => s.B),
  'client-id-a': clientIdVector((s) => s.A, EPOCH_A),
  'client-id-b': clientIdVector((s) => s.B, EPOCH_B),
  // --- the document ---
  'yjs-update-set': { build: (s) => s.minimalSet, decode: (bytes) => summarize(bytes) },
  'yjs-update-tombstone': { build: (s) => s.minimalTombstone, decode: (bytes) => summarize(bytes) },
  'entry-element': {
    build: (s) => anyBytes((Y.decodeUpdate(s.minimalSet).structs[0] as Y.Item).content.getContent()[0]),
    decode: (bytes) => jsonSafe(decoding.readAny(decoding.createDecoder(bytes))),
  },
  'history-record-element': {
    build: (s) => anyBytes((Y.decodeUpdate(s.gossipOverwrite).structs[0] as Y.Item).content.getContent()[1]),
    decode: (bytes, s) => {
      const element = decoding.readAny(decoding.createDecoder(bytes))
      const struct = Y.decodeUpdate(s.gossipOverwrite).structs[0] as Y.Item
      // the record takes its values from the entry before it in the same struct
      const content = struct.content.getContent()
      const read = (client: number, clock: number) =>
        client === struct.id.client ? content[clock - struct.id.clock] : undefined
      const record = parseRecord(element, struct.id.client, struct.id.clock + 1, read)!
      return jsonSafe({
        element,
        parsed: {
          client: record.client,
          clock: record.clock,
          author: record.author,
          version: Object.fromEntries(record.version),
          versionId: encodeVersionId(record.version),
          changes: record.changes.map((c) => ({ namespace: c.namespace, key: c.key, value: c.value, t: c.t, c: c.c })),
        },
      })
    },
  },
  'writers-update': {
    build: (s) => s.writersUpdate,
    decode: (bytes) => {
      const summary = summarize(bytes) as { structs: Array<{ content: Array<{ v: unknown }> }> }
      return { ...summary, writerSet: parseWriterSet(summary.structs[0]!.content[0]!.v) }
    },
  },
  'version-id': {
    build: (s) => Y.encodeStateVector(s.b.doc),
    decode: (bytes) => {
      const id = Buffer.from(bytes).toString('base64url')
      return { id, clock: Object.fromEntries(decodeVersionId(id)) }
    },
  },
  // --- gossip: the document topic ---
  'gossip-set': { build: (s) => bound(s.gossipSet, EPOCH_A), decode: (bytes) => describeMessage(bytes) },
  'gossip-overwrite': { build: (s) => bound(s.gossipOverwrite, EPOCH_B), decode: (bytes) => describeMessage(bytes) },
  'gossip-delete-only': {
    build: (s) => encodeMessage({ kind: 'update', update: s.deleteOnly }),
    decode: (bytes) => describeMessage(bytes),
  },
  'gossip-announce': {
    build: (s) => encodeMessage({ kind: 'announce', stateVector: Y.encodeStateVector(s.b.doc) }),
    decode: (bytes) => describeMessage(bytes),
  },
  'gossipsub-message': {
    build: (s) => signedPubsubMessage(s),
    decode: async (bytes, s) => {
      const m = RPC.Message.decode(bytes)
      const signed = RPC.Message.encode({ from: m.from, data: m.data, seqno: m.seqno, topic: m.topic })
      const verified = await s.A.key.publicKey.verify(
        Buffer.concat([Buffer.from('libp2p-pubsub:'), signed]),
        m.signature!,
      )
      const seqno = BigInt(`0x${toHex(m.seqno!)}`)
      return {
        from: toHex(m.from!),
        topic: m.topic,
        seqno: seqno.toString(),
        data: describeMessage(m.data!),
        signature: toHex(m.signature!),
        signatureValid: verified,
        key: toHex(m.key!),
        messageId: toHex(gossipsubMsgId(s.A.key.publicKey, seqno)),
        localDuplicateKey: fastMessageId({ from: m.from, seqno: m.seqno }),
      }
    },
  },
  // --- gossip: the membership topic ---
  'member-heartbeat': {
    build: (s) => encodeMessage({ kind: 'member', body: heartbeat(s) }),
    decode: (bytes) => describeMessage(bytes),
  },
  'member-leave': {
    build: (s) => encodeMessage({ kind: 'leave', body: { peerId: s.A.id } }),
    decode: (bytes) => describeMessage(bytes),
  },
  // --- catch-up stream (sync/1.0.0), framed as on the wire ---
  'catch-up-request': {
    build: () => frame([encodeMessage({ kind: 'sync-request', stateVector: EMPTY_SV })]),
    decode: (bytes) => describeFrames(bytes, 64 * 1024 * 1024),
  },
  'catch-up-reply': {
    build: (s) => frame(replyMessages(replyPayload(s), 256 * 1024, Y.encodeStateVector(s.a.doc))),
    decode: async (bytes, s) => {
      const frames = await unframe(bytes, 256 * 1024 + 1024)
      const chunks = frames.map((f) => decodeMessage(f)).flatMap((m) => (m.kind === 'sync-chunk' ? [m.chunk] : []))
      const payload = Buffer.concat(chunks)
      return {
        frames: await describeFrames(bytes, 256 * 1024 + 1024),
        payloadEqualsGossipSet: toHex(payload) === toHex(s.gossipSet),
        payload: summarize(payload),
      }
    },
  },
  'catch-up-reply-sliced': {
    build: (s) => frame(replyMessages(replyPayload(s), 128, Y.encodeStateVector(s.a.doc))),
    decode: (bytes) => describeFrames(bytes, 256 * 1024 + 1024),
  },
  // --- parts stream (sync/1.1.0) ---
  'parts-request': {
    build: () =>
      frame([
        encodeMessage({ kind: 'sync-request', stateVector: encodePartRequest(EMPTY_SV, { index: 1, count: 2 }) }),
      ]),
    decode: async (bytes) => {
      const [m] = await unframe(bytes, 64 * 1024 * 1024)
      const req = decodeMessage(m!) as Extract<Message, { kind: 'sync-request' }>
      const part = decodePartRequest(req.stateVector)
      return { ...part, stateVector: Object.fromEntries(Y.decodeStateVector(part.stateVector)) }
    },
  },
  'parts-payload-0-of-2': {
    build: (s) => encodeUpdatePart(s.parts.doc, EMPTY_SV, { index: 0, count: 2 }, { minPartWeight: 1 }),
    decode: (bytes) => summarize(bytes),
  },
  'parts-payload-1-of-2': {
    build: (s) => encodeUpdatePart(s.parts.doc, EMPTY_SV, { index: 1, count: 2 }, { minPartWeight: 1 }),
    decode: (bytes) => summarize(bytes),
  },
  // --- secrets, private networks ---
  'secret-envelope': {
    build: () => sealByTheRule({ user: 'app', password: 'hunter2' }, 'payments', 'db').c,
    decode: (bytes) => {
      const { envelope } = sealByTheRule({ user: 'app', password: 'hunter2' }, 'payments', 'db')
      expect(envelope.c).toBe(Buffer.from(bytes).toString('base64url'))
      return {
        dataKey: toHex(DATA_KEY),
        kid: dataKeyId(DATA_KEY),
        aad: secretAad('payments', 'db'),
        envelope,
        value: openValue(DATA_KEY, envelope, secretAad('payments', 'db')),
      }
    },
  },
  'network-key': {
    build: () => parseNetworkKey(NETWORK_KEY_HEX.toUpperCase()),
    decode: (bytes) => ({ text: new TextDecoder().decode(bytes) }),
  },
  // --- the ring (lease owners, join-sync placement) ---
  'ring-hash': {
    build: async (s) => {
      const h = await loadHasher()
      const out = new Uint8Array(12)
      const view = new DataView(out.buffer)
      view.setUint32(0, h.hash32('schema-migration', 0))
      view.setUint32(4, h.hash32(s.A.id, 0))
      view.setUint32(8, h.hash32(s.B.id, 0))
      return out
    },
    decode: async (bytes, s) => {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      const ring = await createHashRing({ members: [s.A.id, s.B.id] })
      return {
        'hash32("schema-migration", 0)': view.getUint32(0),
        'hash32(A, 0)': view.getUint32(4),
        'hash32(B, 0)': view.getUint32(8),
        'ownerOf("schema-migration", 2) with members A, B at weight 1, 200 vnodes': ring.ownerOf('schema-migration', 2),
      }
    },
  },
}

// --- lease stream vectors: every kind, unframed; acquire also framed ---
for (const name of Object.keys(leaseMessages)) {
  SPECS[name] = {
    build: (s) => encodeLeaseMessage(leaseMessage(name, s)),
    decode: (bytes) => ({ version: bytes[0], code: bytes[1], ...decodeLeaseMessage(bytes) }),
  }
}
SPECS['lease-acquire-frame'] = {
  build: (s) => frame([encodeLeaseMessage(leaseMessage('lease-acquire', s))]),
  decode: async (bytes) => (await unframe(bytes, 4096)).map((m) => decodeLeaseMessage(m)),
}

/** A's SWIM `alive` record (incarnation 3, weight 2, one tag and address), signed with A's key. */
const swimAlive = (s: Scenario): AliveUpdate => {
  const u: AliveUpdate = {
    type: 'alive',
    id: s.A.id,
    incarnation: 3,
    meta: {
      weight: 2,
      tags: { zone: 'eu' },
      addresses: [`/ip4/127.0.0.1/tcp/4001/p2p/${s.A.id}`],
      ready: true,
      startedAt: T0,
    },
  }
  return { ...u, signature: createAliveSigner(s.A.key).sign(encodeAliveBody(u)) }
}
// SWIM (`/confmesh/<mesh>/swim/1`): a ping from A to B (seq 7) piggybacking A's signed alive, as framed on the stream
SPECS['swim-ping-signed-alive-frame'] = {
  build: (s) =>
    frame([encodeSwimMessage({ kind: 'ping', seq: 7, target: s.B.id, updates: [encodeUpdate(swimAlive(s))] })]),
  decode: async (bytes, s) => {
    const [message] = await unframe(bytes, SWIM_LIMITS.maxPacketBytes)
    const decoded = decodeSwimMessage(message!)
    const alive = decoded.updates[0] as AliveUpdate
    return {
      ...decoded,
      updates: [{ ...alive, signature: toHex(alive.signature!) }],
      signatureValidForA: createAliveSigner(s.B.key).verify(s.A.id, encodeAliveBody(alive), alive.signature!),
    }
  },
}

// --- the document's vector blocks -----------------------------------------------------------------------------------

async function buildAll(s: Scenario): Promise<Record<string, Vector>> {
  const out: Record<string, Vector> = {}
  for (const [name, spec] of Object.entries(SPECS)) {
    const bytes = await spec.build(s)
    out[name] = { hex: toHex(bytes), decoded: JSON.parse(JSON.stringify(await spec.decode(bytes, s))) }
  }
  return out
}

if (WRITE) {
  const vectors = await buildAll(S)
  writeFileSync(FIXTURE_FILE, `${JSON.stringify(vectors, null, 2)}\n`)
  const doc = readFileSync(PROTOCOL_FILE, 'utf8').replace(BLOCK, (whole, name: string) =>
    vectors[name] === undefined ? whole : `<!-- vector: ${name} -->\n\`\`\`text\n${hexBlock(vectors[name].hex)}\`\`\``,
  )
  writeFileSync(PROTOCOL_FILE, doc)
}

// --- the checks -----------------------------------------------------------------------------------------------------

describe('PROTOCOL.md test vectors', () => {
  const s = S
  const fixture = JSON.parse(readFileSync(FIXTURE_FILE, 'utf8')) as Record<string, Vector>
  const blocks = docBlocks(readFileSync(PROTOCOL_FILE, 'utf8'))

  it('PROTOCOL.md quotes every vector of the fixture, byte for byte, and no other', () => {
    expect([...blocks.keys()].sort()).toEqual(Object.keys(fixture).sort())
    for (const [name, v] of Object.entries(fixture)) expect(blocks.get(name), name).toBe(v.hex)
    expect(Object.keys(SPECS).sort()).toEqual(Object.keys(fixture).sort())
  })

  it.each(Object.keys(SPECS))('the code encodes %s to exactly the vector bytes', async (name) => {
    expect(toHex(await SPECS[name]!.build(s))).toBe(fixture[name]!.hex)
  })

  it.each(Object.keys(SPECS))('the code decodes %s to exactly its documented meaning', async (name) => {
    const decoded = await SPECS[name]!.decode(fromHex(fixture[name]!.hex), s)
    expect(JSON.parse(JSON.stringify(decoded))).toEqual(fixture[name]!.decoded)
  })
})

describe('what every peer checks, on the vectors', () => {
  const s = S
  const a = clientIdFor(s.A.id, EPOCH_A)

  it('accepts the gossip vectors from their signer with their epoch, in an open mesh and with writers', () => {
    for (const check of [validators(), validators([s.A.id, s.B.id])]) {
      expect(() => check(s.gossipSet, { from: s.A.id, via: 'gossip', epoch: EPOCH_A })).not.toThrow()
      expect(() => check(s.gossipOverwrite, { from: s.B.id, via: 'gossip', epoch: EPOCH_B })).not.toThrow()
      expect(() => check(s.deleteOnly, { from: s.B.id, via: 'gossip' })).not.toThrow()
      expect(() => check(s.writersUpdate, { from: s.A.id, via: 'gossip', epoch: EPOCH_A })).not.toThrow()
    }
  })

  it('refuses a gossip update under another signer, another epoch, or without an epoch', () => {
    const check = validators()
    expect(() => check(s.gossipSet, { from: s.B.id, via: 'gossip', epoch: EPOCH_A })).toThrow(UnauthorizedUpdateError)
    expect(() => check(s.gossipSet, { from: s.A.id, via: 'gossip', epoch: EPOCH_A + 1 })).toThrow(
      UnauthorizedUpdateError,
    )
    expect(() => check(s.gossipSet, { from: s.A.id, via: 'gossip' })).toThrow(UnauthorizedUpdateError)
  })

  it('refuses gossip and catch-up replies from a peer outside the writer set', () => {
    const check = validators([s.B.id])
    expect(() => check(s.gossipSet, { from: s.A.id, via: 'gossip', epoch: EPOCH_A })).toThrow(UnauthorizedUpdateError)
    expect(() => check(s.gossipSet, { from: s.A.id, via: 'sync' })).toThrow(UnauthorizedUpdateError)
    expect(() => check(s.gossipSet, { from: s.B.id, via: 'sync' })).not.toThrow()
  })

  it('binds a client id to the first peer seen under it', () => {
    const registry = createClientRegistry()
    validators(undefined, registry)(s.gossipSet, { from: s.A.id, via: 'gossip', epoch: EPOCH_A })
    expect(registry.owner(a)).toBe(s.A.id)
  })

  it('decodes the bound-update header exactly: version, kind 8, varuint epoch, then the Yjs update', () => {
    const msg = bound(s.gossipSet, EPOCH_A)
    expect([...msg.subarray(0, 7)]).toEqual([0x01, 0x08, 0xf8, 0xac, 0xd1, 0x91, 0x01])
    expect(toHex(msg.subarray(7))).toBe(toHex(s.gossipSet))
  })

  it('refuses malformed headers with InvalidMessageError', () => {
    for (const bad of ['', '01', '0201', '0163', '0101', '010801', '0108ffffffffff7f00']) {
      expect(() => decodeMessage(fromHex(bad)), bad).toThrow(InvalidMessageError)
    }
  })

  it('picks the same last-writer-wins winner for concurrent writes everywhere: greater (t, c), then author', () => {
    const wa = writer(s.A, EPOCH_A, false)
    const wb = writer(s.B, EPOCH_B, false)
    wa.store.write([{ namespace: 'default', key: 'k', value: 'from A' }])
    wb.store.write([{ namespace: 'default', key: 'k', value: 'from B' }])
    // same wall clock, both counters 0: the greater author (peer id string) wins
    const winner = s.A.id > s.B.id ? 'from A' : 'from B'
    Y.applyUpdate(wa.doc, wb.local[0]!, 'remote')
    Y.applyUpdate(wb.doc, wa.local[0]!, 'remote')
    expect(wa.store.get('default', 'k')).toBe(winner)
    expect(wb.store.get('default', 'k')).toBe(winner)
  })

  it('applies parts of a reply, in any order, to the same state as the whole reply', () => {
    const whole = new Y.Doc()
    Y.applyUpdate(whole, Y.encodeStateAsUpdate(s.parts.doc))
    const parts = new Y.Doc()
    for (const index of [1, 0]) {
      Y.applyUpdate(parts, encodeUpdatePart(s.parts.doc, EMPTY_SV, { index, count: 2 }, { minPartWeight: 1 }))
    }
    expect(toHex(Y.encodeStateAsUpdate(parts))).toBe(toHex(Y.encodeStateAsUpdate(whole)))
    expect(parts.store.pendingStructs).toBeNull()
  })
})

/** An update that appends `element` to `entries` under Yjs client `client` (a raw Yjs document, no confmesh code). */
function rawUpdate(client: number, element: unknown): Uint8Array {
  const doc = new Y.Doc()
  doc.clientID = client
  let update: Uint8Array | undefined
  doc.on('update', (u: Uint8Array) => {
    update = u
  })
  doc.getArray('entries').push([element])
  return update!
}

// Executable forms of PROTOCOL.md "Known issues". Each states the behaviour the protocol should have and fails today;
// when a fix lands, vitest reports the `.fails` test as failing: drop `.fails` and the item in PROTOCOL.md section 17.
describe('known issues (PROTOCOL.md section 17)', () => {
  const s = S
  it('1 (closed by the renovation): a catch-up reply cannot put an entry under another peer client id in an open mesh', () => {
    const forged = rawUpdate(clientIdFor(s.A.id, EPOCH_A), {
      n: 'default',
      k: 'k',
      v: 'forged',
      t: T0,
      c: 0,
      a: s.B.id,
    })
    expect(() => validators()(forged, { from: s.B.id, via: 'sync' })).toThrow(UnauthorizedUpdateError)
  })
  it('2: an entry whose hybrid timestamp is not a non-negative integer is refused', () => {
    const b = clientIdFor(s.B.id, EPOCH_B)
    const nan = rawUpdate(b, { n: 'default', k: 'k', v: 'nan', t: Number.NaN, c: 0, a: s.B.id, e: EPOCH_B })
    expect(() => validators()(nan, { from: s.B.id, via: 'gossip', epoch: EPOCH_B })).toThrow(UnauthorizedUpdateError)
    for (const [t, c] of [
      [Number.POSITIVE_INFINITY, 0],
      [-1, 0],
      [1.5, 0],
      [1, Number.NaN],
    ]) {
      const bad = rawUpdate(b, { n: 'default', k: 'k', v: 'bad', t, c, a: s.B.id, e: EPOCH_B })
      expect(() => validators()(bad, { from: s.B.id, via: 'sync' })).toThrow(UnauthorizedUpdateError)
    }
  })
})
