/**
 * Lifeguard's local health from the host's own stalls: a timer that fires over a quarter of the current (scaled)
 * probe timeout late raises the score by one, at most once per current probe period, and every acked probe lowers it again.
 * In 40 SWIM peers sharing half a core, missing this kept a storm of false suspicions going after the mesh formed
 * (3-5 suspicion events per peer per second, each refuted and gossiped to all); with it the storm ended as the peers
 * formed (bench/RESULTS.md "Formation").
 */
import { describe, expect, it } from 'vitest'
import { decodeSwimMessage, encodeSwimMessage } from '../../../src/membership/swim/codec.js'
import { simMeta } from '../../../src/membership/swim/simulation.js'
import { Swim } from '../../../src/membership/swim/swim.js'

describe('SWIM local health from stalls', () => {
  it('a stall over a quarter of the scaled probe timeout raises the score once per scaled period; acked probes lower it', () => {
    const a = new Swim({ id: 'a', meta: simMeta(1), random: () => 0.5 })
    a.start(0)
    a.restore([{ type: 'alive', id: 'b', incarnation: 0, meta: simMeta(2) }], 0)
    a.drain()
    const { probeTimeoutMs, probeIntervalMs } = a.config
    a.noteStall(probeTimeoutMs / 4, 10)
    expect(a.healthScore).toBe(0)
    a.noteStall(probeTimeoutMs / 4 + 1, 20)
    expect(a.healthScore).toBe(1)
    // at score 1 the probe period and timeout are doubled: so are the rate limit and the threshold, and the score
    // settles where the (scaled) probe timeout outlasts about four stalls
    a.noteStall(5_000, 20 + 2 * probeIntervalMs - 1)
    expect(a.healthScore).toBe(1)
    a.noteStall(probeTimeoutMs / 2, 20 + 2 * probeIntervalMs)
    expect(a.healthScore).toBe(1)
    a.noteStall(probeTimeoutMs / 2 + 1, 20 + 2 * probeIntervalMs)
    expect(a.healthScore).toBe(2)
    // a stalled peer probes less often: period and timeout scale with score + 1
    a.handleTimer({ kind: 'probe' }, 1_000)
    const fx = a.drain()
    const ping = fx.sends.find((s) => decodeSwimMessage(s.bytes).kind === 'ping')
    expect(ping?.to).toBe('b')
    expect(fx.timers.map((t) => [t.timer.kind, t.at - 1_000])).toEqual(
      expect.arrayContaining([
        ['probe', 3 * probeIntervalMs],
        ['probe-timeout', 3 * probeTimeoutMs],
      ]),
    )
    // b acks: the probe ends well, the score falls by one
    const seq = (decodeSwimMessage(ping!.bytes) as { seq: number }).seq
    a.handleMessage('b', encodeSwimMessage({ kind: 'ack', seq, updates: [] }), 1_010)
    // the probe ends when the next period starts
    const next = fx.timers.find((t) => t.timer.kind === 'probe')!
    a.handleTimer(next.timer, next.at)
    expect(a.healthScore).toBe(1)
  })
})
