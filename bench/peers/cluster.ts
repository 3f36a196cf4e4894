/**
 * Coordinator side of the benchmark peers: starts N peers of one system, either one OS process per peer (`procs`) or
 * all in one process (`inproc`), and drives them over IPC (see protocol.ts and worker.ts). A confmesh peer bootstraps
 * from peer 0 plus up to two random earlier peers (seeded), so the overlay is a mesh, not a star.
 *
 * `BENCH_CPU_PROF=<dir>` runs every peer process under `node --cpu-prof` (one `.cpuprofile` per process in `<dir>`,
 * written when it exits; the processes start in peer order, so the file names' pids tell seeds from joiners).
 *
 * @module
 */
import { type ChildProcess, fork } from 'node:child_process'
import { onCleanup, trackChild } from '../lib/cleanup.js'
import type { SystemName } from '../lib/cli.js'
import type { IoCounters } from '../lib/procinfo.js'
import { type Entry, entrypoints, REPO_ROOT } from '../lib/spawn.js'
import { withDeadline } from '../lib/wait.js'
import type {
  BenchValue,
  BurstSpec,
  PeerSpec,
  Reply,
  Request,
  StartResult,
  TrackSpec,
  WorkerStats,
} from './protocol.js'
import type { PeerOptions } from './types.js'

/** Distributive Omit, so `Omit<Request, 'id'>` keeps the union's members apart. */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never

/** Where the peers of a cluster live. */
export type Layout = 'procs' | 'inproc'

/** What a cluster needs to know about the system's server side (none for confmesh). */
export type SystemTarget =
  | { system: 'confmesh'; name?: string }
  | { system: 'etcd'; endpoints: string[] }
  | { system: 'relay'; url: string; room: string }

/** Options of {@link startCluster}. */
export interface ClusterInit {
  target: SystemTarget
  peers: number
  layout: Layout
  /** How many confmesh peers are created at once after peer 0 (default 8). */
  startConcurrency?: number
  /**
   * confmesh only: wait this long between starting consecutive peers (a rollout pace), default 0. All bench peers
   * share one host (127.0.0.1), and libp2p refuses more than `inboundConnectionThreshold` (confmesh: 5) inbound
   * connections per second from one host, so a simultaneous start of many peers loses connections.
   */
  staggerMs?: number
  /** Deadline for starting one batch of peers (default 60 s). */
  startTimeoutMs?: number
  /** Seed of the bootstrap choice (default 1). */
  seed?: number
  /** Extra Node flags for the workers. */
  execArgv?: string[]
}

/** A `converged` event. */
export interface Converged {
  p: number
  t: number
  io: IoCounters
  cpuUs: number
}

/** Deterministic PRNG (mulberry32). */
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

/**
 * Bootstrap choice for peer `i`: peer 0 plus up to two distinct random peers from `[1, limit)`.
 *
 * @param i - the peer being started
 * @param limit - peers below this index are already running
 * @param rand - PRNG
 */
export function bootstrapChoice(i: number, limit: number, rand: () => number): number[] {
  if (i === 0) return []
  const pool = Array.from({ length: Math.max(0, Math.min(limit, i) - 1) }, (_, k) => k + 1)
  const out = [0]
  while (out.length < 3 && pool.length > 0) out.push(pool.splice(Math.floor(rand() * pool.length), 1)[0]!)
  return out
}

/** One worker process and its request channel. */
class WorkerHandle {
  readonly child: ChildProcess
  readonly peers: number[] = []
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  readonly exited: Promise<void>

  constructor(entry: Entry, onEvent: (msg: Reply) => void) {
    this.child = trackChild(
      fork(entry.file, [], {
        cwd: REPO_ROOT,
        execArgv: process.env.BENCH_CPU_PROF
          ? [...entry.execArgv, '--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
          : entry.execArgv,
        env: { ...process.env, ...entry.env },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    )
    this.child.on('message', (msg: Reply) => {
      if (msg.op === 'reply') {
        const p = this.pending.get(msg.id)
        if (!p) return
        this.pending.delete(msg.id)
        if (msg.ok) p.resolve(msg.result)
        else p.reject(new Error(msg.error))
      } else {
        onEvent(msg)
      }
    })
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        for (const p of this.pending.values()) p.reject(new Error(`worker exited (${code ?? signal})`))
        this.pending.clear()
        resolve()
      })
    })
  }

  request<T>(req: WithoutId<Request>, timeoutMs: number): Promise<T> {
    const id = this.nextId++
    const p = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.child.send({ ...req, id } as Request)
    })
    return withDeadline(p, timeoutMs, `worker ${this.child.pid} ${req.op}`).finally(() => this.pending.delete(id))
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000)
    try {
      await this.request({ op: 'stop' }, 5000).catch(() => {})
      await this.exited
    } finally {
      clearTimeout(timer)
    }
  }
}

/** N running peers of one system, driven from the coordinator. */
export class Cluster {
  readonly system: SystemName
  readonly size: number
  readonly layout: Layout
  /** Per peer: when its creation began and ended (ms, lib/clock.ts), and its process's I/O and CPU before. */
  readonly startTimes: Array<StartResult['peers'][number]> = []
  /** Per peer: its bootstrap addresses (confmesh). */
  readonly addresses = new Map<number, string[]>()
  /** @internal */
  target: SystemTarget | undefined
  /** @internal */
  entry: Entry | undefined
  private readonly workers: WorkerHandle[] = []
  private readonly byPeer = new Map<number, WorkerHandle>()
  private readonly eventListeners = new Set<(e: { p: number; w: number; s: number; t: number }) => void>()
  private readonly convergedListeners = new Set<(e: Converged) => void>()
  private readonly unregister: () => void

  /** @internal use {@link startCluster} */
  constructor(system: SystemName, size: number, layout: Layout) {
    this.system = system
    this.size = size
    this.layout = layout
    this.unregister = onCleanup(() => this.stop())
  }

  /** @internal */
  addWorker(entry: Entry): WorkerHandle {
    const w = new WorkerHandle(entry, (msg) => {
      if (msg.op === 'ev') for (const l of this.eventListeners) l(msg)
      else if (msg.op === 'converged') for (const l of this.convergedListeners) l(msg)
      else if (msg.op === 'log') process.stderr.write(`[worker] ${msg.message}\n`)
    })
    this.workers.push(w)
    return w
  }

  /** @internal */
  assign(peer: number, w: WorkerHandle): void {
    w.peers.push(peer)
    this.byPeer.set(peer, w)
  }

  private worker(peer: number): WorkerHandle {
    const w = this.byPeer.get(peer)
    if (!w) throw new Error(`no peer ${peer}`)
    return w
  }

  /** Process ids of the worker processes. */
  pids(): number[] {
    return this.workers.flatMap((w) => (w.child.pid === undefined ? [] : [w.child.pid]))
  }

  /** Subscribe to remote watch events (only sent while reporting is on, see {@link setReport}). */
  onEvent(listener: (e: { p: number; w: number; s: number; t: number }) => void): () => void {
    this.eventListeners.add(listener)
    return () => this.eventListeners.delete(listener)
  }

  /** Turn per-event reports on or off in every worker. */
  async setReport(on: boolean): Promise<void> {
    await Promise.all(this.workers.map((w) => w.request({ op: 'report', on }, 60_000)))
  }

  /** Write one key on `peer`; returns the writer-side timestamps around the call. */
  set(peer: number, key: string, value: BenchValue): Promise<{ t0: number; t1: number }> {
    return this.worker(peer).request({ op: 'set', peer, key, value }, 30_000)
  }

  /** Run a burst of writes on one peer (see {@link BurstSpec}). */
  burst(spec: BurstSpec, timeoutMs: number): Promise<{ tStart: number; tEnd: number; cpuUs: number }> {
    return this.worker(spec.peer).request({ op: 'burst', burst: spec }, timeoutMs)
  }

  /**
   * Track convergence: resolves with one {@link Converged} per peer once every peer has seen every target, or rejects
   * at the deadline with how many peers converged.
   */
  async waitConverged(track: TrackSpec, timeoutMs: number, peers?: number[]): Promise<Converged[]> {
    const want = new Set(peers ?? [...this.byPeer.keys()])
    const got = new Map<number, Converged>()
    let done: () => void = () => {}
    const all = new Promise<void>((resolve) => {
      done = resolve
    })
    const listener = (e: Converged) => {
      if (!want.has(e.p) || got.has(e.p)) return
      got.set(e.p, e)
      if (got.size === want.size) done()
    }
    this.convergedListeners.add(listener)
    try {
      const targets = new Set<WorkerHandle>([...want].map((p) => this.worker(p)))
      await Promise.all([...targets].map((w) => w.request({ op: 'track', track }, 60_000)))
      await withDeadline(all, timeoutMs, `convergence of ${want.size} ${this.system} peers`).catch((err: Error) => {
        throw new Error(`${err.message} (${got.size}/${want.size} converged)`)
      })
      return [...got.values()].sort((a, b) => a.p - b.p)
    } finally {
      this.convergedListeners.delete(listener)
    }
  }

  /** Count, per peer, the keys whose final value differs from what the given bursts wrote. */
  async verify(bursts: Array<Omit<BurstSpec, 'inflight' | 'padBytes'>>): Promise<Record<number, number>> {
    const parts = await Promise.all(
      this.workers.map((w) => w.request<Record<number, number>>({ op: 'verify', bursts }, 120_000)),
    )
    return Object.assign({}, ...parts)
  }

  /** Process and peer readings of every worker. */
  stats(gc = false): Promise<WorkerStats[]> {
    return Promise.all(this.workers.map((w) => w.request<WorkerStats>({ op: 'stats', gc }, 60_000)))
  }

  /**
   * Start one more peer in a new worker process (confmesh: bootstrapping from peer 0) with convergence tracking on from
   * its first moment, and wait until it has seen every target.
   *
   * @param track - what the new peer must see
   * @param timeoutMs - deadline for start and catch-up
   * @returns its start record and its {@link Converged} event
   */
  async join(
    track: TrackSpec,
    timeoutMs: number,
  ): Promise<{ start: StartResult['peers'][number]; converged: Converged }> {
    if (!this.target) throw new Error('cluster has no target')
    const index = this.size + this.joined++
    if (!this.entry) throw new Error('cluster has no worker entry')
    const w = this.addWorker(this.entry)
    this.assign(index, w)
    let opts = optionsFor(this.target, index)
    if (opts.system === 'confmesh') opts = { ...opts, bootstrap: this.addresses.get(0) ?? [] }
    let resolveConv: (c: Converged) => void = () => {}
    const conv = new Promise<Converged>((resolve) => {
      resolveConv = resolve
    })
    const listener = (e: Converged) => {
      if (e.p === index) resolveConv(e)
    }
    this.convergedListeners.add(listener)
    try {
      const started = await w.request<StartResult>({ op: 'start', peers: [{ index, opts }], track }, timeoutMs)
      const converged = await withDeadline(conv, timeoutMs, `peer ${index} to catch up`)
      return { start: started.peers[0]!, converged }
    } finally {
      this.convergedListeners.delete(listener)
    }
  }

  /** Stop the worker process hosting `peer` (and every peer in it). */
  async stopPeer(peer: number): Promise<void> {
    const w = this.worker(peer)
    await w.stop()
    for (const p of w.peers) this.byPeer.delete(p)
    this.workers.splice(this.workers.indexOf(w), 1)
  }

  private joined = 0

  /** Stop every peer and worker process. Idempotent. */
  async stop(): Promise<void> {
    this.unregister()
    await Promise.all(this.workers.map((w) => w.stop()))
  }
}

function optionsFor(target: SystemTarget, i: number): PeerOptions {
  switch (target.system) {
    case 'confmesh':
      return { system: 'confmesh', bootstrap: [], name: target.name ?? 'bench' }
    case 'etcd':
      return { system: 'etcd', endpoints: [target.endpoints[i % target.endpoints.length]!] }
    case 'relay':
      return { system: 'relay', url: target.url, room: target.room }
  }
}

/**
 * Start `peers` peers of one system and wait until each one's creation resolved.
 *
 * @param init - system, count, layout and limits
 */
export async function startCluster(init: ClusterInit): Promise<Cluster> {
  const cluster = new Cluster(init.target.system, init.peers, init.layout)
  const base = (await entrypoints()).worker
  const execArgv = { ...base, execArgv: [...base.execArgv, '--expose-gc', ...(init.execArgv ?? [])] }
  cluster.target = init.target
  cluster.entry = execArgv
  const rand = seededRandom(init.seed ?? 1)
  const timeout = init.startTimeoutMs ?? 60_000
  const addresses = cluster.addresses
  const record = (r: StartResult) => {
    for (const p of r.peers) {
      addresses.set(p.index, p.addresses)
      cluster.startTimes[p.index] = p
    }
  }
  try {
    if (init.layout === 'inproc') {
      const w = cluster.addWorker(execArgv)
      const specs: PeerSpec[] = []
      for (let i = 0; i < init.peers; i++) {
        cluster.assign(i, w)
        specs.push({ index: i, opts: optionsFor(init.target, i), bootstrapPeers: bootstrapChoice(i, i, rand) })
      }
      const stagger = init.target.system === 'confmesh' ? (init.staggerMs ?? 0) : 0
      record(
        await w.request<StartResult>(
          { op: 'start', peers: specs, staggerMs: stagger },
          timeout * Math.max(1, init.peers / 4) + stagger * init.peers,
        ),
      )
    } else {
      // fork every worker and load the system's code in all of them at once, then create the peers: confmesh peer 0
      // first (the others bootstrap from it), then the rest in batches that bootstrap from already running peers
      const handles: WorkerHandle[] = []
      for (let i = 0; i < init.peers; i++) {
        const w = cluster.addWorker(execArgv)
        cluster.assign(i, w)
        handles.push(w)
      }
      const loadTimeout = timeout + 2000 * init.peers
      await Promise.all(handles.map((w) => w.request({ op: 'prepare', system: init.target.system }, loadTimeout)))
      const stagger = init.staggerMs ?? 0
      const batch = stagger > 0 ? 1 : Math.max(1, init.startConcurrency ?? 8)
      const startOne = (i: number, limit: number) => {
        let opts = optionsFor(init.target, i)
        if (opts.system === 'confmesh') {
          const from = bootstrapChoice(i, limit, rand)
          opts = { ...opts, bootstrap: from.flatMap((k) => addresses.get(k) ?? []) }
        }
        return handles[i]!.request<StartResult>({ op: 'start', peers: [{ index: i, opts }] }, timeout).then(record)
      }
      if (init.target.system === 'confmesh') {
        for (let first = 0; first < init.peers; first = first === 0 ? 1 : first + batch) {
          const last = first === 0 ? 1 : Math.min(init.peers, first + batch)
          // pacing of peer starts (a rollout), not synchronisation
          if (first > 0 && stagger > 0) await new Promise((r) => setTimeout(r, stagger))
          await Promise.all(Array.from({ length: last - first }, (_, k) => startOne(first + k, first)))
        }
      } else {
        await Promise.all(handles.map((_, i) => startOne(i, 0)))
      }
    }
    return cluster
  } catch (err) {
    await cluster.stop()
    throw err
  }
}

/**
 * A cluster of one worker process that hosts no peer: the harness's own footprint (Node, tsx, IPC), to subtract from
 * per-peer readings.
 */
export async function startBaselineWorker(): Promise<Cluster> {
  const base = (await entrypoints()).worker
  const cluster = new Cluster('relay', 0, 'procs')
  cluster.addWorker({ ...base, execArgv: [...base.execArgv, '--expose-gc'] })
  return cluster
}
