/**
 * Secret values (`mesh.setSecret`): JSON values sealed with AES-256-GCM before they enter the shared document, so
 * peers without the data key replicate only ciphertext.
 *
 * Envelope (JSON-safe, stored as the config value): `{ "$secret": 1, "kid": <key id>, "n": <nonce>, "c": <ciphertext
 * + 16-byte tag> }`, binary fields in unpadded base64url. A fresh random 96-bit nonce is drawn per seal. The
 * authenticated data is the envelope version, the key id and the caller's `aad`; pass {@link secretAad}`(namespace,
 * key)` so a ciphertext copied to another key or namespace fails to open.
 *
 * Guarantees: confidentiality and integrity of the value under the key; binding to `aad`. Not provided: hiding the
 * value's length, its key name, or when it changed; replay protection (an older envelope for the same key still
 * opens — ordering is the CRDT's job). With random nonces, rotate the data key well before 2^32 seals.
 *
 * @module
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { InvalidValueError } from '../errors.js'
import { InvalidDataKeyError, NotSealedError, SecretAuthenticationError, SecretKeyMismatchError } from './errors.js'

/** Data key length in bytes (AES-256). */
export const DATA_KEY_BYTES = 32
/** Nonce length in bytes (96-bit GCM nonce). */
export const NONCE_BYTES = 12
/** GCM authentication tag length in bytes. */
export const TAG_BYTES = 16
/** Envelope format version (the value of `$secret`). */
export const SECRET_VERSION = 1
/** Key id length in bytes (a truncated SHA-256 of the key; identifies, does not reveal it). */
const KID_BYTES = 8
const KID_DOMAIN = 'confmesh/secret-box/kid/v1\n'
const AAD_DOMAIN = 'confmesh/secret-box/v1\n'
const BASE64URL = /^[A-Za-z0-9_-]*$/

/** A sealed secret as stored in the document. */
export interface SealedValue {
  /** Envelope version, always {@link SECRET_VERSION}. */
  $secret: 1
  /** Key id of the data key that sealed it (see {@link dataKeyId}). */
  kid: string
  /** Nonce, base64url. */
  n: string
  /** Ciphertext followed by the 16-byte tag, base64url. */
  c: string
}

const toB64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url')

const fromB64 = (s: string, what: string): Buffer => {
  if (!BASE64URL.test(s) || s.length % 4 === 1) throw new NotSealedError(`${what} is not base64url`)
  return Buffer.from(s, 'base64url')
}

const checkKey = (key: Uint8Array): void => {
  if (!(key instanceof Uint8Array) || key.byteLength !== DATA_KEY_BYTES) {
    throw new InvalidDataKeyError(`data key must be a Uint8Array of ${DATA_KEY_BYTES} bytes`)
  }
}

const aadBytes = (aad: string | Uint8Array | undefined): Uint8Array => {
  if (aad === undefined) return new Uint8Array(0)
  if (typeof aad === 'string') return new TextEncoder().encode(aad)
  if (aad instanceof Uint8Array) return aad
  throw new TypeError('aad must be a string or a Uint8Array')
}

/** Full additional authenticated data: domain, version, key id (length-prefixed), caller's aad. */
const fullAad = (kid: string, aad: string | Uint8Array | undefined): Buffer =>
  Buffer.concat([Buffer.from(`${AAD_DOMAIN}${SECRET_VERSION}\n${kid.length}:${kid}\n`), aadBytes(aad)])

/** Generate a random 32-byte data key. */
export const generateDataKey = (): Uint8Array => new Uint8Array(randomBytes(DATA_KEY_BYTES))

/**
 * The key id of a data key: unpadded base64url of the first 8 bytes of SHA-256 over a domain tag and the key.
 *
 * @throws {@link InvalidDataKeyError} if `key` is not 32 bytes.
 */
export const dataKeyId = (key: Uint8Array): string => {
  checkKey(key)
  return toB64(createHash('sha256').update(KID_DOMAIN).update(key).digest().subarray(0, KID_BYTES))
}

/** Encode a data key as unpadded base64url (for a config file or secret store). */
export const dataKeyToString = (key: Uint8Array): string => {
  checkKey(key)
  return toB64(key)
}

/**
 * Decode a data key written by {@link dataKeyToString} (standard base64 with padding is accepted too).
 *
 * @throws {@link InvalidDataKeyError} unless the text is base64(url) of exactly 32 bytes.
 */
export const dataKeyFromString = (text: string): Uint8Array => {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_+/-]{43}=?$/.test(text.trim())) {
    throw new InvalidDataKeyError(`data key must be base64 of ${DATA_KEY_BYTES} bytes`)
  }
  const bytes = new Uint8Array(Buffer.from(text.trim(), 'base64'))
  if (bytes.byteLength !== DATA_KEY_BYTES) throw new InvalidDataKeyError(`data key must be ${DATA_KEY_BYTES} bytes`)
  return bytes
}

/**
 * Additional authenticated data that binds a secret to its place in the config: namespace and key, encoded
 * unambiguously (a JSON array), so neither can be confused by separators inside names.
 */
export const secretAad = (namespace: string, key: string): string => JSON.stringify(['confmesh', namespace, key])

/**
 * Seal a JSON value.
 *
 * @param key - 32-byte data key.
 * @param value - Any JSON-serializable value (serialized with `JSON.stringify`).
 * @param aad - Additional authenticated data; use {@link secretAad}. Must be given again to open.
 * @returns A JSON-safe envelope.
 * @throws {@link InvalidDataKeyError} for a bad key; `InvalidValueError` if `value` is not JSON-serializable.
 */
export const sealValue = (key: Uint8Array, value: unknown, aad?: string | Uint8Array): SealedValue => {
  checkKey(key)
  let json: string | undefined
  try {
    json = JSON.stringify(value)
  } catch (err) {
    throw new InvalidValueError('secret value is not JSON-serializable', { cause: err })
  }
  if (json === undefined) throw new InvalidValueError('secret value is not JSON-serializable')
  const kid = dataKeyId(key)
  const nonce = randomBytes(NONCE_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES })
  cipher.setAAD(fullAad(kid, aad))
  const c = Buffer.concat([cipher.update(json, 'utf8'), cipher.final(), cipher.getAuthTag()])
  return { $secret: SECRET_VERSION, kid, n: toB64(nonce), c: toB64(c) }
}

/**
 * Whether `value` has the shape of a sealed-secret envelope (it says nothing about which key opens it).
 */
export const isSealed = (value: unknown): value is SealedValue => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const v = value as Record<string, unknown>
  return (
    v.$secret === SECRET_VERSION &&
    typeof v.kid === 'string' &&
    typeof v.n === 'string' &&
    typeof v.c === 'string' &&
    Object.keys(v).length === 4
  )
}

/**
 * Open an envelope made by {@link sealValue}.
 *
 * @param key - The 32-byte data key.
 * @param envelope - The stored value.
 * @param aad - The same additional authenticated data as at sealing.
 * @returns The original JSON value.
 * @throws {@link NotSealedError} if `envelope` is not an envelope; {@link SecretKeyMismatchError} if another key sealed
 *   it; {@link SecretAuthenticationError} if it was modified or the `aad` differs (e.g. moved to another key);
 *   {@link InvalidDataKeyError} for a bad key.
 */
export const openValue = (key: Uint8Array, envelope: unknown, aad?: string | Uint8Array): unknown => {
  checkKey(key)
  if (!isSealed(envelope)) throw new NotSealedError('value is not a sealed secret envelope')
  const kid = dataKeyId(key)
  if (envelope.kid !== kid) {
    throw new SecretKeyMismatchError(`secret was sealed with key id ${envelope.kid}, this key is ${kid}`)
  }
  const nonce = fromB64(envelope.n, 'nonce')
  const data = fromB64(envelope.c, 'ciphertext')
  if (nonce.byteLength !== NONCE_BYTES) throw new NotSealedError(`nonce must be ${NONCE_BYTES} bytes`)
  if (data.byteLength < TAG_BYTES) throw new NotSealedError('ciphertext is shorter than the tag')
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES })
  decipher.setAAD(fullAad(kid, aad))
  decipher.setAuthTag(data.subarray(data.byteLength - TAG_BYTES))
  let plain: Buffer
  try {
    plain = Buffer.concat([decipher.update(data.subarray(0, data.byteLength - TAG_BYTES)), decipher.final()])
  } catch (err) {
    throw new SecretAuthenticationError('secret failed authentication (tampered, or sealed for another key)', {
      cause: err,
    })
  }
  try {
    return JSON.parse(plain.toString('utf8'))
  } catch (err) {
    throw new NotSealedError('authenticated secret payload is not JSON', { cause: err })
  }
}
