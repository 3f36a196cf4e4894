/**
 * Peer identities: an Ed25519 libp2p private key and the peer id derived from it. The peer id is what gossipsub's
 * `StrictSign` proves and what {@link clientIdFor | client ids} are bound to.
 *
 * Persist an identity with {@link identityToBytes} (libp2p's private-key protobuf, the format libp2p keychains use)
 * and restore it with {@link identityFromBytes}; keeping the same identity across restarts keeps the same peer id.
 * The bytes are the private key: store them like a password (file mode 0600, secret store).
 *
 * @module
 */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { InvalidIdentityError } from './errors.js'

/** Refuse serialized identities larger than this (an Ed25519 key protobuf is 68 bytes). */
const MAX_IDENTITY_BYTES = 1024

/** A peer identity. */
export interface Identity {
  /** The libp2p peer id (base58btc, `12D3KooW...`) derived from the public key. */
  peerId: string
  /** The Ed25519 private key; pass it to libp2p as `privateKey`. */
  privateKey: Ed25519PrivateKey
}

const fromPrivateKey = (privateKey: Ed25519PrivateKey): Identity => ({
  peerId: peerIdFromPrivateKey(privateKey).toString(),
  privateKey,
})

/** Generate a new random Ed25519 identity. */
export const generateIdentity = async (): Promise<Identity> => fromPrivateKey(await generateKeyPair('Ed25519'))

/**
 * Serialize an identity's private key (libp2p private-key protobuf).
 *
 * @param identity - The identity (or any object with its `privateKey`).
 */
export const identityToBytes = (identity: Pick<Identity, 'privateKey'>): Uint8Array =>
  privateKeyToProtobuf(identity.privateKey)

/**
 * Restore an identity from {@link identityToBytes} output.
 *
 * @throws {@link InvalidIdentityError} if the bytes are not a valid Ed25519 private-key protobuf (other key types are
 *   refused: confmesh identities are Ed25519).
 */
export const identityFromBytes = (bytes: Uint8Array): Identity => {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength === 0 || bytes.byteLength > MAX_IDENTITY_BYTES) {
    throw new InvalidIdentityError('identity must be a non-empty Uint8Array of at most 1 KiB')
  }
  let key: ReturnType<typeof privateKeyFromProtobuf>
  try {
    key = privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new InvalidIdentityError('identity bytes are not a libp2p private key', { cause: err })
  }
  if (key.type !== 'Ed25519') throw new InvalidIdentityError(`identity key must be Ed25519, not ${key.type}`)
  return fromPrivateKey(key)
}
