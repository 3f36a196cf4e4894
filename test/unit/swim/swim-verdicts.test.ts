/**
 * A `down` verdict about a member whose dial a peer saw refused (its process is gone) goes, in that peer's next
 * gossip round, to every member it holds a connection to, once, not to `gossipFanout` random ones: gossip travels
 * over connections, and a peer whose few connections all lead to peers holding many would otherwise receive few
 * copies of it (in the 100-peer fleet one survivor in about two crashes missed them all and dropped the crashed member
 * only when its own suspicion ran out). Verdicts from timeouts (partitions, silent hosts, stale rumours) spread by the
 * queue alone.
 */
import { describe, expect, it } from 'vitest'
import { decodeSwimMessage, encodeSwimMessage, encodeUpdate } from '../../../src/membership/swim/codec.js'
import type { Swim } from '../../../src/membership/swim/swim.js'
import { swimPeerHolding } from '../../helpers/swim-peer.js'

const members = (n: number): string[] => Array.from({ length: n }, (_, i) => `m${String(i).padStart(3, '0')}`)

/** The distinct recipients of gossip messages carrying a `down` about `id`, from one gossip round at `now`. */
function downRecipients(a: Swim, id: string, now: number): Set<string> {
  a.handleTimer({ kind: 'gossip' }, now)
  const to = new Set<string>()
  for (const s of a.drain().sends) {
    if (s.stream) continue
    const msg = decodeSwimMessage(s.bytes)
    if (msg.kind === 'gossip' && msg.updates.some((u) => u.type === 'down' && u.id === id)) to.add(s.to)
  }
  return to
}

/** `a` told by `from` at `now` that `id` is down at `incarnation` (declared by `from`). */
function hearDown(a: Swim, from: string, id: string, now: number, incarnation = 0): void {
  const down = encodeUpdate({ type: 'down', id, incarnation, from })
  a.handleMessage(from, encodeSwimMessage({ kind: 'gossip', updates: [down] }), now)
  expect(a.member(id)?.state).toBe('down')
  a.drain()
}

describe('SWIM: down verdicts after a refused dial', () => {
  it('go to every connected live member in the next gossip round, once', () => {
    const all = members(30)
    const notConnected = new Set(all.slice(20))
    const a = swimPeerHolding(all, new Set(), 0.321, notConnected)
    a.refused('m005', 900)
    a.drain()
    hearDown(a, 'm001', 'm005', 1_000)
    const got = downRecipients(a, 'm005', 1_000 + a.config.gossipIntervalMs)
    // every connected live member (besides the round's gossipFanout random members, which the queue feeds as before)
    for (const id of all.slice(0, 20)) if (id !== 'm005') expect(got.has(id)).toBe(true)
    expect(got.size).toBeLessThanOrEqual(19 + a.config.gossipFanout)
    // the next rounds only piggyback what the queue still holds, on gossipFanout random members
    expect(downRecipients(a, 'm005', 1_000 + 2 * a.config.gossipIntervalMs).size).toBeLessThanOrEqual(
      a.config.gossipFanout,
    )
  })

  it('this peer’s own verdict (its refused suspicion run out) goes out the same way', () => {
    const all = members(16)
    const a = swimPeerHolding(all, new Set(), 0.5)
    a.refused('m007', 1_000)
    a.drain()
    const deadline = 1_000 + a.config.refusedSuspicionMs
    a.handleTimer({ kind: 'suspicion', id: 'm007', incarnation: 0 }, deadline)
    expect(a.member('m007')?.state).toBe('down')
    a.drain()
    expect(downRecipients(a, 'm007', deadline + a.config.gossipIntervalMs)).toEqual(
      new Set(all.filter((id) => id !== 'm007')),
    )
  })

  it('not without a refused dial here (a timeout, a stale rumour after a heal): the queue spreads it', () => {
    const a = swimPeerHolding(members(30), new Set(), 0.321)
    hearDown(a, 'm001', 'm005', 1_000)
    expect(downRecipients(a, 'm005', 1_000 + a.config.gossipIntervalMs).size).toBeLessThanOrEqual(a.config.gossipFanout)
  })

  it('not when the member refuted since the refused dial (a stale address)', () => {
    const a = swimPeerHolding(members(30), new Set(), 0.321)
    a.refused('m005', 900)
    const alive = encodeUpdate({ type: 'alive', id: 'm005', incarnation: 1, meta: a.member('m005')!.meta })
    a.handleMessage('m005', encodeSwimMessage({ kind: 'gossip', updates: [alive] }), 950)
    expect(a.member('m005')?.state).toBe('alive')
    a.drain()
    hearDown(a, 'm001', 'm005', 1_000, 1)
    expect(downRecipients(a, 'm005', 1_000 + a.config.gossipIntervalMs).size).toBeLessThanOrEqual(a.config.gossipFanout)
  })

  it('go to at most 64 members when every member counts as connected (a datagram host)', () => {
    const a = swimPeerHolding(members(300), new Set(), 0.77)
    a.refused('m020', 900)
    a.drain()
    hearDown(a, 'm010', 'm020', 1_000)
    const to = downRecipients(a, 'm020', 1_000 + a.config.gossipIntervalMs)
    expect(to.size).toBeGreaterThanOrEqual(64)
    expect(to.size).toBeLessThanOrEqual(64 + a.config.gossipFanout)
  })
})
