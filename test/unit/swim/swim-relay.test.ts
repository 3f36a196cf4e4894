/**
 * Indirect probes (ping-req) are relayed only over a connection the relay holds. A relay with none answers `nack`
 * at once instead of dialling the target: in a 100-peer fleet on 2 cores the dials of relays to the slow targets of
 * failed probes (a handshake at both ends per relay per failed probe) were most of what kept a suspicion storm going.
 */
import { describe, expect, it } from 'vitest'
import { decodeSwimMessage, encodeSwimMessage } from '../../../src/membership/swim/codec.js'
import { simMeta } from '../../../src/membership/swim/simulation.js'
import { Swim } from '../../../src/membership/swim/swim.js'

function pingReq(target: string, seq: number, nack: boolean): Uint8Array {
  return encodeSwimMessage({ kind: 'ping-req', seq, target, nack, updates: [] })
}

function relay(connected: ReadonlySet<string>): Swim {
  const r = new Swim({ id: 'r', meta: simMeta(1), random: () => 0.5, connected: (id) => connected.has(id) })
  r.start(0)
  r.drain()
  return r
}

describe('SWIM ping-req relays', () => {
  it('a relay connected to the target pings it and forwards its ack', () => {
    const r = relay(new Set(['p', 't']))
    r.handleMessage('p', pingReq('t', 7, true), 10)
    const fx = r.drain()
    const ping = fx.sends.find((s) => s.to === 't')
    expect(ping && decodeSwimMessage(ping.bytes).kind).toBe('ping')
    // (an unknown sender is also asked for its table, on a stream: not a datagram answer)
    expect(fx.sends.some((s) => s.to === 'p' && !s.stream)).toBe(false)
    const seq = (decodeSwimMessage(ping!.bytes) as { seq: number }).seq
    r.handleMessage('t', encodeSwimMessage({ kind: 'ack', seq, updates: [] }), 20)
    const ack = r.drain().sends.find((s) => s.to === 'p' && !s.stream)
    expect(ack && decodeSwimMessage(ack.bytes)).toMatchObject({ kind: 'ack', seq: 7 })
  })

  it('a relay with no connection to the target does not dial it: it answers nack at once', () => {
    const r = relay(new Set(['p']))
    r.handleMessage('p', pingReq('t', 7, true), 10)
    const fx = r.drain()
    expect(fx.sends.filter((s) => s.to === 't')).toEqual([])
    expect(fx.timers.filter((t) => t.timer.kind === 'relay-timeout')).toEqual([])
    const sends = fx.sends.filter((s) => !s.stream).map((s) => ({ to: s.to, msg: decodeSwimMessage(s.bytes) }))
    expect(sends).toEqual([{ to: 'p', msg: expect.objectContaining({ kind: 'nack', seq: 7 }) }])
  })

  it('without a nack asked for, an unconnected relay sends nothing', () => {
    const r = relay(new Set(['p']))
    r.handleMessage('p', pingReq('t', 7, false), 10)
    expect(r.drain().sends.filter((s) => !s.stream)).toEqual([])
  })
})
