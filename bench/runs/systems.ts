/**
 * The systems under comparison as runnable variants: checks whether each is available (skip with a reason, never
 * fail), starts its server side (etcd members, relay) fresh for every configuration, starts the peers, and tears
 * everything down afterwards.
 *
 * @module
 */
import type { SystemName } from '../lib/cli.js'
import { note } from '../lib/progress.js'
import { type Cluster, type Layout, startCluster } from '../peers/cluster.js'
import { loadConfmesh } from '../peers/confmesh.js'
import { etcdVersion, startEtcd } from '../peers/etcd.js'
import { startRelay } from '../peers/relay.js'

/** One row-producing configuration of a system. */
export interface Variant {
  system: SystemName
  /** Row label, e.g. `etcd (3 members)`. */
  label: string
  layout: Layout
  /** etcd members (1 or 3). */
  members?: number
}

/** The server side of a running variant (nothing for confmesh). */
export interface ServerSide {
  /** Process ids of the servers (etcd members, relay), for RSS/CPU readings. */
  pids(): number[]
}

const reasons = new Map<SystemName, string | undefined>()

/**
 * Why a system cannot run here, or `undefined` when it can. Checked once per process; the first check prints a note.
 *
 * @param system - the system
 */
export async function unavailable(system: SystemName): Promise<string | undefined> {
  if (reasons.has(system)) return reasons.get(system)
  let reason: string | undefined
  if (system === 'etcd' && !etcdVersion()) reason = 'etcd is not installed (run bench/install-etcd.sh)'
  if (system === 'confmesh') {
    const loaded = await loadConfmesh()
    if (typeof loaded === 'string') reason = loaded
  }
  reasons.set(system, reason)
  if (reason) note(`skipping ${system}: ${reason}`)
  return reason
}

/**
 * The standard variants: confmesh (one process per peer), etcd with 1 and with 3 members, the relay; filtered to the
 * selected systems. `quick` leaves out the 3-member etcd (its leader election dominates a tiny run).
 *
 * @param systems - selected systems
 * @param opts - `quick`: the reduced set
 */
export function standardVariants(systems: readonly SystemName[], opts: { quick?: boolean } = {}): Variant[] {
  const all: Variant[] = [
    { system: 'confmesh', label: 'confmesh', layout: 'procs' },
    { system: 'etcd', label: 'etcd (1 member)', layout: 'procs', members: 1 },
    { system: 'etcd', label: 'etcd (3 members)', layout: 'procs', members: 3 },
    { system: 'relay', label: 'y-websocket relay', layout: 'procs' },
  ]
  return all.filter((v) => systems.includes(v.system) && !(opts.quick && v.members === 3))
}

/**
 * Start a variant with `peers` peers, run `fn`, and stop everything (also when `fn` throws).
 *
 * @param variant - which system and layout
 * @param peers - number of peers
 * @param fn - the measurement
 * @param opts - `name`: relay room or confmesh mesh name (default `bench`); `staggerMs`: confmesh start pace
 */
export async function withVariant<T>(
  variant: Variant,
  peers: number,
  fn: (cluster: Cluster, server: ServerSide) => Promise<T>,
  opts: { name?: string; staggerMs?: number } = {},
): Promise<T> {
  const name = opts.name ?? 'bench'
  const stops: Array<() => Promise<void>> = []
  try {
    let cluster: Cluster
    let server: ServerSide = { pids: () => [] }
    if (variant.system === 'etcd') {
      const etcd = await startEtcd({ members: variant.members ?? 1 })
      stops.push(etcd.stop)
      server = etcd
      cluster = await startCluster({
        target: { system: 'etcd', endpoints: etcd.endpoints },
        peers,
        layout: variant.layout,
      })
    } else if (variant.system === 'relay') {
      const relay = await startRelay()
      stops.push(relay.stop)
      server = { pids: () => [relay.pid] }
      cluster = await startCluster({
        target: { system: 'relay', url: relay.url, room: name },
        peers,
        layout: variant.layout,
      })
    } else {
      cluster = await startCluster({
        target: { system: 'confmesh', name },
        peers,
        layout: variant.layout,
        ...(opts.staggerMs ? { staggerMs: opts.staggerMs } : {}),
      })
    }
    stops.push(() => cluster.stop())
    return await fn(cluster, server)
  } finally {
    for (const s of stops.reverse()) await s().catch(() => {})
  }
}
