/**
 * IDONTWANT (gossipsub v1.2) goes out only for messages of 16 KiB and more (`src/transport/libp2p-node.ts`), not from
 * gossipsub's 512 B: a config write's wave outruns the note, so below that size it only cost every peer 2-3 extra
 * frames per write. An observer that speaks gossipsub's wire format by hand (a plain libp2p node with no gossipsub of
 * its own, reading the RPC frames peer B sends it) joins B's mesh for the document topic; peer A writes. B forwards
 * A's write to the observer and, for a write of 16 KiB or more only, says IDONTWANT to it first (on the same stream,
 * so a note would arrive before the write it is about).
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { RPC } from '@libp2p/gossipsub/message'
import { identify } from '@libp2p/identify'
import type { Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ConfigMesh, createMesh } from '../../src/index.js'
import { waitFor } from '../helpers/wait-for.js'

const MESH = 'idontwant'
const DOC_TOPIC = `/confmesh/${MESH}/doc/1`
const MESHSUB = '/meshsub/1.2.0'

let a: ConfigMesh
let b: ConfigMesh
let observer: Libp2p
/** Every RPC frame B sent the observer, in order. */
const received: RPC[] = []

async function readRpcs(stream: Stream): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: 2 * 1024 * 1024 })
  for (;;) received.push(RPC.decode(await lp.read()))
}

/** The write messages (on the document topic) among `rpcs`, with their data sizes. */
const writes = (rpcs: readonly RPC[]): number[] =>
  rpcs.flatMap((r) => r.messages.filter((m) => m.topic === DOC_TOPIC).map((m) => m.data?.byteLength ?? 0))
const idontwants = (rpcs: readonly RPC[]): number =>
  rpcs.reduce((n, r) => n + (r.control?.idontwant.reduce((k, c) => k + c.messageIDs.length, 0) ?? 0), 0)

beforeAll(async () => {
  a = await createMesh({ name: MESH })
  b = await createMesh({ name: MESH, bootstrap: [a.addresses[0]!] })
  await waitFor(() => a.peers().length === 1 && b.peers().length === 1, { message: 'A and B to see each other' })
  observer = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
  })
  await observer.handle(MESHSUB, (stream) => {
    readRpcs(stream).catch(() => {})
  })
  // subscribe to the document topic and GRAFT B into the observer's mesh: B then forwards every write to it
  const out = lpStream(await observer.dialProtocol(multiaddr(b.addresses[0]!), MESHSUB))
  await out.write(
    RPC.encode({
      subscriptions: [{ subscribe: true, topic: DOC_TOPIC }],
      messages: [],
      control: { ihave: [], iwant: [], graft: [{ topicID: DOC_TOPIC }], prune: [], idontwant: [] },
    }),
  )
  // the observer is connected to B only, so a write of A reaches it only through B's mesh
  let n = 0
  await waitFor(
    async () => {
      if (writes(received).length > 0) return true
      await a.set(`probe-${n++}`, 'x')
      return false
    },
    { timeoutMs: 30_000, intervalMs: 100, message: "B to forward A's writes to the observer" },
  )
})

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop(), observer?.stop()])
})

describe('gossipsub IDONTWANT', () => {
  it('is not sent for a write under 16 KiB, though over gossipsub’s 512 B', async () => {
    const from = received.length
    await a.set('medium', 'm'.repeat(2 * 1024))
    await waitFor(() => writes(received.slice(from)).some((size) => size > 2 * 1024), {
      message: 'the 2 KiB write at the observer',
    })
    expect(idontwants(received.slice(from))).toBe(0)
  })

  it('is sent for a write of 16 KiB or more, before the write itself', async () => {
    const from = received.length
    await a.set('large', 'l'.repeat(20 * 1024))
    await waitFor(() => writes(received.slice(from)).some((size) => size > 20 * 1024), {
      message: 'the 20 KiB write at the observer',
    })
    const rpcs = received.slice(from)
    const note = rpcs.findIndex((r) => (r.control?.idontwant.length ?? 0) > 0)
    const write = rpcs.findIndex((r) => r.messages.some((m) => (m.data?.byteLength ?? 0) > 20 * 1024))
    expect(note).toBeGreaterThanOrEqual(0)
    expect(note).toBeLessThan(write)
  })
})
