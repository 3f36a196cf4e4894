import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { InvalidIdentityError } from '../../src/security/errors.js'
import { generateIdentity, identityFromBytes, identityToBytes } from '../../src/security/identity.js'

describe('identity', () => {
  it('generates an Ed25519 identity whose peer id matches its key', async () => {
    const id = await generateIdentity()
    expect(id.privateKey.type).toBe('Ed25519')
    expect(id.peerId).toMatch(/^12D3KooW/)
    expect(peerIdFromString(id.peerId).publicKey?.equals(id.privateKey.publicKey)).toBe(true)
  })

  it('round-trips through bytes and keeps the peer id and the signing key', async () => {
    const id = await generateIdentity()
    const bytes = identityToBytes(id)
    const back = identityFromBytes(bytes)
    expect(back.peerId).toBe(id.peerId)
    expect(back.privateKey.equals(id.privateKey)).toBe(true)
    const msg = new TextEncoder().encode('hello')
    const sig = await back.privateKey.sign(msg)
    expect(await id.privateKey.publicKey.verify(msg, sig)).toBe(true)
  })

  it('gives different identities each time', async () => {
    const [a, b] = await Promise.all([generateIdentity(), generateIdentity()])
    expect(a.peerId).not.toBe(b.peerId)
  })

  it('rejects bad bytes with InvalidIdentityError', async () => {
    const good = identityToBytes(await generateIdentity())
    for (const bad of [
      new Uint8Array(0),
      Uint8Array.of(1, 2, 3),
      good.subarray(0, good.length - 5),
      new Uint8Array(2048),
      crypto.getRandomValues(new Uint8Array(68)),
    ]) {
      expect(() => identityFromBytes(bad)).toThrow(InvalidIdentityError)
    }
    expect(() => identityFromBytes('key' as unknown as Uint8Array)).toThrow(InvalidIdentityError)
  })

  it('refuses non-Ed25519 keys', async () => {
    const secp = await generateKeyPair('secp256k1')
    expect(() => identityFromBytes(privateKeyToProtobuf(secp))).toThrow(/Ed25519/)
  })
})
