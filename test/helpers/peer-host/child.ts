/**
 * A peer host: one OS process running K >= 1 confmesh peers, obeying its parent over Node IPC (protocol.ts). Tests
 * use it where a crash (SIGKILL), a restart from a data dir or a separate process is the point; benchmarks use it to
 * run many real peers on few processes (each peer a full libp2p node on its own TCP port).
 *
 * Every peer's transport is the libp2p transport `createMesh` would build, wrapped to count traffic (traffic.ts).
 * The process exits when its parent goes away (IPC closed), on `stop`, or by SIGKILL.
 *
 * @module
 */
import '../../../src/polyfill.js'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { type ConfigMesh, createMesh, type MeshOptions } from '../../../src/index.js'
import type { Transport } from '../../../src/transport/transport.js'
import { loopbackTransport } from '../cluster.js'
import type {
  HostMessage,
  HostPeerStats,
  HostRequest,
  HostStats,
  PeerInit,
  PeerRequest,
  PeerState,
  ReplicaDigest,
  StartedPeer,
  TrafficCounters,
} from './protocol.js'
import { countingTransport, zeroTraffic } from './traffic.js'

interface Hosted {
  index: number
  mesh: ConfigMesh
  traffic: TrafficCounters
  /** The peer's transport (wrapped), for its connection count. */
  transport: Transport | undefined
  writing: boolean
  loop: Promise<unknown>
}

const hosted: Hosted[] = []
const loopDelay = monitorEventLoopDelay({ resolution: 20 })
loopDelay.enable()
let watching = false
process.setMaxListeners(0)

const at = () => performance.timeOrigin + performance.now()
const mono = () => Number(process.hrtime.bigint() / 1000n) / 1000
/** `change` events waiting for the end of this event-loop turn (sent as one `changes` message; protocol.ts). */
let changes: Array<Extract<HostMessage, { event: 'change' }>> = []
const flushChanges = () => {
  if (changes.length === 0) return
  const batch = changes
  changes = []
  if (process.connected) process.send?.({ event: 'changes', changes: batch })
}
/** Sends a message to the parent; `change` events wait for the turn's end, anything else goes after them at once. */
const send = (msg: HostMessage) => {
  if ('event' in msg && msg.event === 'change') {
    if (changes.length === 0) setImmediate(flushChanges)
    changes.push(msg)
    return
  }
  flushChanges()
  if (process.connected) process.send?.(msg)
}

function peer(index: number | undefined): Hosted {
  const h = hosted[index ?? 0]
  if (h === undefined) throw new Error(`no peer ${index ?? 0} in this host`)
  return h
}

async function start(inits: PeerInit[]): Promise<StartedPeer[]> {
  const out: StartedPeer[] = []
  for (const init of inits) {
    const local = (init.bootstrapLocal ?? []).flatMap((i) => peer(i).mesh.addresses)
    const options = {
      ...init.mesh,
      bootstrap: [...(init.mesh?.bootstrap ?? []), ...local],
    } as MeshOptions
    const traffic = zeroTraffic()
    const factory = loopbackTransport(options, { colocated: init.colocated === true })
    const tBegin = mono()
    let transport: Transport | undefined
    const mesh = await createMesh({
      ...options,
      transport: async (identity) => {
        transport = countingTransport(await factory(identity), traffic)
        return transport
      },
    })
    const h: Hosted = { index: hosted.length, mesh, traffic, transport, writing: false, loop: Promise.resolve() }
    hosted.push(h)
    mesh.watchAll((e) => {
      if (!watching) return
      const t = mono()
      send({
        event: 'change',
        peer: h.index,
        namespace: e.namespace,
        key: e.key,
        value: e.value,
        source: e.source,
        at: at(),
        t,
      })
    })
    out.push({ index: h.index, peerId: mesh.peerId, addresses: mesh.addresses, tBegin, tReady: mono() })
  }
  return out
}

/** Reports `members` / `gone` once per peer, on the membership events (no polling). */
function track(count: number | undefined, gone: string[] | undefined): void {
  for (const h of hosted) {
    let countDone = count === undefined
    let goneDone = gone === undefined
    const check = () => {
      const ids = h.mesh.peers().map((p) => p.peerId)
      if (!countDone && ids.length >= count!) {
        countDone = true
        send({ event: 'members', peer: h.index, count: ids.length, at: at(), t: mono() })
      }
      if (!goneDone && !gone!.some((g) => ids.includes(g))) {
        goneDone = true
        send({ event: 'gone', peer: h.index, at: at(), t: mono() })
      }
      if (countDone && goneDone) h.mesh.events.removeEventListener('peers:change', check)
    }
    h.mesh.events.addEventListener('peers:change', check)
    check()
  }
}

function procIo(): { rchar: number; wchar: number } {
  try {
    const text = readFileSync('/proc/self/io', 'utf8')
    const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(text)?.[1] ?? -1)
    return { rchar: field('rchar'), wchar: field('wchar') }
  } catch {
    return { rchar: -1, wchar: -1 }
  }
}

function stats(): HostStats {
  const cpu = process.cpuUsage()
  const mem = process.memoryUsage()
  const peers: HostPeerStats[] = hosted.map((h) => {
    const members = h.mesh.peers()
    return {
      index: h.index,
      peerId: h.mesh.peerId,
      members: members.length,
      connected: members.filter((p) => p.connected).length,
      connections: h.transport?.connections().length ?? 0,
      traffic: { ...h.traffic },
      counters: h.mesh.diagnostics().counters,
    }
  })
  const out: HostStats = {
    pid: process.pid,
    cpuUs: cpu.user + cpu.system,
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    ...procIo(),
    t: mono(),
    eventLoopDelay:
      loopDelay.count === 0
        ? { p50Ms: 0, p99Ms: 0, maxMs: 0 }
        : {
            p50Ms: loopDelay.percentile(50) / 1e6,
            p99Ms: loopDelay.percentile(99) / 1e6,
            maxMs: loopDelay.max / 1e6,
          },
    peers,
  }
  loopDelay.reset()
  return out
}

function state(mesh: ConfigMesh): PeerState {
  return {
    json: Object.fromEntries(mesh.namespaces().map((n) => [n, mesh.namespace(n).toJSON()])) as PeerState['json'],
    diagnostics: mesh.diagnostics(),
    peers: mesh.peers().map((p) => ({ peerId: p.peerId, connected: p.connected, ready: p.ready })),
  }
}

async function replica(mesh: ConfigMesh): Promise<ReplicaDigest> {
  const d = mesh.diagnostics()
  const json = JSON.stringify(
    mesh
      .namespaces()
      .filter((n) => !n.startsWith('__'))
      .map((n) => [n, mesh.namespace(n).toJSON()]),
  )
  const sv = JSON.stringify(Object.entries(d.stateVector).sort(([a], [b]) => Number(a) - Number(b)))
  const peers = mesh.peers()
  return {
    peerId: mesh.peerId,
    peers: peers.length,
    connected: peers.filter((p) => p.connected).length,
    ready: peers.filter((p) => p.ready).length,
    keys: mesh.namespace('app').keys().length,
    digest: createHash('sha1').update(json).update(sv).digest('hex'),
    pending: d.pending,
    documentBytes: (await mesh.stats()).documentBytes,
    counters: d.counters,
  }
}

/** A background writer that reports every acknowledged (resolved) set as an `ack` event (durability tests). */
function writeLoop(h: Hosted, req: Extract<PeerRequest, { cmd: 'writeLoop' }>): true {
  const { namespace = 'default', prefix, from = 0, count = Number.MAX_SAFE_INTEGER, inFlight = 1, pauseMs = 0 } = req
  h.writing = true
  let next = from
  const end = from + count
  const worker = async () => {
    while (h.writing && next < end) {
      const i = next++
      const key = `${prefix}${i}`
      await h.mesh.namespace(namespace).set(key, i)
      send({ event: 'ack', peer: h.index, namespace, key, value: i, at: at(), t: mono() })
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs))
    }
  }
  h.loop = Promise.all(Array.from({ length: inFlight }, worker)).catch((err: Error) =>
    send({ event: 'writeLoopFailed', peer: h.index, name: err?.name, message: err?.message }),
  )
  return true
}

async function onPeer(req: PeerRequest): Promise<unknown> {
  const h = peer(req.peer)
  const ns = (n: string | undefined) => h.mesh.namespace(n ?? 'default')
  switch (req.cmd) {
    case 'set': {
      const t0 = mono()
      await ns(req.namespace).set(req.key, req.value as never)
      return { at: at(), t0, t1: mono() }
    }
    case 'delete':
      await ns(req.namespace).delete(req.key)
      return { at: at() }
    case 'get':
      return ns(req.namespace).get(req.key) ?? null
    case 'update':
      await ns(req.namespace).update(req.batch as never)
      return null
    case 'dump':
      return ns(req.namespace).toJSON()
    case 'state':
      return state(h.mesh)
    case 'replica':
      return replica(h.mesh)
    case 'connect':
      await h.mesh.connect(req.address)
      return true
    case 'history':
      return h.mesh.history().length
    case 'writeLoop':
      return writeLoop(h, req)
    case 'stopWriteLoop':
      h.writing = false
      await h.loop
      return true
  }
}

let stopping: Promise<void> | undefined
function stopAll(): Promise<void> {
  stopping ??= Promise.allSettled(hosted.map((h) => h.mesh.stop())).then(() => {})
  return stopping
}

async function handle(req: HostRequest): Promise<unknown> {
  switch (req.cmd) {
    case 'start':
      return start(req.peers)
    case 'watch':
      watching = req.on
      return null
    case 'track':
      track(req.count, req.gone)
      return null
    case 'stats':
      return stats()
    case 'loopDelay':
      if (req.on) loopDelay.enable()
      else loopDelay.disable()
      return null
    case 'stopPeer':
      await peer(req.peer).mesh.stop()
      return null
    case 'stop':
      await stopAll()
      setImmediate(() => process.exit(0))
      return null
    default:
      return onPeer(req)
  }
}

process.on('message', (req: HostRequest) => {
  handle(req).then(
    (result) => send({ id: req.id, ok: true, result }),
    (err: Error & { code?: string }) =>
      send({ id: req.id, ok: false, error: { name: err?.name, code: err?.code, message: err?.message } }),
  )
})
process.on('disconnect', () => {
  setTimeout(() => process.exit(0), 5_000).unref()
  void stopAll().finally(() => process.exit(0))
})
send({ event: 'up', pid: process.pid })
