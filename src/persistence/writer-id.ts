/**
 * Choosing this peer's Yjs writer id (client id) at start. The id is `clientIdFor(peerId, epoch)` (see
 * `src/security/client-id.ts`); the epoch is persisted, so a restart reuses the same id and the document's state
 * vector does not grow by one entry per restart.
 *
 * Reusing an id is safe only if no peer can hold a write of ours that this store lacks: otherwise our next write
 * would reuse a (client, clock) pair already taken by different content, and replicas would diverge for good. The mesh
 * ensures it by never letting a local change leave the process before it is durable (gossip and catch-up wait for
 * `durable()`), so the store always holds at least everything any peer has seen of ours. What it cannot rule out is
 * spelled out in `docs/durability.md` (a data directory restored from an older backup, or copied and run twice).
 *
 * A fresh epoch is drawn when none is stored (a new data directory) and when the stored document has a gap (pending
 * structs): that log lost updates, possibly of ours, so continuing our clock from what is integrated could collide.
 *
 * @module
 */
import { clientIdFor, newEpoch } from '../security/client-id.js'

/** How many fresh epochs to try before accepting a client id that is already in the document. */
const MAX_DRAWS = 16

/** Input of {@link chooseWriter}. */
export interface WriterInput {
  /** This peer's id. */
  peerId: string
  /** The persisted epoch, if any. */
  storedEpoch: number | undefined
  /** The loaded document's state vector (client id -> clock). */
  stateVector: ReadonlyMap<number, number>
  /** Whether the loaded document has pending structs or deletes (a gap in the stored log). */
  hasGap: boolean
  /** Source of fresh epochs. Default {@link newEpoch} (CSPRNG). */
  drawEpoch?: () => number
}

/** The writer id chosen for this run. */
export interface WriterChoice {
  /** The epoch (uint32). */
  epoch: number
  /** The Yjs client id, `clientIdFor(peerId, epoch)`. */
  clientId: number
  /** Whether the stored epoch was reused. */
  reused: boolean
  /**
   * Why a fresh epoch was drawn (`'new'`, `'gap'`, `'replaced'`: peers held more under the old one, `'unverified'`:
   * a local write before the first contact), or `'reused'`.
   */
  reason: 'reused' | 'new' | 'gap' | 'replaced' | 'unverified'
}

/** Reuses the stored epoch when safe, else draws a fresh one whose client id the document does not know yet. */
export function chooseWriter(input: WriterInput): WriterChoice {
  if (input.storedEpoch !== undefined && !input.hasGap) {
    return {
      epoch: input.storedEpoch,
      clientId: clientIdFor(input.peerId, input.storedEpoch),
      reused: true,
      reason: 'reused',
    }
  }
  return freshWriter(input, input.storedEpoch === undefined ? 'new' : 'gap')
}

/** Draws a fresh epoch whose client id is not in `input.stateVector` (best effort after {@link MAX_DRAWS} tries). */
export function freshWriter(
  input: Pick<WriterInput, 'peerId' | 'stateVector' | 'drawEpoch'>,
  reason: WriterChoice['reason'],
): WriterChoice {
  const draw = input.drawEpoch ?? newEpoch
  let epoch = draw()
  for (let i = 1; i < MAX_DRAWS && input.stateVector.has(clientIdFor(input.peerId, epoch)); i++) epoch = draw()
  return { epoch, clientId: clientIdFor(input.peerId, epoch), reused: false, reason }
}
