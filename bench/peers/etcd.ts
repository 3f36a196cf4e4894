/**
 * etcd as a benchmark peer: a loopback server (one member, or a three-member cluster on distinct loopback ports, each
 * with its own temp data dir), and a client adapter that writes with `put` and watches every bench key with a prefix
 * watch (one gRPC connection per peer, as separate services would have).
 *
 * Each member runs under coreutils `timeout`, in its own process group, so it stops by itself after `maxLifetimeMs`
 * even if the coordinator is killed; `stop()` kills the group and removes the data dirs.
 *
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Etcd3, Range } from 'etcd3'
import { trackChild } from '../lib/cleanup.js'
import { nowMs } from '../lib/clock.js'
import { freePorts } from '../lib/ports.js'
import { childrenOf } from '../lib/procinfo.js'
import { waitFor } from '../lib/wait.js'
import type { BenchPeer, PeerChange } from './types.js'

/** Key prefix under which the benchmarks store their keys in etcd. */
const PREFIX = 'cm/'

/** A running etcd (one member or a cluster). */
export interface EtcdServer {
  /** Client URLs, one per member (`http://127.0.0.1:PORT`). */
  endpoints: string[]
  /** Process ids of the etcd members themselves (for RSS/CPU readings). */
  pids(): number[]
  stop(): Promise<void>
}

/** Options of {@link startEtcd}. */
export interface EtcdInit {
  /** 1 or 3 members. Default 1. */
  members?: number
  /** Hard lifetime of the servers, after which they exit by themselves. Default 30 min. */
  maxLifetimeMs?: number
  /** How long to wait for `/health` on every member. Default 30 s. */
  startTimeoutMs?: number
}

/**
 * Whether the `etcd` binary is on PATH (install it with bench/install-etcd.sh).
 *
 * @returns the version line, or `undefined` when etcd is not installed
 */
export function etcdVersion(): string | undefined {
  const r = spawnSync('etcd', ['--version'], { encoding: 'utf8' })
  if (r.error || r.status !== 0) return undefined
  return r.stdout.split('\n')[0]?.trim()
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // gone already
  }
}

/**
 * Start etcd on loopback and wait until every member reports healthy.
 *
 * @param init - member count and limits
 * @throws when a member exits early or does not become healthy in time (its stderr tail is in the message)
 */
export async function startEtcd(init: EtcdInit = {}): Promise<EtcdServer> {
  const members = init.members ?? 1
  const lifetimeS = Math.ceil((init.maxLifetimeMs ?? 30 * 60_000) / 1000)
  const ports = await freePorts(members * 2)
  const names = Array.from({ length: members }, (_, i) => `m${i}`)
  const clientUrl = (i: number) => `http://127.0.0.1:${ports[i * 2]}`
  const peerUrl = (i: number) => `http://127.0.0.1:${ports[i * 2 + 1]}`
  const cluster = names.map((n, i) => `${n}=${peerUrl(i)}`).join(',')
  const token = `confmesh-bench-${process.pid}-${Date.now()}`
  const dirs: string[] = []
  const procs: ChildProcess[] = []
  const logs: string[] = names.map(() => '')
  let stopped = false

  const stop = async () => {
    if (stopped) return
    stopped = true
    const exits = procs.map(
      (p) => new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r()))),
    )
    for (const p of procs) killGroup(p, 'SIGTERM')
    // a cluster member may take seconds to hand over leadership on SIGTERM; its data is thrown away anyway
    const timer = setTimeout(() => {
      for (const p of procs) killGroup(p, 'SIGKILL')
    }, 300)
    await Promise.all(exits)
    clearTimeout(timer)
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  }

  try {
    for (let i = 0; i < members; i++) {
      const dir = mkdtempSync(path.join(os.tmpdir(), `confmesh-bench-etcd-${names[i]}-`))
      dirs.push(dir)
      const args = [
        '--kill-after=5s',
        `${lifetimeS}s`,
        'etcd',
        `--name=${names[i]}`,
        `--data-dir=${dir}`,
        `--listen-client-urls=${clientUrl(i)}`,
        `--advertise-client-urls=${clientUrl(i)}`,
        `--listen-peer-urls=${peerUrl(i)}`,
        `--initial-advertise-peer-urls=${peerUrl(i)}`,
        `--initial-cluster=${cluster}`,
        '--initial-cluster-state=new',
        `--initial-cluster-token=${token}`,
        '--logger=zap',
        '--log-level=error',
      ]
      const child = spawn('timeout', args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true })
      trackChild(child, { group: true })
      procs.push(child)
      child.stderr?.on('data', (b: Buffer) => {
        logs[i] = (logs[i] + b.toString()).slice(-4000)
      })
    }
    await waitFor(
      async () => {
        for (const [i, p] of procs.entries()) {
          if (p.exitCode !== null || p.signalCode !== null) {
            throw Object.assign(new Error(`etcd ${names[i]} exited (${p.exitCode ?? p.signalCode}): ${logs[i]}`), {
              fatal: true,
            })
          }
        }
        const ok = await Promise.all(
          names.map(async (_, i) => {
            const res = await fetch(`${clientUrl(i)}/health`, { signal: AbortSignal.timeout(1000) })
            const body = (await res.json()) as { health?: string }
            return body.health === 'true'
          }),
        )
        return ok.every(Boolean)
      },
      { timeoutMs: init.startTimeoutMs ?? 30_000, intervalMs: 50, what: `etcd (${members} member) health` },
    ).catch((err: Error) => {
      const dead = procs.findIndex((p) => p.exitCode !== null || p.signalCode !== null)
      if (dead >= 0) throw new Error(`etcd ${names[dead]} exited early: ${logs[dead]}`)
      throw err
    })
  } catch (err) {
    await stop()
    throw err
  }
  return {
    endpoints: names.map((_, i) => clientUrl(i)),
    pids: () => procs.flatMap((p) => (p.pid === undefined ? [] : childrenOf(p.pid))),
    stop,
  }
}

/** Keys per page of the initial load (a single range response is capped by gRPC's 4 MiB message limit). */
const PAGE = 500

function parseValue(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString())
  } catch {
    return raw.toString()
  }
}

/**
 * One etcd client as a benchmark peer, as a config client is usually written: on start it loads every bench key
 * (paginated range reads) into a local cache, then watches the prefix from the next revision; reads are served from
 * the cache (like confmesh's and the relay client's local replicas). Its own gRPC connection.
 *
 * @param opts - the member endpoints this client talks to
 */
export async function createEtcdPeer(opts: { endpoints: string[] }): Promise<BenchPeer> {
  const client = new Etcd3({ hosts: opts.endpoints })
  const listeners: Array<(c: PeerChange) => void> = []
  const cache = new Map<string, unknown>()
  const emit = (key: string, value: unknown, t: number) => {
    cache.set(key, value)
    for (const l of listeners) l({ key, value, t })
  }
  // initial load, page by page, at the revision of the first page
  const end = Range.prefix(PREFIX).end
  let start: Buffer = Buffer.from(PREFIX)
  let revision: string | undefined
  const loaded: Array<[string, unknown]> = []
  for (;;) {
    const b = client.getAll().inRange(new Range(start, end)).limit(PAGE)
    const res = await (revision === undefined ? b : b.revision(revision)).exec()
    revision ??= res.header.revision
    for (const kv of res.kvs) {
      const entry: [string, unknown] = [kv.key.toString().slice(PREFIX.length), parseValue(kv.value)]
      cache.set(entry[0], entry[1])
      loaded.push(entry)
    }
    const last = res.kvs[res.kvs.length - 1]
    if (!res.more || !last) break
    start = Buffer.concat([last.key, Buffer.from([0])])
  }
  const watcher = await client
    .watch()
    .prefix(PREFIX)
    .startRevision(String(BigInt(revision ?? '0') + 1n))
    .create()
  watcher.on('put', (kv) => {
    const t = nowMs()
    emit(kv.key.toString().slice(PREFIX.length), parseValue(kv.value), t)
  })
  watcher.on('error', () => {
    // the client reconnects by itself; a lost event shows up as a miss in the results
  })
  return {
    system: 'etcd',
    addresses: [],
    async set(key, value) {
      await client.put(PREFIX + key).value(JSON.stringify(value))
    },
    async getMany(keys) {
      const out = new Map<string, unknown>()
      for (const k of keys) if (cache.has(k)) out.set(k, cache.get(k))
      return out
    },
    onChange(listener) {
      listeners.push(listener)
      // replay the initial load to the first listener, so a joining peer "sees" the config it loaded
      if (listeners.length === 1) {
        const t = nowMs()
        for (const [k, v] of loaded) emit(k, v, t)
        loaded.length = 0
      }
    },
    connections: () => undefined,
    stats: async () => ({}),
    async stop() {
      await watcher.cancel().catch(() => {})
      client.close()
    },
  }
}
