/**
 * A `down` verdict goes to every member a peer holds a connection to in its next gossip round, once, not to
 * `gossipFanout` random ones: gossip travels over connections, and a peer whose few connections all lead to peers
 * holding many would otherwise receive few copies of it (in the 100-peer fleet one survivor in about two crashes
 * missed them all and dropped the crashed member only when its own suspicion ran out).
 */
import { describe, expect, it } from 'vitest'
import { decodeSwimMessage, encodeSwimMessage, encodeUpdate } from '../../../src/membership/swim/codec.js'
import type { Swim } from '../../../src/membership/swim/swim.js'
import { swimPeerHolding } from '../../helpers/swim-peer.js'

const members = (n: number): string[] => Array.from({ length: n }, (_, i) => `m${String(i).padStart(3, '0')}`)

/** The recipients of gossip messages carrying a `down` about `id`, from one gossip round at `now`. */
function downRecipients(a: Swim, id: string, now: number): string[] {
  a.handleTimer({ kind: 'gossip' }, now)
  const to: string[] = []
  for (const s of a.drain().sends) {
    if (s.stream) continue
    const msg = decodeSwimMessage(s.bytes)
    if (msg.kind === 'gossip' && msg.updates.some((u) => u.type === 'down' && u.id === id)) to.push(s.to)
  }
  return to.sort()
}

/** `a` told by `from` that `id` is down (declared by `from`) at `now`. */
function hearDown(a: Swim, from: string, id: string, now: number): void {
  a.handleMessage(
    from,
    encodeSwimMessage({ kind: 'gossip', updates: [encodeUpdate({ type: 'down', id, incarnation: 0, from })] }),
    now,
  )
  expect(a.member(id)?.state).toBe('down')
  a.drain()
}

describe('SWIM: down verdicts', () => {
  it('go to every connected live member in the next gossip round, once', () => {
    const all = members(30)
    const notConnected = new Set(all.slice(20))
    const a = swimPeerHolding(all, new Set(), 0.321, notConnected)
    hearDown(a, 'm001', 'm005', 1_000)
    const got = new Set(downRecipients(a, 'm005', 1_000 + a.config.gossipIntervalMs))
    // every connected live member (besides the round's gossipFanout random members, which the queue feeds as before)
    for (const id of all.slice(0, 20)) if (id !== 'm005') expect(got.has(id)).toBe(true)
    expect(got.size).toBeLessThanOrEqual(19 + a.config.gossipFanout)
    // the next rounds only piggyback what the queue still holds, on gossipFanout random members
    const later = downRecipients(a, 'm005', 1_000 + 2 * a.config.gossipIntervalMs)
    expect(later.length).toBeLessThanOrEqual(a.config.gossipFanout)
  })

  it('this peer’s own verdict (a suspicion run out) goes out the same way', () => {
    const all = members(16)
    const a = swimPeerHolding(all, new Set(), 0.5)
    a.handleMessage(
      'm002',
      encodeSwimMessage({
        kind: 'gossip',
        updates: [encodeUpdate({ type: 'suspect', id: 'm007', incarnation: 0, from: 'm002' })],
      }),
      1_000,
    )
    a.drain()
    const deadline = 1_000 + 20 * a.config.probeIntervalMs
    a.handleTimer({ kind: 'suspicion', id: 'm007', incarnation: 0 }, deadline)
    expect(a.member('m007')?.state).toBe('down')
    a.drain()
    expect(new Set(downRecipients(a, 'm007', deadline + a.config.gossipIntervalMs))).toEqual(
      new Set(all.filter((id) => id !== 'm007')),
    )
  })

  it('go to at most 64 members when every member counts as connected (a datagram host, the simulation)', () => {
    const a = swimPeerHolding(members(300), new Set(), 0.77)
    hearDown(a, 'm010', 'm020', 1_000)
    const to = new Set(downRecipients(a, 'm020', 1_000 + a.config.gossipIntervalMs))
    expect(to.size).toBeGreaterThanOrEqual(64)
    expect(to.size).toBeLessThanOrEqual(64 + a.config.gossipFanout)
  })
})
