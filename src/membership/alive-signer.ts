/**
 * Signatures of SWIM `alive` records with the peer's own libp2p key (Ed25519), so that a member's weight, tags,
 * addresses and readiness, relayed by third parties, cannot be forged for it: only the holder of the key behind a
 * peer id can sign a record about that peer id. Verification takes the public key from the peer id itself (Ed25519
 * peer ids inline their key), so nothing is exchanged beforehand. Signing and checking are synchronous (Node's
 * Ed25519); public keys are cached (bounded).
 *
 * @module
 */
import type { PrivateKey, PublicKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { AliveSigner } from './swim-membership.js'

/** Public keys remembered at most (one per member seen). */
const MAX_CACHED_KEYS = 16_384

/** A signer for the peer holding `privateKey`. */
export function createAliveSigner(privateKey: PrivateKey): AliveSigner {
  const keys = new Map<string, PublicKey | null>()
  const publicKeyOf = (peerId: string): PublicKey | null => {
    let key = keys.get(peerId)
    if (key === undefined) {
      try {
        key = peerIdFromString(peerId).publicKey ?? null
      } catch {
        key = null
      }
      if (keys.size >= MAX_CACHED_KEYS) keys.clear()
      keys.set(peerId, key)
    }
    return key
  }
  return {
    sign(bytes) {
      const signature = privateKey.sign(bytes)
      if (signature instanceof Promise) throw new TypeError('the peer key signs asynchronously; SWIM needs Ed25519')
      return signature
    },
    verify(peerId, bytes, signature) {
      const ok = publicKeyOf(peerId)?.verify(bytes, signature)
      return ok === true
    },
  }
}
