/**
 * `confmesh/testing`: what you need to test code that runs on a mesh, without sockets, and to check your own
 * implementations of confmesh's seams.
 *
 * - The simulated network ({@link createSimulatedNetwork}): seeded, on virtual time, with per-link latency, loss,
 *   duplication, reordering, partitions, crashes and restarts; the same seed replays the same run event for event
 *   ({@link SimulatedNetwork.traceHash}).
 * - {@link createSimulatedHarness}: N connected peers on it, ready to use.
 * - The acceptance suites of the seams: {@link runTransportAcceptance} and {@link runStorageAcceptance}. They register
 *   tests with the test functions you pass (vitest's or a compatible runner's): confmesh never imports a test runner.
 *
 * @example
 * ```ts
 * import { afterEach, beforeEach, describe, expect, it } from 'vitest'
 * import { createSimulatedHarness, runTransportAcceptance, seedFromEnv } from 'confmesh/testing'
 *
 * const seed = seedFromEnv() // CONFMESH_SEED=<n> replays a run
 * console.log(`seed ${seed}`)
 * runTransportAcceptance('simulated', (n) => createSimulatedHarness(n, { seed }), {
 *   describe, it, expect, beforeEach, afterEach,
 * })
 *
 * it('gossip survives 20 % loss', async () => {
 *   const h = await createSimulatedHarness(5, { seed, link: { loss: 0.2, latency: { minMs: 5, maxMs: 50 } } })
 *   // ... subscribe, publish, then: await h.until(() => everyoneGotIt(), 'everyone got it')
 *   console.log(h.network.traceHash())
 * })
 * ```
 *
 * @packageDocumentation
 */
export type { Clock, Random, TimerHandle } from '../clock.js'
export { systemClock } from '../clock.js'
export * from '../transport/errors.js'
export { DEFAULT_LINK_MODEL, type LatencyModel, type LinkModel } from '../transport/link-model.js'
export { createSeededRandom, hash32, type SeededRandom, seedFromEnv } from '../transport/seeded-random.js'
export {
  createSimulatedNetwork,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_RELAY_DEGREE,
  DEFAULT_SEEN_TTL_MS,
  DEFAULT_SIMULATED_MAX_MESSAGE_BYTES,
  type PartitionOptions,
  type SimulatedNetwork,
  type SimulatedNetworkCounters,
  type SimulatedNetworkInit,
} from '../transport/simulated-network.js'
export type { SimulatedTransport } from '../transport/simulated-transport.js'
export type { SimulationTrace } from '../transport/simulation-trace.js'
export type {
  HandleOptions,
  OpenStreamOptions,
  StreamHandler,
  TopicMessage,
  TopicSubscriber,
  Transport,
  TransportEvents,
  TransportStream,
  Verdict,
} from '../transport/transport.js'
export {
  createVirtualScheduler,
  type RunOptions,
  type ScheduledEvent,
  type VirtualScheduler,
} from '../transport/virtual-scheduler.js'
export { createSimulatedHarness, DEFAULT_SIMULATED_WAIT_MS, type SimulatedHarness } from './simulated-harness.js'
export { docFrom, recordingDoc, runStorageAcceptance, type StorageFixture } from './storage-acceptance.js'
export type { TestApi, TestContext } from './test-api.js'
export {
  runTransportAcceptance,
  type TransportHarness,
  type TransportHarnessFactory,
  type UntilOptions,
} from './transport-acceptance.js'
