/**
 * Wire codec of the lease protocol (`/confmesh/<name>/lease/1.0.0`): one request and one reply per stream.
 *
 * A message is `[version u8][kind u8][UTF-8 JSON body]`, at most {@link MAX_LEASE_MESSAGE_BYTES}. Version 1 is the
 * only one; another version, an unknown kind or a body that fails validation is refused with
 * {@link InvalidMessageError}. Requests: `acquire`, `renew`, `release`. Replies: `granted`, `held`, `redirect`,
 * `released`, `lost`, `denied`.
 *
 * @module
 */
import { InvalidMessageError } from '../errors.js'

/** The only lease wire version this code speaks. */
export const LEASE_WIRE_VERSION = 1
/** Largest lease message accepted. */
export const MAX_LEASE_MESSAGE_BYTES = 4096
/** Longest lease name (as a config key). */
export const MAX_LEASE_NAME_LENGTH = 1024
/** Longest holder nonce. */
export const MAX_HOLDER_LENGTH = 64

const KINDS = {
  acquire: 1,
  renew: 2,
  release: 3,
  granted: 4,
  held: 5,
  redirect: 6,
  released: 7,
  lost: 8,
  denied: 9,
} as const

/** A lease message kind. */
export type LeaseMessageKind = keyof typeof KINDS

const KIND_BY_CODE = new Map<number, LeaseMessageKind>(
  Object.entries(KINDS).map(([k, v]) => [v, k as LeaseMessageKind]),
)

/** A lease protocol message. `holder` is the requester's per-call nonce; the requester's peer id is the stream's. */
export type LeaseMessage =
  | { kind: 'acquire'; name: string; holder: string; ttlMs: number }
  | { kind: 'renew'; name: string; holder: string; token: number; ttlMs: number }
  | { kind: 'release'; name: string; holder: string; token: number }
  | { kind: 'granted'; name: string; token: number; ttlMs: number; owner: string }
  | { kind: 'held'; name: string; reason: 'held' | 'takeover'; retryAfterMs: number; holder?: string }
  | { kind: 'redirect'; name: string; owner?: string }
  | { kind: 'released'; name: string }
  | { kind: 'lost'; name: string; reason: string }
  | { kind: 'denied'; name: string; reason: string }

/** Encodes a lease message. */
export function encodeLeaseMessage(msg: LeaseMessage): Uint8Array {
  const { kind, ...body } = msg
  const json = new TextEncoder().encode(JSON.stringify(body))
  const out = new Uint8Array(2 + json.length)
  out[0] = LEASE_WIRE_VERSION
  out[1] = KINDS[kind]
  out.set(json, 2)
  return out
}

const isName = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_LEASE_NAME_LENGTH
const isHolder = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_HOLDER_LENGTH
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const isText = (v: unknown): v is string => typeof v === 'string' && v.length <= 256

/** Decodes and validates a lease message; throws {@link InvalidMessageError} on anything malformed. */
export function decodeLeaseMessage(bytes: Uint8Array): LeaseMessage {
  if (!(bytes instanceof Uint8Array) || bytes.length < 2) throw new InvalidMessageError('lease message too short')
  if (bytes.length > MAX_LEASE_MESSAGE_BYTES) throw new InvalidMessageError('lease message too long')
  if (bytes[0] !== LEASE_WIRE_VERSION) throw new InvalidMessageError(`unsupported lease wire version ${bytes[0]}`)
  const kind = KIND_BY_CODE.get(bytes[1]!)
  if (kind === undefined) throw new InvalidMessageError(`unknown lease message kind ${bytes[1]}`)
  let b: Record<string, unknown>
  try {
    const parsed: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(2)))
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object')
    b = parsed as Record<string, unknown>
  } catch (err) {
    throw new InvalidMessageError(`malformed ${kind} message`, { cause: err })
  }
  const bad = (): never => {
    throw new InvalidMessageError(`invalid ${kind} message`)
  }
  const { name } = b
  if (!isName(name)) return bad()
  switch (kind) {
    case 'acquire':
      if (!isHolder(b.holder) || !isCount(b.ttlMs)) return bad()
      return { kind, name, holder: b.holder, ttlMs: b.ttlMs }
    case 'renew':
      if (!isHolder(b.holder) || !isCount(b.token) || !isCount(b.ttlMs)) return bad()
      return { kind, name, holder: b.holder, token: b.token, ttlMs: b.ttlMs }
    case 'release':
      if (!isHolder(b.holder) || !isCount(b.token)) return bad()
      return { kind, name, holder: b.holder, token: b.token }
    case 'granted':
      if (!isCount(b.token) || !isCount(b.ttlMs) || !isText(b.owner)) return bad()
      return { kind, name, token: b.token, ttlMs: b.ttlMs, owner: b.owner }
    case 'held': {
      if ((b.reason !== 'held' && b.reason !== 'takeover') || !isCount(b.retryAfterMs)) return bad()
      if (b.holder !== undefined && !isText(b.holder)) return bad()
      const held: LeaseMessage = { kind, name, reason: b.reason, retryAfterMs: b.retryAfterMs }
      return b.holder === undefined ? held : { ...held, holder: b.holder as string }
    }
    case 'redirect':
      if (b.owner !== undefined && !isText(b.owner)) return bad()
      return b.owner === undefined ? { kind, name } : { kind, name, owner: b.owner as string }
    case 'released':
      return { kind, name }
    case 'lost':
    case 'denied':
      if (!isText(b.reason)) return bad()
      return { kind, name, reason: b.reason }
  }
}
