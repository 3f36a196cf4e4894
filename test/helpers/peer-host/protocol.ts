/**
 * The control protocol between a parent (a test or a benchmark) and a peer host: one OS process that runs K >= 1
 * confmesh peers (`child.ts`), over Node IPC. Requests carry an `id` and get exactly one reply with that `id`
 * (`ok: true` with a result, or `ok: false` with the error's name, code and message); events carry `event` and are
 * unsolicited. Peers are addressed by their index in the host (0..K-1, in the order `start` created them).
 *
 * Every event and timed reply carries two timestamps taken in the host where it happened: `at`, wall-clock ms
 * (`performance.timeOrigin + performance.now()`), and `t`, machine-wide monotonic ms (`process.hrtime`, one
 * CLOCK_MONOTONIC for every process on Linux), so cross-process latencies need no clock sync.
 *
 * Only plain JSON crosses the channel: mesh options without logger, private key, gater or transport.
 *
 * @module
 */
import type { MeshOptions } from '../../../src/index.js'

/** Mesh options a parent can send (plain JSON). */
export type HostMeshOptions = Omit<MeshOptions, 'logger' | 'privateKey' | 'connectionGater' | 'transport'> &
  Record<string, unknown>

/** One peer for `start` to create. */
export interface PeerInit {
  /** `createMesh` options. */
  mesh?: HostMeshOptions
  /**
   * Lift libp2p's per-IP inbound limits (test/helpers/cluster.ts `colocatedTransport`): every local peer shares
   * 127.0.0.1. Default false (the mesh's own transport, as a deployment runs it).
   */
  colocated?: boolean
  /** Indexes of peers already in this host to bootstrap from (added to `mesh.bootstrap`). */
  bootstrapLocal?: number[]
}

/** What `start` reports per created peer. */
export interface StartedPeer {
  index: number
  peerId: string
  addresses: string[]
  /** Monotonic ms when its `createMesh` began and resolved. */
  tBegin: number
  tReady: number
}

/** Counters of one peer's traffic, counted at its transport seam (messages and payload bytes, both directions). */
export interface TrafficCounters {
  /** Topic messages validated (gossip: each distinct message once; duplicates are dropped below the seam). */
  topicIn: number
  topicBytesIn: number
  /** Frames read from streams (catch-up, membership probes, leases...). */
  streamIn: number
  streamBytesIn: number
  /** Topic messages published and stream frames written. */
  topicOut: number
  topicBytesOut: number
  streamOut: number
  streamBytesOut: number
  /** Inbound streams accepted and outbound streams opened. */
  streamsOpened: number
}

/** Per-peer readings of a `stats` reply. */
export interface HostPeerStats {
  index: number
  peerId: string
  /** Live members it sees (other than itself). */
  members: number
  /** Of which connected. */
  connected: number
  /** Peers with an open transport connection (members or not). */
  connections: number
  traffic: TrafficCounters
  /** The mesh's own counters (`diagnostics().counters`). */
  counters: Record<string, number>
}

/** Process readings of a `stats` reply. */
export interface HostStats {
  pid: number
  /** `process.cpuUsage()` user + system, µs, since the process started. */
  cpuUs: number
  rss: number
  heapUsed: number
  /** Bytes read / written by the process (/proc/self/io rchar/wchar; sockets and files), -1 where unreadable. */
  rchar: number
  wchar: number
  t: number
  /**
   * Event-loop delay since the previous `stats` (or start), ms: how long ready work waited (CPU starvation). Only
   * while the monitor is on (`loopDelay`); zeros when it was off throughout.
   */
  eventLoopDelay: { p50Ms: number; p99Ms: number; maxMs: number }
  peers: HostPeerStats[]
}

/** Requests to a whole host. */
export type HostRequest =
  | { id: number; cmd: 'start'; peers: PeerInit[] }
  /** Stream `change` events of every peer (on) or stop (off). */
  | { id: number; cmd: 'watch'; on: boolean }
  /**
   * Report one `members` event per peer the first time it sees at least `count` live members, and one `gone` event
   * per peer once none of `gone` is among its members (each at most once per request; a peer already there reports
   * at once).
   */
  | { id: number; cmd: 'track'; count?: number; gone?: string[] }
  | { id: number; cmd: 'stats' }
  /**
   * Turn the event-loop delay monitor on (the default) or off. It samples with a 20 ms timer, which costs the
   * process ~0.2 % of a core: a benchmark measuring idle CPU turns it off for that window.
   */
  | { id: number; cmd: 'loopDelay'; on: boolean }
  /** Stop one peer of the host (the process keeps running). */
  | { id: number; cmd: 'stopPeer'; peer: number }
  /** Stop every peer, reply, then exit 0. */
  | { id: number; cmd: 'stop' }
  | PeerRequest

/** Requests to one peer (`peer` defaults to 0). */
export type PeerRequest = { id: number; peer?: number } & (
  | { cmd: 'set'; namespace?: string; key: string; value: unknown }
  | { cmd: 'delete'; namespace?: string; key: string }
  | { cmd: 'get'; namespace?: string; key: string }
  | { cmd: 'update'; namespace?: string; batch: Record<string, unknown> }
  | { cmd: 'dump'; namespace?: string }
  | { cmd: 'state' }
  | { cmd: 'replica' }
  | { cmd: 'connect'; address: string }
  | { cmd: 'history' }
  | {
      cmd: 'writeLoop'
      namespace?: string
      prefix: string
      from?: number
      count?: number
      inFlight?: number
      pauseMs?: number
    }
  | { cmd: 'stopWriteLoop' }
)

/** A request without its id (what a parent passes). */
export type Command = HostRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never

/** Peer `state` reply: replica JSON, diagnostics and members. */
export interface PeerState {
  json: Record<string, Record<string, unknown>>
  diagnostics: {
    stateVector: Record<string, number>
    pending: boolean
    entries: number
    counters: Record<string, number>
  }
  peers: Array<{ peerId: string; connected: boolean; ready: boolean }>
}

/** Peer `replica` reply: a digest of everything that must be equal after convergence, and a few counts. */
export interface ReplicaDigest {
  peerId: string
  /** Live members seen (other than this one), of which connected and ready. */
  peers: number
  connected: number
  ready: number
  /** Keys in namespace `app`. */
  keys: number
  /** sha1 of every non-internal namespace's JSON and the sorted state vector: equal digests = converged. */
  digest: string
  pending: boolean
  documentBytes: number
  counters: Record<string, number>
}

/** The error a host reported. */
export interface WireError {
  name: string
  code?: string
  message: string
}

/** Messages, host -> parent. */
export type HostMessage =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: WireError }
  /** The process is up and listening for requests. */
  | { event: 'up'; pid: number }
  | {
      event: 'change'
      peer: number
      namespace: string
      key: string
      value: unknown
      source: string
      at: number
      t: number
    }
  /**
   * `change` events of one event-loop turn in one message (in order): a write fires a watch callback in every peer of
   * a host, and one IPC message per callback cost the 100-peer fleet's hosts about a quarter of their CPU while
   * writes flowed (a CPU profile of the propagation phase).
   */
  | { event: 'changes'; changes: Array<Extract<HostMessage, { event: 'change' }>> }
  | { event: 'ack'; peer: number; namespace: string; key: string; value: number; at: number; t: number }
  | { event: 'writeLoopFailed'; peer: number; name: string; message: string }
  | { event: 'members'; peer: number; count: number; at: number; t: number }
  | { event: 'gone'; peer: number; at: number; t: number }
