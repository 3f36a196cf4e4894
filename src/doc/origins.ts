/**
 * Transaction origins: who caused a change of the document. Everything that listens to the document (gossip publishes
 * local changes only, persistence appends everything but the load itself, versions record local writes) decides by
 * these, so they are defined in one place.
 *
 * @module
 */

/** Transaction origin of writes made through this replica's API. */
export const LOCAL_ORIGIN: unique symbol = Symbol('confmesh:local')
/** Transaction origin of this replica's garbage collection of losing entries. */
export const CLEANUP_ORIGIN: unique symbol = Symbol('confmesh:cleanup')
/** Transaction origin of the restore from this peer's own storage (not published, not appended again). */
export const STORAGE_ORIGIN: unique symbol = Symbol('confmesh:storage')

/** Where an update came from. */
export interface UpdateContext {
  /** Peer id that sent (gossip: published) the update; this peer's own id for `storage`. */
  from: string
  /** The channel it came through. */
  via: 'gossip' | 'sync' | 'storage'
  /** Gossip: the publisher's writer epoch from the message header (binds its Yjs client id, `security/`). */
  epoch?: number
}

/** Transaction origin of updates applied by the ingest pipeline from the network. */
export interface RemoteOrigin {
  readonly remote: true
  readonly context: UpdateContext
}

/** Whether a transaction origin is a {@link RemoteOrigin}. */
export function isRemoteOrigin(origin: unknown): origin is RemoteOrigin {
  return (origin as Partial<RemoteOrigin> | null)?.remote === true
}
