/**
 * A member that talks to this peer is known within a round trip: a message from a sender the state machine has no
 * record of (its `alive` reached others, not this peer) starts a push-pull with that sender, at most once per few
 * probe periods per sender. Without it such a peer learnt the sender only at the next periodic push-pull (30 s): an
 * in-process mesh of 7 missed a member for the 20 s a test waited.
 */
import { describe, expect, it } from 'vitest'
import { decodeSwimMessage, encodeSwimMessage, encodeUpdate } from '../../../src/membership/swim/codec.js'
import { simMeta } from '../../../src/membership/swim/simulation.js'
import { Swim } from '../../../src/membership/swim/swim.js'

/** A peer started at time 0, its start effects drained. */
function started(id: string, weight: number): Swim {
  const peer = new Swim({ id, meta: simMeta(weight), random: () => 0.5 })
  peer.start(0)
  peer.drain()
  return peer
}

function ping(target: string, seq: number): Uint8Array {
  return encodeSwimMessage({ kind: 'ping', seq, target, updates: [] })
}

describe('SWIM introduction of unknown senders', () => {
  it('a ping from an unknown sender is acked and answered with a push-pull that brings the sender in', () => {
    const [a, b] = [started('a', 1), started('b', 2)]
    // a learns b from b's join push-pull; a's reply is lost, so b does not know a
    b.join(['a'], 1)
    const join = b.drain().sends.find((s) => s.to === 'a' && s.stream)
    expect(join).toBeDefined()
    a.handleMessage('b', join!.bytes, 2)
    a.drain()
    expect(a.members().map((m) => m.id)).toEqual(['b'])
    expect(b.members()).toEqual([])

    b.handleMessage('a', ping('b', 1), 10)
    const fx = b.drain()
    expect(fx.sends.some((s) => s.to === 'a' && !s.stream && decodeSwimMessage(s.bytes).kind === 'ack')).toBe(true)
    const ask = fx.sends.filter((s) => s.to === 'a' && s.stream)
    expect(ask).toHaveLength(1)
    const asked = decodeSwimMessage(ask[0]!.bytes)
    expect(asked.kind === 'push-pull' && !asked.reply).toBe(true)

    a.handleMessage('b', ask[0]!.bytes, 11)
    const reply = a.drain().sends.find((s) => s.to === 'b' && s.stream)
    expect(reply).toBeDefined()
    b.handleMessage('a', reply!.bytes, 12)
    const joined = b
      .drain()
      .events.filter((e) => e.type === 'up')
      .map((e) => e.member.id)
    expect(joined).toEqual(['a'])
    expect(b.members().map((m) => m.id)).toEqual(['a'])

    // known now: no more push-pulls for its pings
    b.handleMessage('a', ping('b', 2), 13)
    expect(b.drain().sends.filter((s) => s.stream)).toEqual([])
  })

  it('asks one unknown sender at most once per four probe periods', () => {
    const b = started('b', 2)
    const period = b.config.probeIntervalMs
    const asks = (at: number): number => {
      b.handleMessage('x', ping('b', at), at)
      return b.drain().sends.filter((s) => s.to === 'x' && s.stream).length
    }
    expect(asks(1)).toBe(1)
    expect(asks(2)).toBe(0)
    expect(asks(1 + 4 * period - 1)).toBe(0)
    expect(asks(1 + 4 * period)).toBe(1)
  })

  it('asks unknown senders at most once per probe period in all', () => {
    const b = started('b', 2)
    const period = b.config.probeIntervalMs
    const asked = (from: string, at: number): number => {
      b.handleMessage(from, ping('b', at), at)
      return b.drain().sends.filter((s) => s.to === from && s.stream).length
    }
    expect(asked('x', 1)).toBe(1)
    expect(asked('y', 2)).toBe(0)
    expect(asked('z', period)).toBe(0)
    expect(asked('z', 1 + period)).toBe(1)
  })

  it('a rumour about a member this peer has no record of is answered with a push-pull with its sender, rarely', () => {
    const [a, b] = [started('a', 1), started('b', 2)]
    a.join(['b'], 1)
    const join = a.drain().sends.find((s) => s.to === 'b' && s.stream)!
    b.handleMessage('a', join.bytes, 2)
    const reply = b.drain().sends.find((s) => s.to === 'a' && s.stream)!
    a.handleMessage('b', reply.bytes, 3)
    a.drain()
    expect(a.members().map((m) => m.id)).toEqual(['b'])
    const period = a.config.probeIntervalMs
    const rumour = (about: string, at: number, departure = false): number => {
      const update = encodeUpdate({
        type: departure ? 'down' : 'suspect',
        id: about,
        incarnation: 0,
        from: departure ? about : 'b',
      })
      a.handleMessage('b', encodeSwimMessage({ kind: 'gossip', updates: [update] }), at)
      return a.drain().sends.filter((s) => s.to === 'b' && s.stream).length
    }
    // while a member's alive may still be on its way (10 probe periods after the first rumour) nobody is asked
    expect(rumour('c', 10)).toBe(0)
    expect(rumour('c', 10 + 10 * period - 1)).toBe(0)
    expect(rumour('c', 10 + 10 * period)).toBe(1)
    expect(a.pushPulls.rumour).toBe(1)
    expect(rumour('d', 11)).toBe(0) // first heard
    expect(rumour('d', 11 + 10 * period)).toBe(0) // at most once per 4 probe periods in all
    expect(rumour('c', 10 + 14 * period)).toBe(0) // c was asked about within a push-pull period
    expect(rumour('d', 10 + 14 * period)).toBe(1)
    expect(rumour('x', 10 + 20 * period, true)).toBe(0) // a departure: nothing to learn
    expect(rumour('x', 10 + 40 * period, true)).toBe(0)
    expect(rumour('b', 10 + 44 * period)).toBe(0) // known
  })

  it('no rumour asks before this peer merged a push-pull answer (its own join brings the table)', () => {
    const [a, b] = [started('a', 1), started('b', 2)]
    // a knows b from b's join request, but has merged no answer of its own
    b.join(['a'], 1)
    a.handleMessage('b', b.drain().sends.find((s) => s.to === 'a' && s.stream)!.bytes, 2)
    a.drain()
    expect(a.members().map((m) => m.id)).toEqual(['b'])
    const update = encodeUpdate({ type: 'suspect', id: 'c', incarnation: 0, from: 'b' })
    for (const at of [10, 10 + 20 * a.config.probeIntervalMs]) {
      a.handleMessage('b', encodeSwimMessage({ kind: 'gossip', updates: [update] }), at)
      a.drain()
    }
    expect(a.pushPulls.rumour).toBe(0)
  })
})
