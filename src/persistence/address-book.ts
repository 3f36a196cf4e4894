/**
 * The address book: a bounded list of peers this peer has met, with their dialable addresses, most recently seen
 * first. Persisted as metadata `peer.addresses`, and re-dialled on restart while the peer is alone, so a mesh survives
 * the loss of every bootstrap address it was started with.
 *
 * The book is a cache: an undecodable stored value is dropped (with a warning from the caller), never fatal.
 *
 * @module
 */

/** Default of {@link AddressBookLimits.maxPeers}. */
export const DEFAULT_MAX_REMEMBERED_PEERS = 32
/** Default of {@link AddressBookLimits.maxAddressesPerPeer}. */
export const DEFAULT_MAX_ADDRESSES_PER_PEER = 8
/** Longest address kept. */
const MAX_ADDRESS_LENGTH = 512

/** One remembered peer. */
export interface RememberedPeer {
  /** Peer id. */
  readonly peerId: string
  /** Its multiaddrs, each ending in `/p2p/<peerId>`. */
  readonly addresses: readonly string[]
  /** When it was last seen alive (ms since epoch). */
  readonly seen: number
}

/** Bounds of the book. */
export interface AddressBookLimits {
  /** Peers kept. Default {@link DEFAULT_MAX_REMEMBERED_PEERS}. */
  maxPeers?: number
  /** Addresses kept per peer. Default {@link DEFAULT_MAX_ADDRESSES_PER_PEER}. */
  maxAddressesPerPeer?: number
}

/**
 * Merges peers met (`live`, stamped with their `seen`, default `now`) into `book`: newer sightings replace older ones,
 * the result is sorted by `seen` (newest first), bounded (the peers seen longest ago go first), and never contains
 * `self`.
 */
export function mergeAddressBook(
  book: readonly RememberedPeer[],
  live: ReadonlyArray<{ peerId: string; addresses: readonly string[]; seen?: number }>,
  now: number,
  self: string,
  limits: AddressBookLimits = {},
): RememberedPeer[] {
  const maxPeers = limits.maxPeers ?? DEFAULT_MAX_REMEMBERED_PEERS
  const maxAddrs = limits.maxAddressesPerPeer ?? DEFAULT_MAX_ADDRESSES_PER_PEER
  const byPeer = new Map<string, RememberedPeer>()
  const put = (p: RememberedPeer): void => {
    const addresses = p.addresses
      .filter((a) => a.length <= MAX_ADDRESS_LENGTH && a.endsWith(`/p2p/${p.peerId}`))
      .slice(0, maxAddrs)
    if (p.peerId === self || addresses.length === 0) return
    const old = byPeer.get(p.peerId)
    if (old === undefined || old.seen <= p.seen) byPeer.set(p.peerId, { peerId: p.peerId, addresses, seen: p.seen })
  }
  for (const p of book) put(p)
  for (const p of live) put({ peerId: p.peerId, addresses: p.addresses, seen: Math.min(p.seen ?? now, now) })
  return [...byPeer.values()].sort((a, b) => b.seen - a.seen || (a.peerId < b.peerId ? -1 : 1)).slice(0, maxPeers)
}

/** Every address of the book, most recently seen peers first. */
export function addressesOf(book: readonly RememberedPeer[]): string[] {
  return book.flatMap((p) => p.addresses)
}

/** Encodes a book as JSON bytes. */
export function encodeAddressBook(book: readonly RememberedPeer[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ v: 1, peers: book }))
}

/** Decodes {@link encodeAddressBook} output; throws a `TypeError` on anything else. */
export function decodeAddressBook(bytes: Uint8Array): RememberedPeer[] {
  const parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown
  if (parsed === null || typeof parsed !== 'object' || (parsed as { v?: unknown }).v !== 1) {
    throw new TypeError('not a version-1 address book')
  }
  const peers = (parsed as { peers?: unknown }).peers
  if (!Array.isArray(peers)) throw new TypeError('address book without a peer list')
  const out: RememberedPeer[] = []
  for (const p of peers) {
    if (p === null || typeof p !== 'object') continue
    const { peerId, addresses, seen } = p as Record<string, unknown>
    if (typeof peerId !== 'string' || typeof seen !== 'number' || !Array.isArray(addresses)) continue
    out.push({ peerId, seen, addresses: addresses.filter((a): a is string => typeof a === 'string') })
  }
  return out
}
