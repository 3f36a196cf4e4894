/**
 * Test helpers that build meshes of real libp2p peers on 127.0.0.1 in this process, split and heal them, and check
 * convergence the way Yjs' testHelper does: every replica has identical JSON and state vector, and nothing pending.
 *
 * @module
 */
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import { type ConfigMesh, createMesh, type MeshOptions } from '../../src/index.js'
import type { TransportFactory } from '../../src/mesh/options.js'
import { parseNetworkKey } from '../../src/security/network-key.js'
import { createNode } from '../../src/transport/libp2p-node.js'
import { createLibp2pTransport } from '../../src/transport/libp2p-transport.js'
import { waitFor } from './wait-for.js'

/** Fast timing for tests: short heartbeats and anti-entropy rounds. */
export const TEST_TIMING = { heartbeatMs: 250, memberTimeoutMs: 1_500, antiEntropyMs: 1_000 } as const

/** Controls which peers may talk to each other, through a connection gater on every mesh it creates. */
export class NetworkControl {
  private readonly group = new Map<string, number>()
  private split_ = false

  /** A gater for one mesh; `self()` resolves that mesh's peer id once it exists. */
  gater(self: () => string | undefined): ConnectionGater {
    const deny = (peer: PeerId): boolean => {
      const me = self()
      if (!this.split_ || me === undefined) return false
      return (this.group.get(me) ?? -1) !== (this.group.get(peer.toString()) ?? -2)
    }
    return {
      denyDialPeer: async (peer) => deny(peer),
      denyInboundEncryptedConnection: async (peer) => deny(peer),
      denyOutboundEncryptedConnection: async (peer) => deny(peer),
      denyInboundUpgradedConnection: async (peer) => deny(peer),
      denyOutboundUpgradedConnection: async (peer) => deny(peer),
    }
  }

  /** Splits the meshes into groups that cannot connect to each other, and closes links across groups. */
  async split(groups: ConfigMesh[][]): Promise<void> {
    this.group.clear()
    groups.forEach((g, i) => {
      for (const m of g) this.group.set(m.peerId, i)
    })
    this.split_ = true
    for (const g of groups) {
      for (const m of g) {
        for (const other of groups.flat()) {
          if (this.group.get(other.peerId) !== this.group.get(m.peerId))
            await m.disconnect(other.peerId).catch(() => {})
        }
      }
    }
  }

  /** Lets every peer connect again. */
  heal(): void {
    this.split_ = false
  }
}

/** Options of {@link startCluster}. */
export interface ClusterOptions extends MeshOptions {
  /** A network control whose gater every mesh uses. */
  network?: NetworkControl
  /**
   * Lift the per-IP limits on every mesh (see {@link colocatedTransport}). All test peers share 127.0.0.1: with more
   * than 10 peers from one IP gossipsub scores them below its graylist threshold and drops their messages, and libp2p
   * accepts 5 new connections per second from one IP, so large local meshes barely form. Default `false`.
   */
  ignoreIpColocation?: boolean
}

/**
 * A transport for `createMesh({ transport })` whose libp2p node lifts the per-IP limits every peer on 127.0.0.1 runs
 * into: libp2p's inbound connection limits (5 new connections per second per remote IP, 10 pending) are raised, so
 * dozens of local peers can connect to each other at once (gossipsub's IP-colocation penalty is already off in
 * `createNode`). Test-only: it tunes the node it builds, through libp2p's components.
 */
export function colocatedTransport(options: MeshOptions): TransportFactory {
  return loopbackTransport(options, { colocated: true })
}

/**
 * The libp2p transport `createMesh` would build from `options` (listen, bootstrap, connection cap, gater, network
 * key), as a factory, so a harness can wrap it; with `colocated`, per-IP limits lifted as in {@link colocatedTransport}.
 */
export function loopbackTransport(options: MeshOptions, { colocated }: { colocated: boolean }): TransportFactory {
  return async ({ privateKey }) => {
    const node = await createNode({
      listen: options.listen ?? ['/ip4/127.0.0.1/tcp/0'],
      bootstrap: options.bootstrap ?? [],
      privateKey,
      ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
      ...(options.connectionGater === undefined ? {} : { connectionGater: options.connectionGater }),
      ...(options.networkKey === undefined ? {} : { networkKey: parseNetworkKey(options.networkKey) }),
    })
    if (!colocated) return createLibp2pTransport({ node })
    const manager = (
      node as unknown as {
        components: {
          connectionManager?: {
            inboundConnectionRateLimiter?: { points: number }
            maxIncomingPendingConnections?: number
          }
        }
      }
    ).components.connectionManager
    if (manager?.inboundConnectionRateLimiter !== undefined) manager.inboundConnectionRateLimiter.points = 1_000
    if (manager?.maxIncomingPendingConnections !== undefined) manager.maxIncomingPendingConnections = 100
    return createLibp2pTransport({ node })
  }
}

/** Starts one mesh on loopback with test timing. */
export async function startMesh(options: ClusterOptions = {}): Promise<ConfigMesh> {
  let mesh: ConfigMesh | undefined
  const { network, ignoreIpColocation: colocated, ...rest } = options
  const meshOptions: MeshOptions = {
    timing: TEST_TIMING,
    ...rest,
    ...(network === undefined ? {} : { connectionGater: network.gater(() => mesh?.peerId) }),
  }
  mesh = await createMesh({
    ...meshOptions,
    ...(colocated === true ? { transport: colocatedTransport(meshOptions) } : {}),
  })
  return mesh
}

/** Starts `n` meshes, every one bootstrapping to the first; waits until each sees all others as live members. */
export async function startCluster(n: number, options: ClusterOptions = {}): Promise<ConfigMesh[]> {
  const first = await startMesh(options)
  const rest = await Promise.all(
    Array.from({ length: n - 1 }, () => startMesh({ ...options, bootstrap: [first.addresses[0]!] })),
  )
  const all = [first, ...rest]
  await waitForMembers(all)
  return all
}

/** Waits until every mesh sees every other as a live, connected member. */
export async function waitForMembers(meshes: ConfigMesh[], timeoutMs = 20_000): Promise<void> {
  await waitFor(
    () =>
      meshes.every((m) => {
        const peers = new Set(m.peers().map((p) => p.peerId))
        return meshes.every((o) => o === m || peers.has(o.peerId))
      }),
    { timeoutMs, message: `${meshes.length} meshes to see each other` },
  )
}

/** After a heal: dials until every mesh has a connection again (retrying refused dials), then waits for membership. */
export async function reconnectAll(meshes: ConfigMesh[], timeoutMs = 20_000): Promise<void> {
  const connected = (m: ConfigMesh) => m.peers().some((p) => p.connected)
  await waitFor(
    async () => {
      for (const [i, m] of meshes.entries()) {
        if (connected(m)) continue
        const other = meshes[(i + 1) % meshes.length]!
        await m.connect(other.addresses[0]!).catch(() => {})
      }
      return meshes.every(connected)
    },
    { timeoutMs, intervalMs: 100, message: 'every mesh to reconnect' },
  )
  await waitForMembers(meshes, timeoutMs)
}

/** Everything a replica holds that must be identical everywhere after convergence. */
export function replicaState(mesh: ConfigMesh): { json: string; stateVector: string; pending: boolean } {
  const d = mesh.diagnostics()
  const json = JSON.stringify(Object.fromEntries(mesh.namespaces().map((n) => [n, mesh.namespace(n).toJSON()])))
  const sv = Object.entries(d.stateVector).sort(([a], [b]) => Number(a) - Number(b))
  return { json, stateVector: JSON.stringify(sv), pending: d.pending }
}

/** Waits until all replicas have identical JSON and state vectors and nothing pending. */
export async function waitForConvergence(meshes: ConfigMesh[], timeoutMs = 30_000): Promise<void> {
  await waitFor(
    () => {
      const states = meshes.map(replicaState)
      const first = states[0]!
      return states.every((s) => !s.pending && s.json === first.json && s.stateVector === first.stateVector)
    },
    { timeoutMs, intervalMs: 50, message: 'convergence (identical JSON and state vector, nothing pending)' },
  )
}

/** Stops every mesh, ignoring errors. */
export async function stopAll(meshes: Array<ConfigMesh | undefined>): Promise<void> {
  await Promise.all(meshes.map((m) => m?.stop().catch(() => {})))
}

/** A small seeded PRNG (mulberry32) for reproducible random tests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The seed of a random test: `CONFMESH_SEED` if set, else a fresh one. Printed so a failure can be replayed. */
export function testSeed(name: string): number {
  const env = process.env.CONFMESH_SEED
  const seed = env !== undefined ? Number(env) : Math.floor(Math.random() * 2 ** 31)
  console.log(`[${name}] seed=${seed} (replay with CONFMESH_SEED=${seed})`)
  return seed
}
