import { describe, expect, it } from 'vitest'
import { InvalidValueError } from '../../src/errors.js'
import {
  InvalidDataKeyError,
  NotSealedError,
  SecretAuthenticationError,
  SecretKeyMismatchError,
} from '../../src/security/errors.js'
import {
  dataKeyFromString,
  dataKeyId,
  dataKeyToString,
  generateDataKey,
  isSealed,
  openValue,
  type SealedValue,
  sealValue,
  secretAad,
} from '../../src/security/secret-box.js'

const key = generateDataKey()
const aad = secretAad('db', 'password')

/** Flip one bit of a base64url field. */
const flip = (b64: string, byte: number): string => {
  const buf = Buffer.from(b64, 'base64url')
  buf[byte % buf.length] = buf[byte % buf.length]! ^ 1
  return buf.toString('base64url')
}

describe('secret box', () => {
  it('round-trips JSON values, and the envelope is JSON-safe', () => {
    for (const value of ['hunter2', 42, null, true, { user: 'a', pass: 'b', list: [1, 'x'] }, [], 'ü😀']) {
      const sealed = sealValue(key, value, aad)
      expect(isSealed(sealed)).toBe(true)
      const viaJson = JSON.parse(JSON.stringify(sealed)) as unknown
      expect(openValue(key, viaJson, aad)).toEqual(value)
      expect(JSON.stringify(sealed)).not.toContain('hunter2')
    }
  })

  it('draws a unique 96-bit nonce per seal', () => {
    const nonces = new Set<string>()
    for (let i = 0; i < 2000; i++) {
      const s = sealValue(key, 'same value', aad)
      expect(Buffer.from(s.n, 'base64url')).toHaveLength(12)
      nonces.add(s.n)
    }
    expect(nonces.size).toBe(2000)
  })

  it('detects tampering with ciphertext, tag or nonce', () => {
    const sealed = sealValue(key, { secret: 'value' }, aad)
    const clen = Buffer.from(sealed.c, 'base64url').length
    for (const bad of [
      { ...sealed, c: flip(sealed.c, 0) },
      { ...sealed, c: flip(sealed.c, clen - 1) }, // tag
      { ...sealed, n: flip(sealed.n, 3) },
    ]) {
      expect(() => openValue(key, bad, aad)).toThrow(SecretAuthenticationError)
    }
  })

  it('rejects a ciphertext moved to another key or namespace', () => {
    const sealed = sealValue(key, 's3cret', secretAad('db', 'password'))
    expect(() => openValue(key, sealed, secretAad('db', 'other'))).toThrow(SecretAuthenticationError)
    expect(() => openValue(key, sealed, secretAad('cache', 'password'))).toThrow(SecretAuthenticationError)
    expect(() => openValue(key, sealed)).toThrow(SecretAuthenticationError)
    // separators inside names cannot be used to forge the same aad
    expect(secretAad('a/b', 'c')).not.toBe(secretAad('a', 'b/c'))
  })

  it('reports a wrong key as a key mismatch, and a forged key id as an authentication failure', () => {
    const other = generateDataKey()
    const sealed = sealValue(key, 'x', aad)
    expect(() => openValue(other, sealed, aad)).toThrow(SecretKeyMismatchError)
    expect(() => openValue(other, { ...sealed, kid: dataKeyId(other) }, aad)).toThrow(SecretAuthenticationError)
  })

  it('refuses values that are not envelopes', () => {
    const sealed = sealValue(key, 'x', aad)
    for (const v of [
      'plain',
      null,
      42,
      [sealed],
      { ...sealed, $secret: 2 },
      { ...sealed, extra: 1 },
      { $secret: 1, kid: sealed.kid, n: sealed.n },
      { ...sealed, n: '!!!' },
      { ...sealed, n: Buffer.alloc(8).toString('base64url') },
      { ...sealed, c: Buffer.alloc(8).toString('base64url') },
    ]) {
      expect(() => openValue(key, v, aad)).toThrow(NotSealedError)
    }
    expect(isSealed({ $secret: 1, kid: 'k', n: 'n' })).toBe(false)
  })

  it('validates keys and values', () => {
    expect(() => sealValue(new Uint8Array(16), 'x')).toThrow(InvalidDataKeyError)
    expect(() => openValue(new Uint8Array(31), {} as SealedValue)).toThrow(InvalidDataKeyError)
    expect(() => sealValue(key, undefined)).toThrow(InvalidValueError)
    expect(() => sealValue(key, 10n)).toThrow(InvalidValueError)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => sealValue(key, cyclic)).toThrow(InvalidValueError)
  })

  it('encodes data keys as text and back', () => {
    const text = dataKeyToString(key)
    expect(text).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(dataKeyFromString(text)).toEqual(key)
    expect(dataKeyFromString(Buffer.from(key).toString('base64'))).toEqual(key)
    expect(() => dataKeyFromString('short')).toThrow(InvalidDataKeyError)
    expect(() => dataKeyFromString(Buffer.alloc(31).toString('base64'))).toThrow(InvalidDataKeyError)
    expect(dataKeyId(key)).toMatch(/^[A-Za-z0-9_-]{11}$/)
    expect(dataKeyId(key)).not.toBe(dataKeyId(generateDataKey()))
  })
})
