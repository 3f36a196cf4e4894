/**
 * Test helpers for the etcd API: agents as OS processes (test/helpers/etcd-peer-process.ts) and the real `etcdctl`
 * (Debian's etcd-client) run against them.
 *
 * @module
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const PEER = fileURLToPath(new URL('./etcd-peer-process.ts', import.meta.url))

/** An agent process serving the etcd API. */
export interface EtcdPeer {
  readonly peerId: string
  readonly addresses: string[]
  /** `HOST:PORT` of its etcd API. */
  readonly etcd: string
  readonly proc: ChildProcess
  /** SIGTERM; resolves on exit. */
  stop(): Promise<void>
  /** SIGKILL; resolves on exit. */
  kill(): Promise<void>
}

/** Options of the peer process (see etcd-peer-process.ts). */
export interface EtcdPeerOptions {
  bootstrap?: string[]
  dataDir?: string
  namespace?: string
  timing?: { heartbeatMs?: number; memberTimeoutMs?: number; antiEntropyMs?: number }
  leaseCheckMs?: number
  progressNotifyMs?: number
}

/** Starts an agent process; resolves once it printed its addresses. */
export async function spawnEtcdPeer(options: EtcdPeerOptions = {}, timeoutMs = 45_000): Promise<EtcdPeer> {
  const proc = spawn(process.execPath, ['--import', 'tsx', PEER, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      reject(new Error(`etcd peer did not start within ${timeoutMs} ms`))
    }, timeoutMs)
    const rl = createInterface({ input: proc.stdout! })
    rl.once('line', (l) => {
      clearTimeout(timer)
      resolve(l)
    })
    proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`etcd peer exited with ${code} before starting`))
    })
  })
  const info = JSON.parse(line) as { peerId: string; addresses: string[]; etcd: string }
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(sig)
    await exited
  }
  return { ...info, proc, stop: () => signal('SIGTERM'), kill: () => signal('SIGKILL') }
}

/** The outcome of one etcdctl run. */
export interface EtcdctlResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs `etcdctl --endpoints=<endpoint> ...args` (API v3), with `input` on stdin. Never rejects on a non-zero exit. */
export function etcdctl(endpoint: string, args: string[], input?: string): Promise<EtcdctlResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'etcdctl',
      [`--endpoints=${endpoint}`, '--dial-timeout=10s', '--command-timeout=20s', ...args],
      { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err !== null && typeof err.code !== 'number') {
          reject(err)
          return
        }
        resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr })
      },
    )
    if (input !== undefined) child.stdin!.end(input)
    else child.stdin!.end()
  })
}

/** A long-running `etcdctl watch` whose output lines are collected. */
export interface EtcdctlWatch {
  readonly lines: string[]
  stop(): Promise<void>
}

/** Starts `etcdctl watch ...args` against `endpoint`. */
export function etcdctlWatch(endpoint: string, args: string[]): EtcdctlWatch {
  const child = spawn('etcdctl', [`--endpoints=${endpoint}`, '--dial-timeout=10s', 'watch', ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    lines,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}
