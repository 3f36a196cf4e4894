/**
 * `Swim.refused`: a member whose dial was refused (nothing listens at its address: its process is gone) is suspected
 * at once, and the suspicion runs at most `refusedSuspicionMs`, however long the regular one would be; a live member
 * still refutes it. `Suspicion.cap` moves a deadline only earlier, and later confirmations do not move it back.
 */
import { describe, expect, it } from 'vitest'
import { encodeSwimMessage, encodeUpdate } from '../../../src/membership/swim/codec.js'
import { suspicionBounds } from '../../../src/membership/swim/config.js'
import type { SwimEvent } from '../../../src/membership/swim/effects.js'
import { simMeta } from '../../../src/membership/swim/simulation.js'
import { Suspicion } from '../../../src/membership/swim/suspicion.js'
import type { Swim } from '../../../src/membership/swim/swim.js'
import { swimPeerHolding } from '../../helpers/swim-peer.js'

const MEMBERS = ['b', 'c', 'd', 'e', 'f', 'g', 'h']

/** A peer holding MEMBERS (incarnation 0), its start effects drained. */
const peer = (): Swim => swimPeerHolding(MEMBERS, new Set(), 0.321)

/** Events of `a` since the last drain, as `type id`. */
function events(a: Swim): string[] {
  return a.drain().events.map((e: SwimEvent) => `${e.type} ${e.member.id}`)
}

const stateOf = (a: Swim, id: string) => a.member(id)?.state

describe('SWIM refused dial', () => {
  it('suspects the member at once and declares it down after refusedSuspicionMs, not the full suspicion', () => {
    const a = peer()
    const { minMs } = suspicionBounds(a.config, MEMBERS.length + 1)
    expect(a.config.refusedSuspicionMs).toBeLessThan(4 * minMs)
    a.refused('c', 10_000)
    expect(events(a)).toContain('suspect c')
    expect(stateOf(a, 'c')).toBe('suspect')
    const due = 10_000 + a.config.refusedSuspicionMs
    a.handleTimer({ kind: 'suspicion', id: 'c', incarnation: 0 }, due - 1)
    expect(stateOf(a, 'c')).toBe('suspect')
    a.handleTimer({ kind: 'suspicion', id: 'c', incarnation: 0 }, due)
    expect(stateOf(a, 'c')).toBe('down')
  })

  it('shortens a suspicion already running, and ignores unknown, down members and itself', () => {
    const a = peer()
    a.refused('zz', 0)
    a.refused('a', 0)
    expect(events(a)).toEqual([])
    // a regular suspicion first (a probe gone unanswered), then the refusal caps it
    a.refused('d', 5_000)
    a.handleTimer({ kind: 'suspicion', id: 'd', incarnation: 0 }, 5_000 + a.config.refusedSuspicionMs)
    expect(stateOf(a, 'd')).toBe('down')
    events(a)
    a.refused('d', 9_000)
    expect(events(a)).toEqual([])
  })

  it('a live member refutes the suspicion (a higher incarnation) and stays', () => {
    const a = peer()
    a.refused('e', 1_000)
    const alive = encodeUpdate({ type: 'alive', id: 'e', incarnation: 1, meta: simMeta(5) })
    a.handleMessage('e', encodeSwimMessage({ kind: 'gossip', updates: [alive] }), 1_500)
    expect(stateOf(a, 'e')).toBe('alive')
    a.handleTimer({ kind: 'suspicion', id: 'e', incarnation: 0 }, 1_000 + a.config.refusedSuspicionMs)
    expect(stateOf(a, 'e')).toBe('alive')
  })
})

describe('Suspicion.cap', () => {
  it('moves the deadline only earlier, and confirmations do not move a capped one back', () => {
    const s = new Suspicion({ incarnation: 0, from: 'x', now: 0, k: 3, minMs: 2_000, maxMs: 8_000 })
    expect(s.deadline).toBe(8_000)
    expect(s.cap(9_000)).toBe(false)
    expect(s.cap(1_000)).toBe(true)
    expect(s.deadline).toBe(1_000)
    expect(s.confirm('y')).toBe(true)
    expect(s.deadline).toBe(1_000)
  })
})
