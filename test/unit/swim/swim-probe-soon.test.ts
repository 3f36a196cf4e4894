/**
 * `Swim.probeSoon`: a member whose connection closed without a goodbye is probed in the next protocol period, ahead
 * of the round-robin order, so a crashed process's neighbours start probing it within a period (half on average)
 * instead of when their round-robin reaches it. Still one probe per period; members that cannot be probed are
 * skipped.
 */
import { describe, expect, it } from 'vitest'
import { decodeSwimMessage } from '../../../src/membership/swim/codec.js'
import type { Swim } from '../../../src/membership/swim/swim.js'
import { swimPeerHolding } from '../../helpers/swim-peer.js'

const MEMBERS = ['b', 'c', 'd', 'e', 'f', 'g', 'h']

/** A peer holding MEMBERS, reachable unless in `unreachable`, its start effects drained. */
const peer = (unreachable: ReadonlySet<string> = new Set()): Swim => swimPeerHolding(MEMBERS, unreachable)

/** Fires one probe period at `now` and returns whom this peer pinged. */
function period(a: Swim, now: number): string[] {
  a.handleTimer({ kind: 'probe' }, now)
  return a
    .drain()
    .sends.filter((s) => !s.stream && decodeSwimMessage(s.bytes).kind === 'ping')
    .map((s) => s.to)
}

describe('SWIM probeSoon', () => {
  it('probes the member next period, ahead of the round-robin order, then resumes the order', () => {
    const plain = peer()
    const order = [1, 2, 3].flatMap((i) => period(plain, i * 1_000))
    const last = MEMBERS.find((m) => !order.includes(m))!
    const a = peer()
    a.probeSoon(last)
    expect(period(a, 1_000)).toEqual([last])
    // the round-robin goes on where it was (the early probe took no one's turn away)
    expect([2, 3, 4].flatMap((i) => period(a, i * 1_000))).toEqual(order)
  })

  it('probes several such members one per period, oldest first, each once', () => {
    const a = peer()
    a.probeSoon('g')
    a.probeSoon('c')
    a.probeSoon('g')
    expect(period(a, 1_000)).toEqual(['g'])
    expect(period(a, 2_000)).toEqual(['c'])
    expect(period(a, 3_000)).toHaveLength(1)
  })

  it('skips members it cannot probe: unknown, itself, unreachable', () => {
    const a = peer(new Set(['d']))
    a.probeSoon('zz')
    a.probeSoon('a')
    a.probeSoon('d')
    const [to] = period(a, 1_000)
    expect(to).toBeDefined()
    expect(['zz', 'a', 'd']).not.toContain(to)
  })
})
