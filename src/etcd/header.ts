/**
 * Identities in etcd's terms: the cluster id (from the mesh name: every agent of a mesh answers the same one) and
 * the member id (from the peer id), 64-bit, as decimal strings; and the response header every answer carries.
 * `raft_term` is always 1: there is no Raft, every agent answers from its own replica.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import type { ResponseHeader } from './messages.js'

/** A stable non-zero uint64 (decimal) derived from `text`. */
export function idOf(text: string): string {
  const v = createHash('sha256').update(text).digest().readBigUInt64BE(0)
  return (v === 0n ? 1n : v).toString()
}

/** Builds response headers for one agent. */
export function headerSource(
  meshName: string,
  peerId: string,
  revision: () => number,
): (rev?: number) => ResponseHeader {
  const cluster = idOf(`confmesh-cluster/${meshName}`)
  const member = idOf(peerId)
  return (rev) => ({ cluster_id: cluster, member_id: member, revision: rev ?? revision(), raft_term: '1' })
}
