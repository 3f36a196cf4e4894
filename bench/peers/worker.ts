/**
 * A benchmark peer process: hosts one or more peers of one system and obeys the coordinator over Node IPC (see
 * protocol.ts). It exits when the IPC channel closes (coordinator gone), on `stop`, or after a hard lifetime
 * (`BENCH_WORKER_LIFETIME_MS`, default 30 min).
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { SystemName } from '../lib/cli.js'
import { nowMs } from '../lib/clock.js'
import { ioOf } from '../lib/procinfo.js'
import type { CreateMesh } from './confmesh.js'
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
import type { BenchPeer, PeerOptions } from './types.js'

interface Hosted {
  index: number
  peer: BenchPeer
  events: number
  remoteEvents: number
  /** writer id -> highest sequence seen */
  maxSeq: Map<number, number>
  converged: boolean
}

const hosted = new Map<number, Hosted>()
let report = false
let track: TrackSpec | undefined
let pollTimer: NodeJS.Timeout | undefined
let createMesh: CreateMesh | undefined

process.setMaxListeners(0)

function send(msg: Reply): void {
  if (process.connected) process.send?.(msg)
}

function cpuUs(): number {
  const u = process.cpuUsage()
  return u.user + u.system
}

function isBenchValue(v: unknown): v is BenchValue {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as BenchValue).w === 'number' &&
    typeof (v as BenchValue).s === 'number'
  )
}

function checkConverged(h: Hosted, t: number): void {
  if (!track || h.converged) return
  for (const [w, target] of Object.entries(track.targets)) {
    if ((h.maxSeq.get(Number(w)) ?? 0) < target) return
  }
  h.converged = true
  send({ op: 'converged', p: h.index, t, io: ioOf(), cpuUs: cpuUs() })
  if ([...hosted.values()].every((x) => x.converged)) stopPolling()
}

function observe(h: Hosted, value: unknown, t: number): void {
  if (!isBenchValue(value)) return
  if ((h.maxSeq.get(value.w) ?? 0) < value.s) h.maxSeq.set(value.w, value.s)
  checkConverged(h, t)
}

function stopPolling(): void {
  if (pollTimer) clearInterval(pollTimer)
  pollTimer = undefined
}

/** Fallback for systems that apply catch-up state without firing watch events: read the sentinel keys. */
function startPolling(): void {
  stopPolling()
  if (!track) return
  const keys = Object.values(track.sentinels)
  let busy = false
  pollTimer = setInterval(async () => {
    if (busy) return
    busy = true
    try {
      for (const h of hosted.values()) {
        if (h.converged) continue
        const got = await h.peer.getMany(keys)
        const t = nowMs()
        for (const v of got.values()) observe(h, v, t)
      }
    } catch {
      // a read failing mid-run is retried on the next tick
    } finally {
      busy = false
    }
  }, track.pollMs ?? 50)
}

function setTrack(spec: TrackSpec): void {
  track = spec
  for (const h of hosted.values()) {
    h.converged = false
    checkConverged(h, nowMs())
  }
  if ([...hosted.values()].some((h) => !h.converged) || hosted.size === 0) startPolling()
}

/** Each system's module is loaded only when used, so a process carries no other system's code (fair RSS). */
async function prepare(system: SystemName): Promise<void> {
  if (system === 'confmesh' && !createMesh) {
    const { loadConfmesh } = await import('./confmesh.js')
    const loaded = await loadConfmesh()
    if (typeof loaded === 'string') throw new Error(loaded)
    createMesh = loaded
  } else if (system === 'etcd') {
    await import('./etcd.js')
  } else if (system === 'relay') {
    await import('./relay.js')
  }
}

async function createPeer(opts: PeerOptions): Promise<BenchPeer> {
  await prepare(opts.system)
  switch (opts.system) {
    case 'confmesh':
      return (await import('./confmesh.js')).createConfmeshPeer(createMesh!, opts)
    case 'etcd':
      return (await import('./etcd.js')).createEtcdPeer(opts)
    case 'relay':
      return (await import('./relay.js')).createRelayPeer(opts)
  }
}

async function start(specs: PeerSpec[], staggerMs: number): Promise<StartResult> {
  // load the modules before any reading, so their file reads are not counted as a peer's start-up traffic
  for (const system of new Set(specs.map((x) => x.opts.system))) await prepare(system)
  const io = ioOf()
  const out: StartResult['peers'] = []
  for (const [k, spec] of specs.entries()) {
    // pacing of peer starts (a rollout), not synchronisation
    if (k > 0 && staggerMs > 0) await new Promise((r) => setTimeout(r, staggerMs))
    let opts = spec.opts
    if (opts.system === 'confmesh' && spec.bootstrapPeers?.length) {
      const local = spec.bootstrapPeers.flatMap((i) => hosted.get(i)?.peer.addresses ?? [])
      opts = { ...opts, bootstrap: [...opts.bootstrap, ...local] }
    }
    const ioBefore = ioOf()
    const cpuBefore = cpuUs()
    const tBegin = nowMs()
    const peer = await createPeer(opts)
    const tReady = nowMs()
    const h: Hosted = { index: spec.index, peer, events: 0, remoteEvents: 0, maxSeq: new Map(), converged: false }
    peer.onChange((c) => {
      h.events++
      if (!isBenchValue(c.value)) return
      if (c.value.w !== h.index) {
        h.remoteEvents++
        if (report) send({ op: 'ev', p: h.index, w: c.value.w, s: c.value.s, t: c.t })
      }
      observe(h, c.value, c.t)
    })
    hosted.set(spec.index, h)
    if (track) startPolling()
    out.push({ index: spec.index, addresses: peer.addresses, tBegin, tReady, ioBefore, cpuBefore })
  }
  return { peers: out, io }
}

function padFor(bytes: number): string {
  return randomBytes(Math.ceil((bytes * 3) / 4) + 3)
    .toString('base64')
    .slice(0, bytes)
}

async function burst(b: BurstSpec): Promise<{ tStart: number; tEnd: number; cpuUs: number }> {
  const h = hosted.get(b.peer)
  if (!h) throw new Error(`no peer ${b.peer} in this worker`)
  const values: BenchValue[] = []
  for (let i = 0; i < b.count; i++) {
    values.push(
      b.padBytes ? { w: b.peer, s: b.seqBase + i + 1, d: padFor(b.padBytes) } : { w: b.peer, s: b.seqBase + i + 1 },
    )
  }
  const cpu0 = cpuUs()
  const tStart = nowMs()
  let next = 0
  const lane = async () => {
    while (next < b.count) {
      const i = next++
      await h.peer.set(`${b.prefix}-${b.peer}-${i % b.keyCount}`, values[i])
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, b.inflight) }, lane))
  return { tStart, tEnd: nowMs(), cpuUs: cpuUs() - cpu0 }
}

async function verify(bursts: Array<Omit<BurstSpec, 'inflight' | 'padBytes'>>): Promise<Record<number, number>> {
  const expected = new Map<string, number>()
  for (const b of bursts) {
    for (let i = Math.max(0, b.count - b.keyCount); i < b.count; i++) {
      expected.set(`${b.prefix}-${b.peer}-${i % b.keyCount}`, b.seqBase + i + 1)
    }
  }
  const keys = [...expected.keys()]
  const out: Record<number, number> = {}
  for (const h of hosted.values()) {
    const got = await h.peer.getMany(keys)
    let bad = 0
    for (const [k, s] of expected) {
      const v = got.get(k)
      if (!isBenchValue(v) || v.s !== s) bad++
    }
    out[h.index] = bad
  }
  return out
}

async function stats(gc: boolean): Promise<WorkerStats> {
  const cpu = cpuUs()
  const g = (globalThis as { gc?: () => void }).gc
  if (gc && g) {
    g()
    g()
  }
  const mem = process.memoryUsage()
  const peers = []
  for (const h of hosted.values()) {
    peers.push({
      index: h.index,
      events: h.events,
      remoteEvents: h.remoteEvents,
      connections: h.peer.connections(),
      system: await h.peer.stats().catch(() => ({})),
    })
  }
  return { pid: process.pid, rss: mem.rss, heapUsed: mem.heapUsed, cpuUs: cpu, io: ioOf(), t: nowMs(), peers }
}

let stopping: Promise<void> | undefined
function stopAll(): Promise<void> {
  stopping ??= (async () => {
    stopPolling()
    await Promise.allSettled([...hosted.values()].map((h) => h.peer.stop()))
    hosted.clear()
  })()
  return stopping
}

async function handle(req: Request): Promise<unknown> {
  switch (req.op) {
    case 'prepare':
      await prepare(req.system)
      return null
    case 'start':
      if (req.report !== undefined) report = req.report
      if (req.track) setTrack(req.track)
      return start(req.peers, req.staggerMs ?? 0)
    case 'set': {
      const h = hosted.get(req.peer)
      if (!h) throw new Error(`no peer ${req.peer} in this worker`)
      const t0 = nowMs()
      await h.peer.set(req.key, req.value)
      return { t0, t1: nowMs() }
    }
    case 'report':
      report = req.on
      return null
    case 'track':
      setTrack(req.track)
      return null
    case 'burst':
      return burst(req.burst)
    case 'verify':
      return verify(req.bursts)
    case 'stats':
      return stats(req.gc ?? false)
    case 'stop':
      await stopAll()
      setImmediate(() => process.exit(0))
      return null
  }
}

process.on('message', (msg: Request) => {
  handle(msg).then(
    (result) => send({ op: 'reply', id: msg.id, ok: true, result }),
    (err: Error) => send({ op: 'reply', id: msg.id, ok: false, error: err.stack ?? String(err) }),
  )
})

const exit = (code: number) => () => {
  void stopAll().finally(() => process.exit(code))
  setTimeout(() => process.exit(code), 3000).unref()
}
process.on('disconnect', exit(0))
process.on('SIGTERM', exit(0))
process.on('SIGINT', exit(0))
setTimeout(exit(3), Number(process.env.BENCH_WORKER_LIFETIME_MS ?? 30 * 60_000)).unref()
