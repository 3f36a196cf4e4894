/**
 * The peers membership has ever heard from, with the addresses they last announced: what a peer re-dials while it is
 * alone or cut off (partition healing, see `membership.ts`). Bounded: past `maxPeers` the peer heard from longest ago
 * is forgotten first, so a long-lived peer in a mesh with churn (every restart without a data dir is a new peer id)
 * keeps a constant-size list instead of one entry per peer id ever seen.
 *
 * @module
 */

/** Default of {@link KnownPeers} `maxPeers`. */
export const DEFAULT_MAX_KNOWN_PEERS = 1024

/** A peer heard from: its announced addresses and when it was last heard (local clock, ms since epoch). */
export interface KnownPeer {
  readonly peerId: string
  readonly addresses: readonly string[]
  readonly seen: number
}

/** Peers heard from, most recently heard last; at most `maxPeers`. */
export class KnownPeers {
  private readonly byPeer = new Map<string, KnownPeer>()
  private readonly maxPeers: number

  /** @param maxPeers - Peers kept (a positive integer). Default {@link DEFAULT_MAX_KNOWN_PEERS}. */
  constructor(maxPeers: number = DEFAULT_MAX_KNOWN_PEERS) {
    if (!Number.isSafeInteger(maxPeers) || maxPeers < 1) {
      throw new RangeError(`maxPeers must be a positive integer, got ${String(maxPeers)}`)
    }
    this.maxPeers = maxPeers
  }

  /** Records that `peerId` was heard from at `seen`, at `addresses`; forgets the one heard from longest ago when full. */
  see(peerId: string, addresses: readonly string[], seen: number = Date.now()): void {
    this.byPeer.delete(peerId) // re-inserted last: a Map iterates in insertion order, oldest sighting first
    this.byPeer.set(peerId, { peerId, addresses, seen })
    if (this.byPeer.size > this.maxPeers) this.byPeer.delete(this.byPeer.keys().next().value!)
  }

  /** Every address, peers heard from longest ago first. */
  addresses(): string[] {
    return [...this.byPeer.values()].flatMap((p) => p.addresses)
  }

  /** Every peer known, heard from longest ago first. */
  peers(): KnownPeer[] {
    return [...this.byPeer.values()]
  }

  /** Whether `peerId` is known. */
  has(peerId: string): boolean {
    return this.byPeer.has(peerId)
  }

  /** Number of peers known. */
  get size(): number {
    return this.byPeer.size
  }
}
