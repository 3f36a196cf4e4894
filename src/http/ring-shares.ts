/**
 * Members' shares of the key space, for `GET /v1/ring`: the fraction of {@link SHARE_SAMPLE_KEYS} fixed keys each
 * member owns (`ring.ownerOf`, what every peer computes alike), with its weight. The ring exposes owners, not point
 * positions, so the share is measured on a fixed sample (standard error under 0.8 points); it is computed once per
 * ring version and cached, so a request costs nothing while the members stay.
 *
 * @module
 */
import type { MeshRing } from '../ring/mesh-ring.js'

/** Keys sampled per ring version. */
export const SHARE_SAMPLE_KEYS = 4096

/** One member's part of the ring. */
export interface RingShare {
  readonly peerId: string
  /** Its capacity weight. */
  readonly weight: number
  /** Fraction (0..1) of the sampled keys it owns; the shares sum to 1. */
  readonly share: number
}

/** Returns a function giving the current shares of `ring`'s members, sorted by peer id. */
export function createRingShares(ring: MeshRing): () => RingShare[] {
  let cached: { version: number; shares: RingShare[] } | undefined
  return () => {
    if (cached?.version === ring.version) return cached.shares
    const version = ring.version
    const owned = new Map<string, number>()
    for (let i = 0; i < SHARE_SAMPLE_KEYS; i++) {
      const owner = ring.ownerOf(`share-sample/${i}`, 1)[0]
      if (owner !== undefined) owned.set(owner, (owned.get(owner) ?? 0) + 1)
    }
    const shares = ring.members().map((peerId) => ({
      peerId,
      weight: ring.weightOf(peerId) ?? 1,
      share: (owned.get(peerId) ?? 0) / SHARE_SAMPLE_KEYS,
    }))
    cached = { version, shares }
    return shares
  }
}
