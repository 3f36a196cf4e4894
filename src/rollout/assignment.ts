/**
 * Who is in a rollout's group: a pure function of the replicated rollout record, the peer's id and its tags. So every
 * peer computes the same group for every member, and a restarted peer (same identity, same tags) is in the same group.
 *
 * A peer is in when it is listed, when its tags include every pair of one of the record's tag selectors, or when its
 * bucket falls under the percent. The bucket is the first 32 bits of SHA-256(rollout id, peer id) scaled to
 * [0, 100): uniform and independent per rollout, so a given peer is not always among the first 10 %. Widening (a higher
 * percent, more selectors or peers) only adds peers: whoever was in stays in.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import type { RolloutRecord } from './record.js'

/** The peer's bucket in rollout `id`: a number in [0, 100), stable for (id, peer). */
export function rolloutBucket(id: string, peerId: string): number {
  const digest = createHash('sha256').update(`confmesh-rollout\u0000${id}\u0000${peerId}`).digest()
  return (digest.readUInt32BE(0) / 2 ** 32) * 100
}

/** Whether the peer (`peerId` with `tags`) is in the group of rollout `id`. */
export function inRollout(
  id: string,
  record: Pick<RolloutRecord, 'percent' | 'tags' | 'peers'>,
  peerId: string,
  tags: Readonly<Record<string, string>>,
): boolean {
  if (record.peers.includes(peerId)) return true
  for (const selector of record.tags) {
    const pairs = Object.entries(selector)
    if (pairs.length > 0 && pairs.every(([k, v]) => tags[k] === v)) return true
  }
  return record.percent > 0 && rolloutBucket(id, peerId) < record.percent
}
