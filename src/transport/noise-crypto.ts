/**
 * The Noise handshake's crypto, with a cheaper X25519: every connection a peer opens or accepts runs three X25519
 * key agreements on each side (Noise XX: `ee`, `es`, `se`). `@chainsafe/libp2p-noise`'s Node crypto imports both keys
 * of each agreement from DER (PKCS #8 / SPKI) first, and the PKCS #8 parse alone took ~370 µs of the ~560 µs an
 * agreement cost here; a 100-peer mesh forming in one process spent 9 % of its CPU in these agreements. This crypto
 * imports the raw keys as JWK instead (Node's JWK import of OKP keys ends in the same `initEDRaw` as the DER path,
 * without the ASN.1 parse): ~100 µs an agreement (`bench/noise-crypto.ts`).
 *
 * Guarantees: the same shared secret as the library's own crypto for every key pair (checked in
 * `test/unit/noise-crypto.test.ts` against it, on random keys and on the RFC 7748 vectors), so peers using either
 * interoperate; should a Node version refuse the import, it falls back to the library's path for good. Everything
 * else (hashing, HKDF, ChaCha20-Poly1305, key generation) is the library's default crypto, unchanged. A key of the
 * wrong length throws, as the library's does.
 *
 * @module
 */
import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'

/** A key as the Noise handshake hands it over (one buffer, or a list of chunks). */
type KeyBytes = Parameters<ICryptoInterface['generateX25519SharedKey']>[0]

/** Length of an X25519 key (private or public), in bytes. */
const X25519_KEY_BYTES = 32
/** Whether raw keys go in as JWK (until a Node refuses that once). */
let jwkImport = true

function base64url(key: KeyBytes, what: string): string {
  const bytes = key instanceof Uint8Array ? key : key.subarray()
  if (bytes.byteLength !== X25519_KEY_BYTES) {
    throw new RangeError(`X25519 ${what} key must be ${X25519_KEY_BYTES} bytes, got ${bytes.byteLength}`)
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
}

/**
 * X25519 shared secret of a raw private key and a raw public key (32 bytes each), as
 * `defaultCrypto.generateX25519SharedKey` computes it.
 *
 * @throws {RangeError} a key is not 32 bytes long
 */
export function x25519SharedKey(privateKey: KeyBytes, publicKey: KeyBytes): Uint8Array {
  const d = base64url(privateKey, 'private')
  const x = base64url(publicKey, 'public')
  let keys: { privateKey: KeyObject; publicKey: KeyObject } | undefined
  if (jwkImport) {
    try {
      // A private OKP JWK is read from `d` alone (Node 20-24 only check that `x` is a string), so the public half of
      // the private key need not be derived first. Any 32 bytes import (length checked above).
      keys = {
        privateKey: createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d, x: '' }, format: 'jwk' }),
        publicKey: createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' }),
      }
    } catch {
      // A Node that reads JWKs more strictly: the library's DER path from now on (same result, slower).
      jwkImport = false
    }
  }
  // The agreement itself may throw on a degenerate public key (as the library's does): that is the peer's doing.
  return keys === undefined ? defaultCrypto.generateX25519SharedKey(privateKey, publicKey) : diffieHellman(keys)
}

/** The Noise crypto every confmesh peer uses: the library's default with {@link x25519SharedKey}. */
export const noiseCrypto: ICryptoInterface = Object.freeze({
  ...defaultCrypto,
  generateX25519SharedKey: x25519SharedKey,
})
