/**
 * The SWIM membership (`src/membership/swim-membership.ts`) on the simulated network, in virtual time: formation,
 * crash drop within the stated bound, restart (the new run refutes its old death and announces its new metadata),
 * partition heal, a metadata change (setWeight) reaching every member, forged records refused, and replay (the same
 * seed gives the same trace). Seeded: `CONFMESH_SEED=<n>` replays a run.
 */
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { createAliveSigner } from '../../src/membership/alive-signer.js'
import { encodeSwimMessage, encodeUpdate } from '../../src/membership/swim/codec.js'
import { crashDropMs, DEFAULT_SWIM_CONFIG } from '../../src/membership/swim/config.js'
import { createSwimMembership, type SwimMembership } from '../../src/membership/swim-membership.js'
import { seedFromEnv } from '../../src/transport/seeded-random.js'
import { createSimulatedNetwork, type SimulatedNetwork } from '../../src/transport/simulated-network.js'

const SILENT = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }
const seed = seedFromEnv()
const address = (id: string): string => `/memory/${id}/p2p/${id}`

interface Peer {
  id: string
  membership: SwimMembership
}

let network: SimulatedNetwork | undefined
afterEach(() => {
  if (network !== undefined && network.errors.length > 0) throw network.errors[0]
  network = undefined
})

async function startPeer(
  net: SimulatedNetwork,
  id: string,
  seeds: string[],
  extra: { weight?: number; key?: PrivateKey; requireSignatures?: boolean } = {},
): Promise<Peer> {
  const transport = net.peers().includes(id) ? net.restart(id) : net.addPeer(id)
  await net.settle(transport.start())
  const membership = createSwimMembership({
    transport,
    clock: transport.clock,
    random: transport.random.next,
    base: '/confmesh/test',
    logger: SILENT,
    weight: extra.weight ?? 1,
    tags: { zone: id.slice(-1) },
    seedAddresses: () => seeds.map(address),
    maxConnections: 64,
    ...(extra.key === undefined ? {} : { signer: createAliveSigner(extra.key) }),
    ...(extra.requireSignatures === undefined ? {} : { requireSignatures: extra.requireSignatures }),
  })
  await net.settle(membership.start())
  return { id, membership }
}

async function startMesh(net: SimulatedNetwork, n: number): Promise<Peer[]> {
  const peers: Peer[] = []
  for (let i = 0; i < n; i++) peers.push(await startPeer(net, `p${i}`, i === 0 ? [] : ['p0']))
  return peers
}

const sees = (p: Peer, ids: string[]): boolean =>
  JSON.stringify(p.membership.memberIds()) === JSON.stringify([...ids].sort())

describe(`SWIM membership on the simulated network (seed ${seed})`, () => {
  it('forms: every peer lists every other with its tags, and the same seed replays the same run', async () => {
    const run = async (): Promise<string> => {
      const net = createSimulatedNetwork({ seed })
      network = net
      const peers = await startMesh(net, 8)
      const ids = peers.map((p) => p.id)
      await net.runUntil(() => peers.every((p) => sees(p, ids)), { what: '8 peers see each other' })
      const p3 = peers[0]!.membership.get('p3')!
      expect(p3.tags).toEqual({ zone: '3' })
      expect(p3.addresses).toEqual([address('p3')])
      await net.runFor(5_000)
      for (const p of peers) expect(sees(p, ids)).toBe(true)
      return net.traceHash()
    }
    const first = await run()
    expect(await run()).toBe(first)
  })

  it('drops a crashed peer everywhere within the stated bound, and a restarted one refutes and comes back', async () => {
    const net = createSimulatedNetwork({ seed })
    network = net
    const peers = await startMesh(net, 10)
    const ids = peers.map((p) => p.id)
    await net.runUntil(() => peers.every((p) => sees(p, ids)), { what: '10 peers see each other' })
    const before = peers[0]!.membership.get('p4')!.startedAt
    net.crash('p4')
    const rest = peers.filter((p) => p.id !== 'p4')
    const crashedAt = net.scheduler.now()
    const restIds = ids.filter((id) => id !== 'p4')
    await net.runUntil(() => rest.every((p) => sees(p, restIds)), { what: 'p4 dropped everywhere' })
    const took = Math.round(net.scheduler.now() - crashedAt)
    // a crash closes the peer's connections (one latency later here), so its neighbours probe it next period
    const bound = crashDropMs(DEFAULT_SWIM_CONFIG, 10)
    console.log(
      `[swim-membership] crash dropped everywhere in ${took} ms (expected ${bound.expectedMs}, bound ${bound.boundMs})`,
    )
    expect(took).toBeLessThanOrEqual(bound.boundMs)
    await net.runFor(1_000)
    const back = await startPeer(net, 'p4', ['p0'])
    const all = [...rest, back]
    await net.runUntil(() => all.every((p) => sees(p, ids)), { what: 'the restarted p4 on every peer' })
    await net.runUntil(() => rest.every((p) => p.membership.get('p4')!.startedAt > before), {
      what: 'the new run of p4 everywhere',
    })
  })

  it('a partition drops the other side; after the heal every peer sees everyone again', async () => {
    const net = createSimulatedNetwork({ seed })
    network = net
    const peers = await startMesh(net, 8)
    const ids = peers.map((p) => p.id)
    await net.runUntil(() => peers.every((p) => sees(p, ids)), { what: 'formed' })
    const a = ids.slice(0, 5)
    const b = ids.slice(5)
    net.partition([a, b])
    await net.runUntil(() => peers.every((p) => sees(p, a.includes(p.id) ? a : b)), {
      what: 'each side holds only itself',
      limitMs: 120_000,
    })
    net.heal()
    await net.runUntil(() => peers.every((p) => sees(p, ids)), { what: 'healed', limitMs: 120_000 })
  })

  it('setWeight reaches every member as an update', async () => {
    const net = createSimulatedNetwork({ seed })
    network = net
    const peers = await startMesh(net, 6)
    const ids = peers.map((p) => p.id)
    await net.runUntil(() => peers.every((p) => sees(p, ids)), { what: 'formed' })
    const updates: string[] = []
    for (const p of peers.slice(1)) p.membership.addEventListener('update', (e) => updates.push(e.detail.peerId))
    peers[0]!.membership.setWeight(3)
    await net.runUntil(() => peers.slice(1).every((p) => p.membership.get('p0')!.weight === 3), {
      what: 'weight 3 everywhere',
    })
    expect(updates.filter((id) => id === 'p0').length).toBe(5)
  })

  it('with signatures required, a record about another member that it did not sign is refused', async () => {
    const net = createSimulatedNetwork({ seed })
    network = net
    const keys = await Promise.all(
      [1, 2, 3].map((i) => generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(i + (seed % 200)))),
    )
    const ids = keys.map((k) => peerIdFromPrivateKey(k).toString())
    const peers: Peer[] = []
    for (const [i, key] of keys.entries()) {
      peers.push(await startPeer(net, ids[i]!, i === 0 ? [] : [ids[0]!], { key, requireSignatures: true }))
    }
    await net.runUntil(() => peers.every((p) => sees(p, ids)), { what: 'signed peers formed' })
    // peer 1 forges peer 2's record (weight 99, a higher incarnation) and sends it to peer 0 over its own stream
    const forged = encodeUpdate({
      type: 'alive',
      id: ids[2]!,
      incarnation: 50,
      meta: { weight: 99, tags: {}, addresses: [], ready: true, startedAt: 1 },
      signature: new Uint8Array(64),
    })
    const stream = await net.settle(net.peer(ids[1]!).openStream(ids[0]!, '/confmesh/test/swim/1'))
    await net.settle(stream.write(encodeSwimMessage({ kind: 'gossip', updates: [forged] })))
    await net.runFor(2_000)
    expect(peers[0]!.membership.get(ids[2]!)!.weight).toBe(1)
    // a genuine change still spreads
    peers[2]!.membership.setWeight(2)
    await net.runUntil(() => peers[0]!.membership.get(ids[2]!)!.weight === 2, { what: 'the signed change' })
  })
})
