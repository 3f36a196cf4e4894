/**
 * The SWIM links (`src/membership/swim-links.ts`) on the simulated network, in virtual time: a message to a peer
 * this one is not connected to dials it; when that dial is stuck (into a partition, it waits for the dial timeout
 * even after the heal) and the peer connects to us meanwhile, messages go over that connection at once instead of
 * waiting behind the dial; a message written to a stream whose connection the other side hung up goes out again on a
 * fresh one. Seeded: `CONFMESH_SEED=<n>` replays a run.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { SwimLinks } from '../../src/membership/swim-links.js'
import { seedFromEnv } from '../../src/transport/seeded-random.js'
import { createSimulatedNetwork, type SimulatedNetwork } from '../../src/transport/simulated-network.js'

const SILENT = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }
const seed = seedFromEnv()
const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const dec = (b: Uint8Array): string => new TextDecoder().decode(b)

let network: SimulatedNetwork | undefined
afterEach(() => {
  if (network !== undefined && network.errors.length > 0) throw network.errors[0]
  network = undefined
})

/** Peers `a` and `b` on a fresh simulated network, each with started SWIM links; `got` logs what each received. */
async function twoPeers(): Promise<{
  net: SimulatedNetwork
  got: Record<string, string[]>
  unreachable: Record<string, string[]>
  refused: Record<string, string[]>
  a: SwimLinks
  b: SwimLinks
}> {
  const net = createSimulatedNetwork({ seed, link: { latency: 5 } })
  network = net
  const got: Record<string, string[]> = { a: [], b: [] }
  const unreachable: Record<string, string[]> = { a: [], b: [] }
  const refused: Record<string, string[]> = { a: [], b: [] }
  const links: Record<string, SwimLinks> = {}
  for (const id of ['a', 'b']) {
    const transport = net.addPeer(id)
    await net.settle(transport.start())
    links[id] = new SwimLinks({
      transport,
      protocol: '/confmesh/test/swim/1',
      syncProtocol: '/confmesh/test/swim-sync/1',
      logger: SILENT,
      addressesOf: (peer) => net.peer(peer).addresses(),
      onMessage: (from, bytes) => got[id]!.push(`${from}:${dec(bytes)}`),
      onUnreachable: (peer) => unreachable[id]!.push(peer),
      onRefused: (peer) => refused[id]!.push(peer),
    })
    await net.settle(links[id].start())
  }
  return { net, got, unreachable, refused, a: links.a!, b: links.b! }
}

describe(`SWIM links on the simulated network (seed ${seed})`, () => {
  it('a message waiting for a stuck dial goes over the connection the peer opened to us meanwhile', async () => {
    // Seed 2024 of partition-heal-sim.test.ts: peer 2 dialled peer 5 just before the heal; the dial timed out 3.6 s
    // after the heal, and every ack and "you are held down" of peer 2 to peer 5 waited behind it (and was lost with
    // it), though peer 5 had connected to peer 2 0.8 s after the heal: membership took 4.6 s to converge, not 1.2 s.
    const { net, got, a, b } = await twoPeers()
    net.partition([['a'], ['b']])
    a.send('b', enc('lost with the dial'), false) // dials b: stuck until the dial timeout (5 s)
    await net.runFor(1_000)
    net.heal()
    await net.connect('b', 'a')
    const connectedAt = net.scheduler.now()
    a.send('b', enc('after the heal'), false)
    b.send('a', enc('hello'), false)
    await net.runUntil(() => got.b!.length > 0, { what: 'a message of a reaches b' })
    expect(got.b).toEqual(['a:after the heal'])
    expect(net.scheduler.now() - connectedAt).toBeLessThan(100)
    await net.runFor(5_000)
    expect(a.traffic.dropped, 'the message queued behind the stuck dial was lost with it').toBe(1)
    a.send('b', enc('later'), false)
    await net.runUntil(() => got.b!.length > 1, { what: 'a later message of a reaches b' })
    expect(got.b).toEqual(['a:after the heal', 'a:later'])
    expect(got.a).toEqual(['b:hello'])
    await net.settle(Promise.all([a.stop(), b.stop()]))
  })

  it('a message written to a stream whose connection the member hung up goes out again on a fresh link', async () => {
    // 100 real peers, idle: every false suspicion left was a ping or an ack written to a cached stream whose
    // connection the other side had just closed (an idle probe connection), so it never left and the probe failed.
    const { net, got, a, b } = await twoPeers()
    a.send('b', enc('ping'), false)
    await net.runUntil(() => got.b!.length > 0, { what: 'the ping reaches b' })
    b.send('a', enc('ack'), false) // b's cached link to a, on the connection a opened
    await net.runUntil(() => got.a!.length > 0, { what: 'the ack reaches a' })
    await net.settle(net.peer('a').hangUp('b'))
    await net.runUntil(() => !net.peer('b').isConnected('a'), { what: 'b sees the connection closed' })
    b.send('a', enc('next ping'), false) // written to the cached stream of the closed connection
    await net.runUntil(() => got.a!.length > 1, { what: 'the next ping reaches a' })
    expect(got.a).toEqual(['b:ack', 'b:next ping'])
    expect(b.traffic.dropped).toBe(0)
    await net.settle(Promise.all([a.stop(), b.stop()]))
  })

  it('a push-pull whose dial fails reports the member unreachable; one that gets through does not', async () => {
    const { net, got, unreachable, a, b } = await twoPeers()
    net.partition([['a'], ['b']])
    a.send('b', enc('table'), true) // a wide push-pull: dials b, into the partition
    await net.runUntil(() => unreachable.a!.length > 0, { what: 'b reported unreachable', limitMs: 30_000 })
    expect(unreachable.a).toEqual(['b'])
    net.heal()
    a.send('b', enc('table again'), true)
    await net.runUntil(() => got.b!.length > 0, { what: 'the second push-pull reaches b' })
    expect(got.b).toEqual(['a:table again'])
    expect(unreachable.a).toEqual(['b'])
    await net.settle(Promise.all([a.stop(), b.stop()]))
  })

  it('a dial refused (the member crashed) is reported as refused; one into a partition (a timeout) is not', async () => {
    const { net, unreachable, refused, a } = await twoPeers()
    net.partition([['a'], ['b']])
    a.send('b', enc('ping'), false)
    await net.runFor(6_000) // past the dial timeout
    expect(a.traffic.dropped).toBe(1)
    expect(refused.a).toEqual([])
    net.heal()
    net.crash('b')
    a.send('b', enc('ping'), false) // a probe
    await net.runUntil(() => refused.a!.length > 0, { what: 'the probe dial refused' })
    a.send('b', enc('table'), true) // a push-pull: refused, and unreachable as any failed dial
    await net.runUntil(() => refused.a!.length > 1, { what: 'the push-pull dial refused' })
    expect(refused.a).toEqual(['b', 'b'])
    await net.runUntil(() => unreachable.a!.length > 0, { what: 'b unreachable' })
    expect(unreachable.a).toEqual(['b'])
    await net.settle(a.stop())
  })
})
