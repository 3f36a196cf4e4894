import { describe, expect, it } from 'vitest'
import { createMembership, type Membership } from '../../src/membership/membership.js'
import { createSimulatedNetwork } from '../../src/transport/simulated-network.js'
import type { SimulatedTransport } from '../../src/transport/simulated-transport.js'
import { encodeMessage } from '../../src/wire/codec.js'

const TOPIC = '/confmesh/test/members/1'
const QUIET = { debug() {}, info() {}, warn() {}, error() {} }

function member(t: SimulatedTransport): Membership {
  return createMembership({
    transport: t,
    clock: t.clock,
    random: () => t.random.next(),
    topic: TOPIC,
    logger: QUIET,
    weight: 1,
    tags: {},
    seedAddresses: () => [],
    heartbeatMs: 100,
    timeoutMs: 60_000, // far beyond the test: a drop can only be the goodbye
    maxConnections: 16,
  })
}

describe('membership goodbye', () => {
  it('a heartbeat of a run that said goodbye, arriving after the goodbye, does not bring it back', async () => {
    const seed = Number(process.env.CONFMESH_SEED ?? 7)
    console.log(`[membership-goodbye] seed=${seed} (replay with CONFMESH_SEED=${seed})`)
    const net = createSimulatedNetwork({ seed })
    const a = net.addPeer('a')
    const b = net.addPeer('b')
    for (const t of [a, b]) await t.start()
    await net.connect('a', 'b')
    const ma = member(a)
    const mb = member(b)
    await ma.start()
    await mb.start()
    await net.runUntil(() => ma.memberIds().includes('b'), { what: 'a sees b' })
    const startedAt = ma.get('b')?.startedAt
    expect(startedAt).toBeTypeOf('number')
    await mb.stop()
    await net.runUntil(() => !ma.memberIds().includes('b'), { what: 'the goodbye reaches a' })
    // gossip keeps no order across paths: a heartbeat of b's run relayed the long way round arrives now
    const late = { peerId: 'b', addresses: [], weight: 1, tags: {}, startedAt, ready: true, meshSize: 2 }
    await b.publish(TOPIC, encodeMessage({ kind: 'member', body: late }))
    await net.runFor(1_000)
    expect(ma.memberIds()).not.toContain('b')
    // a restarted b (a new run) is welcome at once
    await b.publish(TOPIC, encodeMessage({ kind: 'member', body: { ...late, startedAt: (startedAt ?? 0) + 1 } }))
    await net.runUntil(() => ma.memberIds().includes('b'), { what: 'the new run of b is a member' })
    await ma.stop()
    expect(net.errors).toEqual([])
  })
})
