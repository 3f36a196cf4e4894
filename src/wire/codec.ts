/**
 * Wire codec of every confmesh message, on gossip and on the catch-up stream.
 *
 * A message is `[version u8][kind u8][payload]`. Version 1 is the only one; a message with another version or an
 * unknown kind is refused with {@link InvalidMessageError} (never half-applied). Payloads:
 * - `update`: a Yjs update (v1 encoding), the coalesced local changes of one tick. With an `epoch` (security: the
 *   writer's epoch, binding its Yjs client id to its peer id, see `security/client-id.ts`) it is sent as kind 8:
 *   varuint epoch, then the update.
 * - `announce`: a Yjs state vector: "I have changes too large for gossip: pull them from me".
 * - `sync-request`: the requester's state vector.
 * - `sync-chunk`: a slice of the Yjs update the responder computed for the requester.
 * - `sync-end`: varuint total bytes of the update, then the responder's state vector.
 * - `member` / `leave`: UTF-8 JSON of a membership heartbeat or goodbye.
 *
 * @module
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { InvalidMessageError } from '../errors.js'

/** The only wire version this code speaks. */
export const WIRE_VERSION = 1

const KINDS = {
  update: 1,
  announce: 2,
  'sync-request': 3,
  'sync-chunk': 4,
  'sync-end': 5,
  member: 6,
  leave: 7,
  'bound-update': 8,
} as const

/** A message kind (`bound-update` is the wire form of an `update` with an `epoch`). */
export type MessageKind = Exclude<keyof typeof KINDS, 'bound-update'>

const KIND_BY_CODE = new Map<number, keyof typeof KINDS>(
  Object.entries(KINDS).map(([k, v]) => [v, k as keyof typeof KINDS]),
)

/** A decoded message. */
export type Message =
  | { kind: 'update'; update: Uint8Array; epoch?: number }
  | { kind: 'announce'; stateVector: Uint8Array }
  | { kind: 'sync-request'; stateVector: Uint8Array }
  | { kind: 'sync-chunk'; chunk: Uint8Array }
  | { kind: 'sync-end'; totalBytes: number; stateVector: Uint8Array }
  | { kind: 'member'; body: unknown }
  | { kind: 'leave'; body: unknown }

/** Encodes a message. */
export function encodeMessage(msg: Message): Uint8Array {
  const enc = encoding.createEncoder()
  encoding.writeUint8(enc, WIRE_VERSION)
  const bound = msg.kind === 'update' && msg.epoch !== undefined
  encoding.writeUint8(enc, bound ? KINDS['bound-update'] : KINDS[msg.kind])
  switch (msg.kind) {
    case 'update':
      if (msg.epoch !== undefined) encoding.writeVarUint(enc, msg.epoch)
      encoding.writeUint8Array(enc, msg.update)
      break
    case 'announce':
    case 'sync-request':
      encoding.writeUint8Array(enc, msg.stateVector)
      break
    case 'sync-chunk':
      encoding.writeUint8Array(enc, msg.chunk)
      break
    case 'sync-end':
      encoding.writeVarUint(enc, msg.totalBytes)
      encoding.writeUint8Array(enc, msg.stateVector)
      break
    case 'member':
    case 'leave':
      encoding.writeUint8Array(enc, new TextEncoder().encode(JSON.stringify(msg.body)))
      break
  }
  return encoding.toUint8Array(enc)
}

/** Decodes a message; throws {@link InvalidMessageError} on anything malformed. Payload bytes are views, not copies. */
export function decodeMessage(bytes: Uint8Array): Message {
  if (!(bytes instanceof Uint8Array) || bytes.length < 2)
    throw new InvalidMessageError('message shorter than its header')
  const version = bytes[0]
  if (version !== WIRE_VERSION) throw new InvalidMessageError(`unsupported wire version ${version}`)
  const kind = KIND_BY_CODE.get(bytes[1]!)
  if (kind === undefined) throw new InvalidMessageError(`unknown message kind ${bytes[1]}`)
  const payload = bytes.subarray(2)
  switch (kind) {
    case 'update':
      if (payload.length === 0) throw new InvalidMessageError('empty update')
      return { kind, update: payload }
    case 'bound-update': {
      let epoch: number
      let pos: number
      try {
        const dec = decoding.createDecoder(payload)
        epoch = decoding.readVarUint(dec)
        pos = dec.pos
      } catch (err) {
        throw new InvalidMessageError('malformed bound update', { cause: err })
      }
      if (!Number.isInteger(epoch) || epoch > 0xffff_ffff) throw new InvalidMessageError('epoch out of range')
      if (pos >= payload.length) throw new InvalidMessageError('empty update')
      return { kind: 'update', update: payload.subarray(pos), epoch }
    }
    case 'announce':
    case 'sync-request':
      return { kind, stateVector: payload }
    case 'sync-chunk':
      return { kind, chunk: payload }
    case 'sync-end': {
      try {
        const dec = decoding.createDecoder(payload)
        const totalBytes = decoding.readVarUint(dec)
        if (!Number.isSafeInteger(totalBytes)) throw new Error('length out of range')
        return { kind, totalBytes, stateVector: payload.subarray(dec.pos) }
      } catch (err) {
        throw new InvalidMessageError('malformed sync-end', { cause: err })
      }
    }
    case 'member':
    case 'leave':
      try {
        return { kind, body: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload)) }
      } catch (err) {
        throw new InvalidMessageError(`malformed ${kind} message`, { cause: err })
      }
  }
}
