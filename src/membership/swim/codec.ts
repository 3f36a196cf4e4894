/**
 * The SWIM wire codec (documented in PROTOCOL.md, "Membership v2 (SWIM)"). Writing uses lib0's encoder; reading uses
 * a bounds-checked reader of its own, because lib0's decoder reads past the end without noticing. Guarantees:
 *
 * - `decodeSwimMessage` returns a fully checked message or throws {@link SwimMessageError} (never another error, on
 *   any input): version and kind known, every length within {@link SWIM_LIMITS} before anything is allocated,
 *   strings valid UTF-8, numbers safe integers or finite weights, no trailing bytes.
 * - `encodeSwimMessage(decodeSwimMessage(b))` re-encodes to the same bytes for every message this codec wrote.
 * - Piggybacked updates are encoded once when queued ({@link encodeUpdate}) and copied as bytes into each message.
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import { SwimMessageError } from './errors.js'
import type { AliveUpdate, MemberMeta, MemberUpdate } from './member.js'

/** Protocol version byte. */
export const SWIM_VERSION = 1

/** Limits checked on decode. */
export const SWIM_LIMITS = Object.freeze({
  /** Largest probe / ack / gossip message (bytes). */
  maxPacketBytes: 65_536,
  /** Largest push-pull message (bytes). */
  maxPushPullBytes: 16 * 1024 * 1024,
  /** Most updates piggybacked on one packet. */
  maxPiggyback: 256,
  /** Most members in one push-pull. */
  maxPushPullMembers: 100_000,
  /** Longest member id (UTF-8 bytes). */
  maxIdBytes: 128,
  /** Most addresses per member. */
  maxAddresses: 16,
  /** Longest address. */
  maxAddressBytes: 256,
  /** Most tags per member. */
  maxTags: 32,
  /** Longest tag key. */
  maxTagKeyBytes: 64,
  /** Longest tag value. */
  maxTagValueBytes: 256,
  /** Largest weight. */
  maxWeight: 1_000_000,
})

const KIND = { ping: 1, 'ping-req': 2, ack: 3, nack: 4, gossip: 5, 'push-pull': 6 } as const
const KIND_NAME = ['', 'ping', 'ping-req', 'ack', 'nack', 'gossip', 'push-pull'] as const
const UPDATE = { alive: 1, suspect: 2, down: 3, signedAlive: 4 } as const
/** Longest signature of a signed `alive` record. */
const MAX_SIGNATURE_BYTES = 128

/** A probe: "are you `target`? answer `ack(seq)`". */
export interface PingMessage {
  readonly kind: 'ping'
  readonly seq: number
  readonly target: string
}
/** An indirect probe request: "probe `target` for me; answer `ack(seq)` (or `nack(seq)` if `nack` and no answer)". */
export interface PingReqMessage {
  readonly kind: 'ping-req'
  readonly seq: number
  readonly target: string
  readonly nack: boolean
}
/** The answer to a ping (or a relayed one). */
export interface AckMessage {
  readonly kind: 'ack' | 'nack'
  readonly seq: number
}
/** A message that only carries updates. */
export interface GossipMessage {
  readonly kind: 'gossip'
}
/** A full-state exchange: the sender's whole member table; `reply` on the answer, `join` from a joining peer. */
export interface PushPullMessage {
  readonly kind: 'push-pull'
  readonly reply: boolean
  readonly join: boolean
}
/** A decoded SWIM message with its updates (piggybacked, or the member table of a push-pull). */
export type SwimMessage = (PingMessage | PingReqMessage | AckMessage | GossipMessage | PushPullMessage) & {
  readonly updates: readonly MemberUpdate[]
}
/** A message to encode: updates given as already-encoded records (see {@link encodeUpdate}). */
export type OutgoingSwimMessage = (PingMessage | PingReqMessage | AckMessage | GossipMessage | PushPullMessage) & {
  readonly updates: readonly Uint8Array[]
}

/** Encodes one update record (an `alive` with a signature as a signed record, type 4). */
export function encodeUpdate(update: MemberUpdate): Uint8Array {
  const e = encoding.createEncoder()
  const signed = update.type === 'alive' && update.signature !== undefined
  encoding.writeUint8(e, signed ? UPDATE.signedAlive : UPDATE[update.type])
  encoding.writeVarString(e, update.id)
  encoding.writeVarUint(e, update.incarnation)
  if (update.type === 'alive') writeMeta(e, update.meta)
  else encoding.writeVarString(e, update.from)
  if (signed) encoding.writeVarUint8Array(e, update.signature!)
  return encoding.toUint8Array(e)
}

/** The bytes an `alive` record's signature covers: the record encoded unsigned (type 1). */
export function encodeAliveBody(update: AliveUpdate): Uint8Array {
  return encodeUpdate({ type: 'alive', id: update.id, incarnation: update.incarnation, meta: update.meta })
}

/** Bytes of a message before its updates (for piggyback budgets). */
export const SWIM_HEADER_BYTES = 2 + 9 + 1 + 130 + 5

/** Encodes a message. */
export function encodeSwimMessage(msg: OutgoingSwimMessage): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeUint8(e, SWIM_VERSION)
  encoding.writeUint8(e, KIND[msg.kind])
  switch (msg.kind) {
    case 'ping':
      encoding.writeVarUint(e, msg.seq)
      encoding.writeVarString(e, msg.target)
      break
    case 'ping-req':
      encoding.writeVarUint(e, msg.seq)
      encoding.writeVarString(e, msg.target)
      encoding.writeUint8(e, msg.nack ? 1 : 0)
      break
    case 'ack':
    case 'nack':
      encoding.writeVarUint(e, msg.seq)
      break
    case 'gossip':
      break
    case 'push-pull':
      encoding.writeUint8(e, (msg.reply ? 1 : 0) | (msg.join ? 2 : 0))
      break
  }
  encoding.writeVarUint(e, msg.updates.length)
  for (const u of msg.updates) encoding.writeUint8Array(e, u)
  return encoding.toUint8Array(e)
}

/** Decodes and checks a message; throws {@link SwimMessageError} on anything malformed. */
export function decodeSwimMessage(bytes: Uint8Array): SwimMessage {
  if (!(bytes instanceof Uint8Array)) throw new SwimMessageError('bad-field', 'not bytes')
  if (bytes.length > SWIM_LIMITS.maxPushPullBytes) throw new SwimMessageError('too-large', `${bytes.length} bytes`)
  const r = new Reader(bytes)
  const version = r.u8()
  if (version !== SWIM_VERSION) throw new SwimMessageError('bad-version', `version ${version}`)
  const kind = KIND_NAME[r.u8()]
  if (kind === undefined || kind === '') throw new SwimMessageError('bad-kind', 'unknown kind')
  if (kind !== 'push-pull' && bytes.length > SWIM_LIMITS.maxPacketBytes) {
    throw new SwimMessageError('too-large', `${kind} of ${bytes.length} bytes`)
  }
  let head: PingMessage | PingReqMessage | AckMessage | GossipMessage | PushPullMessage
  switch (kind) {
    case 'ping':
      head = { kind, seq: r.varUint(), target: r.str(SWIM_LIMITS.maxIdBytes) }
      break
    case 'ping-req':
      head = { kind, seq: r.varUint(), target: r.str(SWIM_LIMITS.maxIdBytes), nack: r.flag() }
      break
    case 'ack':
    case 'nack':
      head = { kind, seq: r.varUint() }
      break
    case 'gossip':
      head = { kind }
      break
    case 'push-pull': {
      const flags = r.u8()
      if (flags > 3) throw new SwimMessageError('bad-field', `push-pull flags ${flags}`)
      head = { kind, reply: (flags & 1) !== 0, join: (flags & 2) !== 0 }
      break
    }
  }
  const max = kind === 'push-pull' ? SWIM_LIMITS.maxPushPullMembers : SWIM_LIMITS.maxPiggyback
  const count = r.varUint()
  if (count > max) throw new SwimMessageError('limit', `${count} updates (most ${max})`)
  const updates: MemberUpdate[] = []
  for (let i = 0; i < count; i++) updates.push(readUpdate(r))
  if (r.pos !== bytes.length)
    throw new SwimMessageError('trailing-bytes', `${bytes.length - r.pos} bytes after the message`)
  return { ...head, updates }
}

function writeMeta(e: encoding.Encoder, meta: MemberMeta): void {
  encoding.writeFloat64(e, meta.weight)
  encoding.writeUint8(e, meta.ready ? 1 : 0)
  encoding.writeVarUint(e, meta.startedAt)
  encoding.writeVarUint(e, meta.addresses.length)
  for (const a of meta.addresses) encoding.writeVarString(e, a)
  const tags = Object.entries(meta.tags)
  encoding.writeVarUint(e, tags.length)
  for (const [k, v] of tags) {
    encoding.writeVarString(e, k)
    encoding.writeVarString(e, v)
  }
}

function readUpdate(r: Reader): MemberUpdate {
  const type = r.u8()
  const id = r.str(SWIM_LIMITS.maxIdBytes)
  if (id.length === 0) throw new SwimMessageError('bad-field', 'empty member id')
  const incarnation = r.varUint()
  if (type === UPDATE.alive) return { type: 'alive', id, incarnation, meta: readMeta(r) }
  if (type === UPDATE.signedAlive) {
    const meta = readMeta(r)
    const signature = r.bytes(MAX_SIGNATURE_BYTES)
    return { type: 'alive', id, incarnation, meta, signature }
  }
  if (type === UPDATE.suspect || type === UPDATE.down) {
    const from = r.str(SWIM_LIMITS.maxIdBytes)
    if (from.length === 0) throw new SwimMessageError('bad-field', 'empty accuser id')
    return { type: type === UPDATE.suspect ? 'suspect' : 'down', id, incarnation, from }
  }
  throw new SwimMessageError('bad-kind', `update type ${type}`)
}

function readMeta(r: Reader): MemberMeta {
  const weight = r.f64()
  if (!Number.isFinite(weight) || weight < 0 || weight > SWIM_LIMITS.maxWeight) {
    throw new SwimMessageError('bad-field', `weight ${weight}`)
  }
  const ready = r.flag()
  const startedAt = r.varUint()
  const addressCount = r.varUint()
  if (addressCount > SWIM_LIMITS.maxAddresses) throw new SwimMessageError('limit', `${addressCount} addresses`)
  const addresses: string[] = []
  for (let i = 0; i < addressCount; i++) addresses.push(r.str(SWIM_LIMITS.maxAddressBytes))
  const tagCount = r.varUint()
  if (tagCount > SWIM_LIMITS.maxTags) throw new SwimMessageError('limit', `${tagCount} tags`)
  const tags: Record<string, string> = Object.create(null)
  for (let i = 0; i < tagCount; i++) {
    const k = r.str(SWIM_LIMITS.maxTagKeyBytes)
    if (k in tags) throw new SwimMessageError('bad-field', `tag ${k} twice`)
    tags[k] = r.str(SWIM_LIMITS.maxTagValueBytes)
  }
  return { weight, ready, startedAt, addresses, tags: { ...tags } }
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** A reader that checks every read against the end of the buffer. */
class Reader {
  pos = 0
  readonly #arr: Uint8Array
  readonly #view: DataView

  constructor(arr: Uint8Array) {
    this.#arr = arr
    this.#view = new DataView(arr.buffer, arr.byteOffset, arr.byteLength)
  }

  #need(n: number): void {
    if (this.pos + n > this.#arr.length) throw new SwimMessageError('truncated', `needs ${n} more bytes at ${this.pos}`)
  }

  u8(): number {
    this.#need(1)
    return this.#arr[this.pos++] as number
  }

  flag(): boolean {
    const b = this.u8()
    if (b > 1) throw new SwimMessageError('bad-field', `flag byte ${b}`)
    return b === 1
  }

  varUint(): number {
    let num = 0
    let mult = 1
    for (let i = 0; i < 8; i++) {
      const b = this.u8()
      num += (b & 0x7f) * mult
      if (b < 0x80) {
        if (!Number.isSafeInteger(num)) throw new SwimMessageError('bad-field', 'integer out of range')
        return num
      }
      mult *= 128
    }
    throw new SwimMessageError('bad-field', 'integer out of range')
  }

  f64(): number {
    this.#need(8)
    const v = this.#view.getFloat64(this.pos, false)
    this.pos += 8
    return v
  }

  bytes(maxBytes: number): Uint8Array {
    const len = this.varUint()
    if (len > maxBytes) throw new SwimMessageError('limit', `byte string of ${len} bytes (most ${maxBytes})`)
    this.#need(len)
    const out = this.#arr.slice(this.pos, this.pos + len)
    this.pos += len
    return out
  }

  str(maxBytes: number): string {
    const len = this.varUint()
    if (len > maxBytes) throw new SwimMessageError('limit', `string of ${len} bytes (most ${maxBytes})`)
    this.#need(len)
    const bytes = this.#arr.subarray(this.pos, this.pos + len)
    this.pos += len
    try {
      return utf8.decode(bytes)
    } catch {
      throw new SwimMessageError('bad-field', 'string is not UTF-8')
    }
  }
}
