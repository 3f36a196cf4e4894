/**
 * Sequence numbers of benchmark writes. Every write of a cluster's life gets a fresh, increasing number, so warm-up,
 * measured writes and bursts never collide and "seen sequence >= target" means "seen that write or a later one".
 *
 * @module
 */
import type { Cluster } from '../peers/cluster.js'

const sequences = new WeakMap<Cluster, number>()

/**
 * Reserve `count` consecutive sequence numbers.
 *
 * @param cluster - the cluster the writes go to
 * @param count - how many numbers (default 1)
 * @returns the number before the first reserved one: the reserved range is `base + 1 ... base + count`
 */
export function reserveSeq(cluster: Cluster, count = 1): number {
  const base = sequences.get(cluster) ?? 0
  sequences.set(cluster, base + count)
  return base
}
