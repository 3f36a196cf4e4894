/**
 * The Noise crypto's X25519 (src/transport/noise-crypto.ts) against the library's own and against RFC 7748: the same
 * shared secret for every key pair, whatever buffer shape the handshake hands over.
 */
import { defaultCrypto, pureJsCrypto } from '@chainsafe/libp2p-noise/crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { noiseCrypto, x25519SharedKey } from '../../src/transport/noise-crypto.js'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))

describe('noise crypto: X25519 from raw keys', () => {
  it('matches RFC 7748 section 6.1 (Alice and Bob)', () => {
    const alicePriv = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')
    const alicePub = hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a')
    const bobPriv = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb')
    const bobPub = hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f')
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'
    expect(Buffer.from(x25519SharedKey(alicePriv, bobPub)).toString('hex')).toBe(shared)
    expect(Buffer.from(x25519SharedKey(bobPriv, alicePub)).toString('hex')).toBe(shared)
  })

  it('agrees with the library crypto (Node and pure JS) on 200 random key pairs, keys as buffers or lists', () => {
    for (let i = 0; i < 200; i++) {
      const a = defaultCrypto.generateX25519KeyPair()
      const b = defaultCrypto.generateX25519KeyPair()
      const expected = Buffer.from(defaultCrypto.generateX25519SharedKey(a.privateKey, b.publicKey))
      expect(Buffer.from(noiseCrypto.generateX25519SharedKey(a.privateKey, b.publicKey))).toEqual(expected)
      expect(Buffer.from(noiseCrypto.generateX25519SharedKey(b.privateKey, a.publicKey))).toEqual(expected)
      if (i % 20 === 0)
        expect(Buffer.from(pureJsCrypto.generateX25519SharedKey(a.privateKey, b.publicKey))).toEqual(expected)
      // the handshake may pass a key in chunks (a Uint8ArrayList), or as a view into a larger buffer
      // (cast: the library's types name its own copy of uint8arraylist, a structurally equal class)
      const chunked = new Uint8ArrayList(
        a.privateKey.subarray(0, 7),
        a.privateKey.subarray(7),
      ) as unknown as Parameters<typeof x25519SharedKey>[0]
      const framed = new Uint8Array(40)
      framed.set(b.publicKey, 5)
      expect(Buffer.from(noiseCrypto.generateX25519SharedKey(chunked, framed.subarray(5, 37)))).toEqual(expected)
    }
  })

  it('refuses keys of the wrong length, as the library does', () => {
    const a = defaultCrypto.generateX25519KeyPair()
    expect(() => x25519SharedKey(a.privateKey.subarray(1), a.publicKey)).toThrow(RangeError)
    expect(() => x25519SharedKey(a.privateKey, new Uint8Array(33))).toThrow(RangeError)
    expect(() => defaultCrypto.generateX25519SharedKey(a.privateKey.subarray(1), a.publicKey)).toThrow()
    // a degenerate (all-zero) public key from a peer fails the agreement, as with the library's crypto
    expect(() => x25519SharedKey(a.privateKey, new Uint8Array(32))).toThrow()
    expect(() => defaultCrypto.generateX25519SharedKey(a.privateKey, new Uint8Array(32))).toThrow()
    const b = defaultCrypto.generateX25519KeyPair()
    expect(Buffer.from(x25519SharedKey(a.privateKey, b.publicKey))).toEqual(
      Buffer.from(defaultCrypto.generateX25519SharedKey(a.privateKey, b.publicKey)),
    )
  })

  it('keeps the rest of the default crypto', () => {
    expect(noiseCrypto.hashSHA256).toBe(defaultCrypto.hashSHA256)
    expect(noiseCrypto.chaCha20Poly1305Encrypt).toBe(defaultCrypto.chaCha20Poly1305Encrypt)
    expect(noiseCrypto.generateX25519KeyPair).toBe(defaultCrypto.generateX25519KeyPair)
  })
})
