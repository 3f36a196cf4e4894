/**
 * Both implementations of the transport seam pass the same acceptance suite: libp2p over real TCP on 127.0.0.1
 * (confmesh's own node configuration, `createNode`) and the simulated network on virtual time (seeded; the seed is
 * printed and `CONFMESH_SEED` replays it).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createSimulatedHarness } from '../../src/testing/simulated-harness.js'
import { runTransportAcceptance, type TransportHarness } from '../../src/testing/transport-acceptance.js'
import { createNode } from '../../src/transport/libp2p-node.js'
import { createLibp2pTransport } from '../../src/transport/libp2p-transport.js'
import { seedFromEnv } from '../../src/transport/seeded-random.js'
import type { Transport } from '../../src/transport/transport.js'

const api = { describe, it, expect, beforeEach, afterEach }

/** Polls `condition` every 10 ms; fails naming `what` after `deadlineMs` (generous: the machine may be loaded). */
async function pollUntil(
  condition: () => boolean,
  what: string,
  deadlineMs = 30_000,
  retry?: () => unknown,
  everyMs = 250,
) {
  const start = Date.now()
  let nextRetry = 0
  while (!condition()) {
    if (Date.now() - start > deadlineMs) throw new Error(`timed out waiting for: ${what}`)
    if (retry !== undefined && Date.now() >= nextRetry) {
      nextRetry = Date.now() + everyMs
      await retry()
    }
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

async function libp2pHarness(peers: number): Promise<TransportHarness> {
  const transports: Transport[] = []
  for (let i = 0; i < peers; i++) {
    const node = await createNode({
      listen: ['/ip4/127.0.0.1/tcp/0'],
      bootstrap: [],
      privateKey: await generateKeyPair('Ed25519'),
    })
    transports.push(createLibp2pTransport({ node }))
  }
  for (const [i, t] of transports.entries()) {
    for (const other of transports.slice(i + 1)) await t.dial(other.addresses())
  }
  await pollUntil(
    () => transports.every((t) => t.connections().length === peers - 1),
    'every libp2p node connected to every other',
  )
  return {
    transports,
    until: (condition, what, options) => pollUntil(condition, what, 30_000, options?.retry, options?.everyMs),
    settle: (promise) => promise,
    async teardown() {
      await Promise.all(transports.map((t) => t.stop()))
    },
  }
}

runTransportAcceptance('libp2p (TCP on 127.0.0.1)', libp2pHarness, api)

const seed = seedFromEnv()
console.log(`transport acceptance on the simulated network: seed ${seed} (replay: CONFMESH_SEED=${seed})`)
runTransportAcceptance('simulated network', (n) => createSimulatedHarness(n, { seed }), api)
runTransportAcceptance(
  'simulated network with jittered latency and reordering',
  (n) => createSimulatedHarness(n, { seed, link: { latency: { minMs: 0, maxMs: 80 }, reorder: true } }),
  api,
)
