/**
 * Parent side of a peer host (child.ts): one OS process running K >= 1 confmesh peers, driven over Node IPC
 * (protocol.ts). The one child-process harness of the repository: process tests (crash = SIGKILL, restart on the same
 * data dir), the ring benchmarks and the fleet benchmark all start their peers through {@link spawnHost}.
 *
 * A host keeps every event it receives (`changes`, `acks`) and lets callers subscribe to events; requests reject with
 * a {@link HostError} carrying the child's error name and code, or when the process exits first.
 *
 * @module
 */
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { childEntry, REPO_ROOT } from './entry.js'
import type { Command, HostMessage, HostStats, PeerInit, PeerRequest, StartedPeer } from './protocol.js'

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url))

/** An event a host sent (a `changes` batch arrives as its `change` events, in order). */
export type HostEvent = Exclude<Extract<HostMessage, { event: string }>, { event: 'changes' }>
/** A `change` event (a watch callback fired in the host). */
export type HostChange = Extract<HostEvent, { event: 'change' }>
/** An `ack` event (a `writeLoop` set resolved). */
export type HostAck = Extract<HostEvent, { event: 'ack' }>

/** The error a host reported, with its name and code. */
export class HostError extends Error {
  constructor(
    readonly remoteName: string,
    readonly code: string | undefined,
    message: string,
  ) {
    super(`${remoteName}: ${message}`)
  }
}

/** Options of {@link spawnHost}. */
export interface SpawnHostOptions {
  /** Peers to start at once (more can be started later with {@link PeerHost.start}). Default none. */
  peers?: PeerInit[]
  /** Stream `change` events from the first moment (before `start` resolves). Default false. */
  watch?: boolean
  /** Deadline for the process to come up and start `peers`. Default 30 s. */
  timeoutMs?: number
  /** Extra Node flags (e.g. `--expose-gc`). */
  execArgv?: string[]
}

/** Distributive `Omit<…, 'cmd'>` of one peer command. */
type PeerArgs<C extends PeerRequest['cmd']> = Omit<Extract<PeerRequest, { cmd: C }>, 'id' | 'cmd' | 'peer'>

/** One peer host process. */
export class PeerHost {
  readonly pid: number
  /** The peers started so far, by index. */
  readonly peers: StartedPeer[] = []
  /** Every `change` event received (while watching). */
  readonly changes: HostChange[] = []
  /** Every `ack` event received. */
  readonly acks: HostAck[] = []
  /** Resolves with the exit code (null after a signal) once the process is gone. */
  readonly exited: Promise<number | null>
  readonly #child: ChildProcess
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  readonly #listeners = new Set<(e: HostEvent) => void>()
  #next = 1

  /** @internal use {@link spawnHost} */
  constructor(child: ChildProcess) {
    this.#child = child
    this.pid = child.pid ?? -1
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        for (const w of this.#pending.values()) w.reject(new Error(`peer host exited with ${code}`))
        this.#pending.clear()
        resolve(code)
      })
    })
    child.on('message', (m: HostMessage) => {
      if ('event' in m) {
        for (const e of m.event === 'changes' ? m.changes : [m]) {
          if (e.event === 'change') this.changes.push(e)
          else if (e.event === 'ack') this.acks.push(e)
          for (const l of this.#listeners) l(e)
        }
        return
      }
      const w = this.#pending.get(m.id)
      if (w === undefined) return
      this.#pending.delete(m.id)
      if (m.ok) w.resolve(m.result)
      else w.reject(new HostError(m.error.name, m.error.code, m.error.message))
    })
  }

  /** Whether the process is still running. */
  get alive(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null
  }

  /** Subscribe to events; returns the unsubscribe function. */
  on(listener: (e: HostEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Sends one request; resolves with its result. */
  request<T = unknown>(command: Command): Promise<T> {
    if (!this.alive) return Promise.reject(new Error('peer host is not running'))
    const id = this.#next++
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.#child.send({ ...command, id })
    })
  }

  /** Starts more peers in this host (one after another); resolves with their start records. */
  async start(peers: PeerInit[]): Promise<StartedPeer[]> {
    const started = await this.request<StartedPeer[]>({ cmd: 'start', peers })
    this.peers.push(...started)
    return started
  }

  /** A command to one peer of the host. */
  call<T = unknown, C extends PeerRequest['cmd'] = PeerRequest['cmd']>(
    cmd: C,
    args?: PeerArgs<C>,
    peer = 0,
  ): Promise<T> {
    return this.request<T>({ ...(args ?? {}), cmd, peer } as Command)
  }

  /** Turns streaming of `change` events on or off. */
  async watch(on: boolean): Promise<void> {
    await this.request({ cmd: 'watch', on })
  }

  /** Asks for `members` events at `count` members and/or `gone` events once every id in `gone` left (protocol.ts). */
  async track(what: { count?: number; gone?: string[] }): Promise<void> {
    await this.request({ cmd: 'track', ...what })
  }

  /** Turns the event-loop delay monitor on or off (protocol.ts `loopDelay`). */
  async loopDelay(on: boolean): Promise<void> {
    await this.request({ cmd: 'loopDelay', on })
  }

  /** CPU, memory, I/O and per-peer traffic readings. */
  stats(): Promise<HostStats> {
    return this.request<HostStats>({ cmd: 'stats' })
  }

  /** SIGKILL, no goodbye; resolves once the process is gone. */
  async kill(): Promise<void> {
    if (this.alive) this.#child.kill('SIGKILL')
    await this.exited
  }

  /** Clean stop of every peer, then the process exits (SIGKILL after `graceMs`, default 10 s). */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.alive) {
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs)
      await Promise.race([this.request({ cmd: 'stop' }).catch(() => {}), this.exited])
      await this.exited
      clearTimeout(timer)
    }
  }
}

/**
 * Forks a peer host and starts `options.peers` in it; on failure the process is killed and the error rethrown
 * (a {@link HostError} when `createMesh` failed in the child).
 */
export async function spawnHost(options: SpawnHostOptions = {}): Promise<PeerHost> {
  const entry = await childEntry(CHILD)
  const child = fork(entry.file, [], {
    cwd: REPO_ROOT,
    execArgv: [...entry.execArgv, ...(options.execArgv ?? [])],
    env: { ...process.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const host = new PeerHost(child)
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      (async () => {
        await new Promise<void>((resolve, reject) => {
          const off = host.on((e) => {
            if (e.event === 'up') {
              off()
              resolve()
            }
          })
          host.exited.then((code) => reject(new Error(`peer host exited with ${code} before it was up`)))
        })
        if (options.watch) await host.watch(true)
        if (options.peers?.length) await host.start(options.peers)
      })(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('peer host did not start in time')), options.timeoutMs ?? 30_000)
      }),
    ])
    return host
  } catch (err) {
    await host.kill()
    throw err
  } finally {
    clearTimeout(timer)
  }
}

/** Stops every host, ignoring errors. */
export async function stopHosts(hosts: ReadonlyArray<PeerHost | undefined>): Promise<void> {
  await Promise.all(hosts.map((h) => h?.stop().catch(() => {})))
}
