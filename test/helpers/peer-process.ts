/**
 * One confmesh peer in its own OS process, for tests where a crash, a SIGKILL or a restart is the point: a peer host
 * (peer-host/host.ts) with exactly one peer, addressed without an index. Children run the TypeScript sources,
 * bundled once per test process (peer-host/entry.ts).
 *
 * @module
 */
import type { HostAck, HostChange } from './peer-host/host.js'
import { spawnHost } from './peer-host/host.js'
import type { Command, HostMeshOptions } from './peer-host/protocol.js'

/** A change event reported by a child (wall-clock `at` and monotonic `t`, both ms, taken in the child). */
export type ChildChange = HostChange
/** A write acknowledged by a child's `writeLoop` (its `set` resolved). */
export type ChildAck = HostAck
export { HostError as ChildError } from './peer-host/host.js'

/** A peer running in its own process. */
export interface PeerProcess {
  readonly peerId: string
  readonly addresses: string[]
  readonly pid: number
  readonly changes: ChildChange[]
  /** Writes acknowledged by the `writeLoop` command, in arrival order. */
  readonly acks: ChildAck[]
  /** Sends a command (peer-host/protocol.ts `PeerRequest`); resolves with its result, rejects with a ChildError. */
  call<T = unknown>(cmd: string, args?: object): Promise<T>
  /** SIGKILL, no goodbye; resolves once the process is gone. */
  kill(): Promise<void>
  /** Clean stop; resolves once the process exited. */
  stop(): Promise<void>
  readonly exited: Promise<number | null>
}

/** Options of {@link spawnPeer}: mesh options (JSON-serialisable) and whether to stream change events. */
export interface SpawnOptions {
  mesh?: HostMeshOptions
  watch?: boolean
  timeoutMs?: number
}

/** Starts a peer process; rejects with a ChildError if `createMesh` failed in the child. */
export async function spawnPeer(options: SpawnOptions = {}): Promise<PeerProcess> {
  const host = await spawnHost({
    peers: [{ mesh: options.mesh ?? {} }],
    watch: options.watch === true,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  })
  const self = host.peers[0]!
  return {
    peerId: self.peerId,
    addresses: self.addresses,
    pid: host.pid,
    changes: host.changes,
    acks: host.acks,
    exited: host.exited,
    call: <T>(cmd: string, args?: object) => host.request<T>({ ...args, cmd, peer: 0 } as Command),
    kill: () => host.kill(),
    stop: () => host.stop(),
  }
}
