/**
 * Binding Yjs client ids to peer identities. Yjs lets every writer choose its client id; confmesh instead derives it
 * from the writer's peer id and an epoch (a random number chosen per process start and sent along with the writer's
 * messages): `clientId = uint32(sha256("<peerId>/<epoch>")[0..4])`, never 0. A receiver that knows who signed an
 * update (gossipsub `StrictSign`) and the epoch in the message can then check, with the update guard's
 * `UpdateInfo.clients`, that every struct is written under a client id that signer may use.
 *
 * Limits: 32 bits are small. Honest collisions are rare but possible (about 1 in 100 with 10,000 ids in one
 * document), and a malicious writer can search epochs (~2^32 hashes, minutes of CPU) for one whose id equals another
 * peer's. Receivers should therefore remember the first (peerId, epoch) seen for each client id and refuse a
 * different binding for it, and a starting peer should draw a new epoch if its id is already in the document's
 * state vector.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto'
import { InvalidClientIdInputError } from './errors.js'

/** Largest epoch (epochs are uint32). */
export const MAX_EPOCH = 0xffff_ffff
/** Longest accepted peer id string. */
const MAX_PEER_ID_LENGTH = 256

const checkInputs = (peerId: string, epoch: number): void => {
  if (typeof peerId !== 'string' || peerId.length === 0 || peerId.length > MAX_PEER_ID_LENGTH) {
    throw new InvalidClientIdInputError('peer id must be a non-empty string of at most 256 characters')
  }
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > MAX_EPOCH) {
    throw new InvalidClientIdInputError(`epoch must be an integer in [0, ${MAX_EPOCH}]`)
  }
}

/**
 * The Yjs client id peer `peerId` uses in `epoch`: the first 4 bytes (big-endian) of SHA-256 of `"<peerId>/<epoch>"`;
 * if those are 0, the next 4 bytes; if also 0, 1. Deterministic: every peer computes the same id.
 *
 * @param peerId - Peer id string (e.g. `12D3KooW...`).
 * @param epoch - Epoch, a uint32 (see {@link newEpoch}).
 * @returns A uint32 in [1, 2^32 - 1].
 * @throws {@link InvalidClientIdInputError} for an empty peer id or an epoch that is not a uint32.
 */
export const clientIdFor = (peerId: string, epoch: number): number => {
  checkInputs(peerId, epoch)
  const input = `${peerId}/${epoch}`
  let id = memo.get(input)
  if (id === undefined) {
    const digest = createHash('sha256').update(input, 'utf8').digest()
    id = digest.readUInt32BE(0) || digest.readUInt32BE(4) || 1
    if (memo.size >= MEMO_SIZE) memo.clear() // bounded: a flood of distinct (peer, epoch) pairs costs hashes, not memory
    memo.set(input, id)
  }
  return id
}

/** Pairs remembered by {@link clientIdFor}: every update checks its authors' ids, a SHA-256 each without the memo. */
const MEMO_SIZE = 4096
const memo = new Map<string, number>()

/** Whether `clientId` is the id `peerId` uses in `epoch` (false for invalid inputs instead of throwing). */
export const isClientIdFor = (clientId: number, peerId: string, epoch: number): boolean => {
  try {
    return clientIdFor(peerId, epoch) === clientId
  } catch {
    return false
  }
}

/** A fresh random epoch (uint32 from the platform CSPRNG). */
export const newEpoch = (): number => randomBytes(4).readUInt32BE(0)
