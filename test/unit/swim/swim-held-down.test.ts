/**
 * A peer held down by others misses what they gossip meanwhile. Two repairs: gossip rounds still pick a member
 * declared down lately while this peer holds a connection to it (memberlist's `GossipToTheDeadTime`), and a peer
 * that refutes a `down` about itself asks the sender for its table (a push-pull), at most once per few periods.
 */
import { describe, expect, it } from 'vitest'
import { decodeSwimMessage, encodeSwimMessage, encodeUpdate } from '../../../src/membership/swim/codec.js'
import type { Swim } from '../../../src/membership/swim/swim.js'
import { swimPeerHolding } from '../../helpers/swim-peer.js'

const MEMBERS = ['b', 'c', 'd']

/** A message telling `a` that it is down at incarnation 0, declared by `by`. */
const downOfA = (by: string) =>
  encodeSwimMessage({ kind: 'gossip', updates: [encodeUpdate({ type: 'down', id: 'a', incarnation: 0, from: by })] })

/** Push-pulls `a` sent since the last drain, by recipient. */
const pushPullsTo = (a: Swim): string[] =>
  a
    .drain()
    .sends.filter((s) => s.stream)
    .map((s) => s.to)

/** Recipients of gossip rounds run from `from` (ms) every gossip interval for `rounds` rounds. */
function gossipTargets(a: Swim, from: number, rounds: number): Set<string> {
  const to = new Set<string>()
  for (let i = 0; i < rounds; i++) {
    a.handleTimer({ kind: 'gossip' }, from + i * a.config.gossipIntervalMs)
    for (const s of a.drain().sends) if (!s.stream && decodeSwimMessage(s.bytes).kind === 'gossip') to.add(s.to)
  }
  return to
}

/** `a` holding MEMBERS, `b` declared down at `at` by `c`, a rumour queued so that gossip rounds run. */
function withBDown(at: number, disconnected: ReadonlySet<string> = new Set()): Swim {
  const a = swimPeerHolding(MEMBERS, new Set(), 0.321, disconnected)
  a.handleMessage(
    'c',
    encodeSwimMessage({
      kind: 'gossip',
      updates: [encodeUpdate({ type: 'down', id: 'b', incarnation: 0, from: 'c' })],
    }),
    at,
  )
  expect(a.member('b')?.state).toBe('down')
  a.drain()
  return a
}

describe('SWIM: a member held down', () => {
  it('refutes a down about itself and asks the sender for its table, at most once per few periods', () => {
    const a = swimPeerHolding(MEMBERS, new Set(), 0.321)
    a.handleMessage('c', downOfA('d'), 1_000)
    expect(pushPullsTo(a)).toEqual(['c'])
    // told again (at the new incarnation) a period later: no second table yet
    const again = encodeSwimMessage({
      kind: 'gossip',
      updates: [encodeUpdate({ type: 'down', id: 'a', incarnation: 1, from: 'd' })],
    })
    a.handleMessage('b', again, 1_000 + a.config.probeIntervalMs)
    expect(pushPullsTo(a)).toEqual([])
    // held down at an incarnation already refuted (a suspicion refuted too late): asks too, once the limit allows
    a.handleMessage('b', downOfA('d'), 1_000 + 10 * a.config.probeIntervalMs)
    expect(pushPullsTo(a)).toEqual(['b'])
  })

  it('its own departure heard back asks nothing', () => {
    const a = swimPeerHolding(MEMBERS, new Set(), 0.321)
    a.handleMessage('c', downOfA('a'), 1_000)
    expect(pushPullsTo(a)).toEqual([])
  })

  it('a suspicion about itself asks nothing (suspects still hear gossip)', () => {
    const a = swimPeerHolding(MEMBERS, new Set(), 0.321)
    const suspect = encodeSwimMessage({
      kind: 'gossip',
      updates: [encodeUpdate({ type: 'suspect', id: 'a', incarnation: 0, from: 'd' })],
    })
    a.handleMessage('c', suspect, 1_000)
    expect(pushPullsTo(a)).toEqual([])
  })

  it('gossip rounds still pick a member declared down lately while connected to it', () => {
    const a = withBDown(1_000)
    expect(gossipTargets(a, 1_200, 40).has('b')).toBe(true)
  })

  it('but not once the down is older than the gossip-to-the-dead time, nor when not connected', () => {
    const late = withBDown(1_000)
    expect(gossipTargets(late, 1_000 + 15 * late.config.probeIntervalMs, 40).has('b')).toBe(false)
    const gone = withBDown(1_000, new Set(['b']))
    expect(gossipTargets(gone, 1_200, 40).has('b')).toBe(false)
  })
})
