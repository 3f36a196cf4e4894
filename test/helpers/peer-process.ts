/**
 * Spawns confmesh peers as separate OS processes with a control channel (Node IPC), for tests where a crash,
 * a SIGKILL or a restart is the point. Children run the compiled package (`npm run build` first; `npm test` does).
 *
 * @module
 */
import { type ChildProcess, fork } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { MeshOptions } from '../../src/index.js'

const CHILD = fileURLToPath(new URL('./peer-child.mjs', import.meta.url))
const DIST = fileURLToPath(new URL('../../dist/src/index.js', import.meta.url))

/** A change event reported by a child. */
export interface ChildChange {
  namespace: string
  key: string
  value: unknown
  source: 'local' | 'remote'
  /** Wall-clock ms (performance.timeOrigin + now) in the child. */
  at: number
}

/** A write acknowledged by a child's `writeLoop` (its `set` resolved). */
export interface ChildAck {
  namespace: string
  key: string
  value: number
  /** Wall-clock ms in the child when the set resolved. */
  at: number
}

/** A peer running in its own process. */
export interface PeerProcess {
  readonly peerId: string
  readonly addresses: string[]
  readonly pid: number
  readonly changes: ChildChange[]
  /** Writes acknowledged by the `writeLoop` command, in arrival order. */
  readonly acks: ChildAck[]
  /** Sends a command; resolves with its result, rejects with the child's error (name, code, message). */
  call<T = unknown>(cmd: string, args?: object): Promise<T>
  /** SIGKILL, no goodbye; resolves once the process is gone. */
  kill(): Promise<void>
  /** Clean stop; resolves once the process exited. */
  stop(): Promise<void>
  readonly exited: Promise<number | null>
}

/** Options of {@link spawnPeer}: mesh options (JSON-serialisable) and whether to stream change events. */
export interface SpawnOptions {
  mesh?: Omit<MeshOptions, 'logger' | 'privateKey' | 'connectionGater'> & Record<string, unknown>
  watch?: boolean
  timeoutMs?: number
}

/** The error a child reported, with its name and code. */
export class ChildError extends Error {
  constructor(
    readonly remoteName: string,
    readonly code: string | undefined,
    message: string,
  ) {
    super(`${remoteName}: ${message}`)
  }
}

/** Starts a peer process; rejects with a {@link ChildError} if `createMesh` failed in the child. */
export async function spawnPeer(options: SpawnOptions = {}): Promise<PeerProcess> {
  if (!existsSync(DIST)) throw new Error('dist/ is missing: run `npm run build` before process tests')
  const proc: ChildProcess = fork(CHILD, [], {
    env: {
      ...process.env,
      CONFMESH_CHILD_OPTIONS: JSON.stringify(options.mesh ?? {}),
      CONFMESH_CHILD_WATCH: options.watch ? '1' : '0',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  const changes: ChildChange[] = []
  const acks: ChildAck[] = []
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  let nextId = 1
  const ready = await new Promise<{ peerId: string; addresses: string[]; pid: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('peer process did not start in time')), options.timeoutMs ?? 20_000)
    proc.on('message', (m: Record<string, unknown>) => {
      if (m.event === 'ready') {
        clearTimeout(timer)
        resolve(m as never)
      } else if (m.event === 'failed') {
        clearTimeout(timer)
        reject(new ChildError(String(m.name), m.code as string | undefined, String(m.message)))
      } else if (m.event === 'change') {
        changes.push(m as unknown as ChildChange)
      } else if (m.event === 'ack') {
        acks.push(m as unknown as ChildAck)
      } else if (typeof m.id === 'number') {
        const w = waiting.get(m.id)
        waiting.delete(m.id)
        if (m.ok) w?.resolve(m.result)
        else {
          const e = m.error as { name: string; code?: string; message: string }
          w?.reject(new ChildError(e.name, e.code, e.message))
        }
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`peer process exited with ${code} before it was ready`))
      for (const w of waiting.values()) w.reject(new Error(`peer process exited with ${code}`))
      waiting.clear()
    })
  })
  const peer: PeerProcess = {
    ...ready,
    changes,
    acks,
    exited,
    call<T>(cmd: string, args?: object): Promise<T> {
      const id = nextId++
      return new Promise<T>((resolve, reject) => {
        waiting.set(id, { resolve: resolve as (v: unknown) => void, reject })
        proc.send({ id, cmd, args })
      })
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
      await exited
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        await Promise.race([peer.call('stop').catch(() => {}), exited])
      }
      await exited
    },
  }
  return peer
}
