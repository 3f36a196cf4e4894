/**
 * Parent side of `bench/ring-mesh-host.ts`: starts confmesh peers as separate Node processes (one peer each) and
 * drives them over IPC. Used by `bench/ring-mesh.ts` and `test/integration/ring-join.test.ts`.
 *
 * @module
 */
import { type ChildProcess, fork } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { MeshOptions } from '../src/index.js'
import type { HostRequest, HostState } from './ring-mesh-host.js'

const HOST = fileURLToPath(new URL('./ring-mesh-host.ts', import.meta.url))

let bundled: Promise<{ file: string; execArgv: string[] }> | undefined

/**
 * The host entry point: bundled once per parent process with esbuild (shipped with tsx; npm packages stay external)
 * so children start without a TypeScript loader, else the `.ts` file through tsx.
 */
function hostEntry(): Promise<{ file: string; execArgv: string[] }> {
  bundled ??= (async () => {
    const tsx = { file: HOST, execArgv: ['--import', import.meta.resolve('tsx')] }
    try {
      const esbuild = (await import('esbuild')) as unknown as {
        build(options: Record<string, unknown>): Promise<unknown>
      }
      // Inside the repository, so the bundle's bare imports resolve from node_modules.
      const root = path.join(path.dirname(HOST), '.build')
      mkdirSync(root, { recursive: true })
      const dir = mkdtempSync(path.join(root, 'ring-mesh-'))
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
      const file = path.join(dir, 'host.mjs')
      await esbuild.build({
        entryPoints: [HOST],
        outfile: file,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        packages: 'external',
        absWorkingDir: path.dirname(HOST),
        logLevel: 'silent',
      })
      return { file, execArgv: [] }
    } catch {
      return tsx
    }
  })()
  return bundled
}

/** A peer running in its own process. */
export interface RemotePeer {
  readonly peerId: string
  readonly addresses: string[]
  /** The peer's replica state and counters. */
  state(): Promise<HostState>
  /** `namespace(ns).update(batch)` on the peer. */
  write(namespace: string, batch: Record<string, string>): Promise<void>
  /** Stops the peer and its process. */
  stop(): Promise<void>
}

type Distribute<T> = T extends unknown ? Omit<T, 'id'> : never

class Host implements RemotePeer {
  peerId = ''
  addresses: string[] = []
  readonly #child: ChildProcess
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  readonly #ready: Promise<void>
  #next = 1

  constructor(entry: { file: string; execArgv: string[] }) {
    this.#child = fork(entry.file, [], {
      execArgv: entry.execArgv,
      cwd: path.join(path.dirname(HOST), '..'),
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { ...process.env },
    })
    this.#ready = new Promise((resolve, reject) => {
      this.#pending.set(0, { resolve: () => resolve(), reject })
    })
    this.#child.on('message', (msg: { id: number; ok: boolean; result?: unknown; error?: string }) => {
      const waiter = this.#pending.get(msg.id)
      if (waiter === undefined) return
      this.#pending.delete(msg.id)
      if (msg.ok) waiter.resolve(msg.result)
      else waiter.reject(new Error(msg.error))
    })
    this.#child.on('exit', (code) => {
      for (const w of this.#pending.values()) w.reject(new Error(`peer process exited (${code})`))
      this.#pending.clear()
    })
  }

  async call<T>(req: Distribute<HostRequest>): Promise<T> {
    await this.#ready
    const id = this.#next++
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.#child.send({ ...req, id })
    })
  }

  async start(options: MeshOptions): Promise<void> {
    const r = await this.call<{ peerId: string; addresses: string[] }>({ cmd: 'start', options })
    this.peerId = r.peerId
    this.addresses = r.addresses
  }

  state(): Promise<HostState> {
    return this.call({ cmd: 'state' })
  }

  async write(namespace: string, batch: Record<string, string>): Promise<void> {
    await this.call({ cmd: 'write', namespace, batch })
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return
    const exited = new Promise((resolve) => this.#child.once('exit', resolve))
    await this.call({ cmd: 'stop' }).catch(() => {})
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000).unref())])
    if (this.#child.exitCode === null) this.#child.kill('SIGKILL')
  }
}

/** Starts one peer in a new process with `options` (plain JSON: no logger, gater or keys). */
export async function spawnPeer(options: MeshOptions = {}): Promise<RemotePeer> {
  const host = new Host(await hostEntry())
  try {
    await host.start(options)
  } catch (err) {
    await host.stop()
    throw err
  }
  return host
}

/** Stops every peer, ignoring errors. */
export async function stopPeers(peers: ReadonlyArray<RemotePeer | undefined>): Promise<void> {
  await Promise.all(peers.map((p) => p?.stop().catch(() => {})))
}
