/**
 * A {@link TransportHarness} on the simulated network: N peers, started and connected to each other, whose waits
 * advance virtual time. What `confmesh/testing` users start from to test their own services against a mesh without
 * sockets; the transport acceptance suite runs on it.
 *
 * @module
 */
import {
  createSimulatedNetwork,
  type SimulatedNetwork,
  type SimulatedNetworkInit,
} from '../transport/simulated-network.js'
import type { SimulatedTransport } from '../transport/simulated-transport.js'
import type { TransportHarness, UntilOptions } from './transport-acceptance.js'

/** Default virtual time a harness wait may take: one minute. */
export const DEFAULT_SIMULATED_WAIT_MS = 60_000

/** A harness on the simulated network. */
export interface SimulatedHarness extends TransportHarness {
  readonly network: SimulatedNetwork
  readonly transports: SimulatedTransport[]
}

/** Builds `peers` started, fully connected transports on a new simulated network. */
export async function createSimulatedHarness(
  peers: number,
  init: SimulatedNetworkInit,
  waitMs = DEFAULT_SIMULATED_WAIT_MS,
): Promise<SimulatedHarness> {
  const network = createSimulatedNetwork(init)
  const transports = Array.from({ length: peers }, () => network.addPeer())
  for (const t of transports) await network.settle(t.start())
  for (const [i, t] of transports.entries()) {
    for (const other of transports.slice(i + 1)) await network.connect(t.peerId, other.peerId)
  }
  return {
    network,
    transports,
    async until(condition: () => boolean, what: string, options?: UntilOptions): Promise<void> {
      const scheduler = network.scheduler
      const deadline = scheduler.now() + waitMs
      const every = options?.everyMs ?? 250
      let nextRetry = scheduler.now()
      await network.settle(Promise.resolve())
      while (!condition()) {
        if (options?.retry !== undefined && scheduler.now() >= nextRetry) {
          nextRetry = scheduler.now() + every
          await network.settle(Promise.resolve(options.retry()))
          continue
        }
        // past the deadline, or nothing left to happen and nothing to retry: fail with the seed and the trace
        if (scheduler.now() >= deadline) await network.runUntil(condition, { what, limitMs: 0 })
        if (!(await scheduler.step())) {
          if (options?.retry === undefined) await network.runUntil(condition, { what, limitMs: 0 })
          await scheduler.runUntil(nextRetry)
        }
      }
    },
    settle: <T>(promise: Promise<T>) => network.settle(promise, { limitMs: waitMs }),
    async teardown(): Promise<void> {
      for (const t of network.peers().map((id) => network.peer(id))) await network.settle(t.stop())
    },
  }
}
