/**
 * A random workload for the simulated network (test/unit/simulated-network.test.ts checks its determinism;
 * bench/simulated-network.ts measures how many seeds per second it runs): 6 peers on lossy, duplicating, reordering
 * links with jittered latency; random publishes and stream exchanges, a partition and its healing, a crash and a
 * restart.
 *
 * @module
 */
import { TransportStoppedError } from '../../src/transport/errors.js'
import { createSimulatedNetwork, type SimulatedNetwork } from '../../src/transport/simulated-network.js'
import type { SimulatedTransport } from '../../src/transport/simulated-transport.js'
import type { TopicMessage } from '../../src/transport/transport.js'

/** The topic every peer of {@link mesh} subscribes. */
export const TOPIC = 't'
const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const dec = (b: Uint8Array): string => new TextDecoder().decode(b)

/** `n` started peers, all subscribed to {@link TOPIC} (recording what they get), connected as `edges` (default: all). */
export async function mesh(network: SimulatedNetwork, n: number, edges?: Array<[number, number]>) {
  const peers: SimulatedTransport[] = []
  const got: TopicMessage[][] = []
  for (let i = 0; i < n; i++) {
    const t = network.addPeer()
    await network.settle(t.start())
    const mine: TopicMessage[] = []
    t.subscribe(TOPIC, { onMessage: (m) => mine.push(m) })
    peers.push(t)
    got.push(mine)
  }
  const pairs = edges ?? peers.flatMap((_, i) => peers.slice(i + 1).map((_, k) => [i, i + 1 + k] as [number, number]))
  for (const [a, b] of pairs) await network.connect(peers[a]!.peerId, peers[b]!.peerId)
  await network.runUntil(() =>
    pairs.every(
      ([a, b]) =>
        peers[a]!.subscribers(TOPIC).includes(peers[b]!.peerId) &&
        peers[b]!.subscribers(TOPIC).includes(peers[a]!.peerId),
    ),
  )
  return { peers, got }
}

/**
 * A random workload over every fault: 6 peers, lossy, duplicating, reordering links with jittered latency; random
 * publishes, streams, a partition and its healing, a crash and a restart. Returns the trace hash and what every
 * peer received, in order.
 */
export async function networkWorkload(runSeed: number): Promise<{ hash: string; received: string[]; events: number }> {
  const network = createSimulatedNetwork({
    seed: runSeed,
    link: { latency: (r) => 1 + 40 * r.next() ** 2, loss: 0.1, duplicate: 0.05, reorder: true },
  })
  const { peers, got } = await mesh(network, 6)
  const rnd = network.random.fork('workload')
  const echo = (p: SimulatedTransport) =>
    p.handle('/echo', async (s) => {
      for (let m = await s.read(); m !== undefined; m = await s.read()) await s.write(m)
      await s.close()
    })
  for (const p of peers) await network.settle(echo(p))
  const streamed: string[] = []
  for (let round = 0; round < 40; round++) {
    const from = rnd.pick(peers.filter((p) => network.peer(p.peerId) === p && p.connections().length >= 0))
    const live = network.peer(from.peerId)
    if (round === 10) network.partition([[peers[0]!.peerId, peers[1]!.peerId, peers[2]!.peerId]])
    if (round === 20) {
      network.heal()
      for (const p of peers.slice(0, 3)) {
        for (const q of peers.slice(3))
          await network.settle(
            network
              .peer(p.peerId)
              .dial(q.addresses())
              .catch(() => ''),
          )
      }
    }
    if (round === 25) network.crash(peers[4]!.peerId)
    if (round === 30) {
      const again = network.restart(peers[4]!.peerId)
      await network.settle(again.start())
      again.subscribe(TOPIC, { onMessage: (m) => got[4]!.push(m) })
      await network.settle(echo(again))
      await network.settle(again.dial(peers[0]!.addresses()))
    }
    try {
      await network.settle(live.publish(TOPIC, enc(`${from.peerId}:${round}`)))
    } catch (err) {
      if (!(err instanceof TransportStoppedError)) throw err
    }
    if (rnd.chance(0.3)) {
      const to = rnd.pick(peers).peerId
      if (to !== from.peerId && live.isConnected(to)) {
        try {
          const s = await network.settle(live.openStream(to, '/echo'))
          await network.settle(s.write(enc(`ping ${round}`)))
          await network.settle(s.close())
          streamed.push(dec((await network.settle(s.read())) ?? new Uint8Array()))
        } catch (err) {
          streamed.push((err as Error).name) // e.g. the remote crashed and we have not noticed yet
        }
      }
    }
    await network.runFor(rnd.int(0, 60))
  }
  await network.runFor(5_000)
  const received = [...got.map((g, i) => `${i}: ${g.map((m) => dec(m.data)).join(' ')}`), streamed.join(' ')]
  return { hash: network.traceHash(), received, events: network.trace.events }
}
