/**
 * Which peer each Yjs client id belongs to, as this replica has seen it: the first binding wins. `clientIdFor` maps
 * (peer id, epoch) to 32 bits, so a writer willing to hash ~2^32 epochs can find one whose client id equals another
 * peer's; the binding check alone would then accept its structs under that id. With the registry, a client id already
 * bound to one peer is refused for any other (`UnauthorizedUpdateError`), so such a collision can only take ids this
 * replica has never seen (e.g. ones whose every entry was garbage-collected before it joined).
 *
 * Built from the document at start (every live entry whose client id is bound to its author), then extended by every
 * accepted update. In memory only.
 *
 * @module
 */
import * as Y from 'yjs'
import { asRecord, authorOf, ENTRIES_ROOT } from '../doc/entry.js'
import { clientIdFor } from './client-id.js'

/** Client id -> peer id, first binding wins. */
export interface ClientRegistry {
  /** The peer `client` is bound to, if known. */
  owner(client: number): string | undefined
  /** Binds `client` to `peerId` unless it is bound already. */
  bind(client: number, peerId: string): void
  /** Number of bound client ids. */
  readonly size: number
}

/** Creates an empty registry. */
export function createClientRegistry(): ClientRegistry {
  const owners = new Map<number, string>()
  return {
    owner: (client) => owners.get(client),
    bind: (client, peerId) => {
      if (!owners.has(client)) owners.set(client, peerId)
    },
    get size() {
      return owners.size
    },
  }
}

/**
 * Binds the client ids of `doc`'s live entries (root array `root`) to their authors, where `clientIdFor(a, e)` equals
 * the entry's client id (one hash per distinct author and epoch).
 */
export function registerDocument(registry: ClientRegistry, doc: Y.Doc, root = ENTRIES_ROOT): void {
  const checked = new Map<string, number>()
  for (let item = doc.getArray(root)._start; item !== null; item = item.right) {
    if (item.deleted || !(item.content instanceof Y.ContentAny)) continue
    for (const el of item.content.arr) {
      const r = asRecord(el)
      if (r === undefined) continue
      const { a, e } = authorOf(r)
      if (typeof a !== 'string' || typeof e !== 'number') continue
      const key = `${a}/${e}`
      let client = checked.get(key)
      if (client === undefined) {
        try {
          client = clientIdFor(a, e)
        } catch {
          client = -1
        }
        checked.set(key, client)
      }
      if (client === item.id.client) registry.bind(client, a)
    }
  }
}
