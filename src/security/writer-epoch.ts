/**
 * The writer epoch: the ONE owner of the number that binds this peer's Yjs client id to its peer id
 * (`clientIdFor(peerId, epoch)`, `client-id.ts`). Everything that needs it asks this object: the key-value store
 * (every local entry records it as `e`), gossip (every update message carries it), and security.
 *
 * With a data dir the epoch is chosen and persisted by `persistence/` (reused after a restart when that is safe,
 * `persistence/writer-id.ts`) and read from there. Without one, an epoch is drawn here, whose client id nobody holds
 * yet (in the document or in the client registry), and `doc.clientID` is set to it; when Yjs replaces the client id
 * (a remote update held structs under it), a fresh epoch is drawn on the next read.
 *
 * @module
 */
import * as Y from 'yjs'
import { clientIdFor, newEpoch as drawEpoch } from './client-id.js'
import type { ClientRegistry } from './client-registry.js'

/** Options of {@link createWriterEpoch}. */
export interface WriterEpochInit {
  /** The document (restored from the data dir, if any). */
  doc: Y.Doc
  /** This peer's id. */
  peerId: string
  /** Client ids bound so far; this peer's own binding is added. */
  registry: ClientRegistry
  /** The persisted epoch (data dir): read on every call. Default: none, an epoch is drawn here. */
  persisted?: () => number | undefined
  /** Draws a fresh epoch (a uint32). Default {@link newEpoch} (CSPRNG); simulations pass a seeded one. */
  draw?: () => number
}

/** This peer's writer epoch. */
export interface WriterEpoch {
  /** The epoch now; re-binds the document's client id (without a data dir) if Yjs replaced it. */
  current(): number | undefined
}

/** Creates the owner; without a persisted epoch it draws one and binds `doc.clientID` to it at once. */
export function createWriterEpoch(init: WriterEpochInit): WriterEpoch {
  const { doc, peerId, registry, persisted } = init
  const newEpoch = init.draw ?? drawEpoch
  if (persisted !== undefined) {
    registry.bind(doc.clientID, peerId)
    return { current: persisted }
  }
  let own: number | undefined
  const bind = (): number => {
    // a fresh epoch whose client id nobody holds yet (in the document or in the registry)
    const known = Y.decodeStateVector(Y.encodeStateVector(doc))
    let epoch = newEpoch()
    for (
      let i = 1;
      i < 16 && (known.has(clientIdFor(peerId, epoch)) || registry.owner(clientIdFor(peerId, epoch)) !== undefined);
      i++
    ) {
      epoch = newEpoch()
    }
    doc.clientID = clientIdFor(peerId, epoch)
    registry.bind(doc.clientID, peerId)
    return epoch
  }
  own = bind()
  return {
    current() {
      // Yjs replaces the client id when a remote update holds structs under it; bind a fresh epoch instead
      if (own === undefined || doc.clientID !== clientIdFor(peerId, own)) own = bind()
      return own
    },
  }
}
