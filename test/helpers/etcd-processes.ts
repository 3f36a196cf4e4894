/**
 * Test helpers for the etcd API: agents as OS processes (`confmesh node --etcd 127.0.0.1:0`, through
 * test/helpers/agent-process.ts: the compiled package unless `CONFMESH_TEST_RUNNER=tsx`) and the real `etcdctl`
 * (Debian's etcd-client) run against them.
 *
 * @module
 */
import { execFile, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { startAgent } from './agent-process.js'

/** An agent process serving the etcd API. */
export interface EtcdPeer {
  readonly peerId: string
  readonly addresses: string[]
  /** `HOST:PORT` of its etcd API. */
  readonly etcd: string
  /** SIGTERM; resolves on exit. */
  stop(): Promise<void>
  /** SIGKILL; resolves on exit. */
  kill(): Promise<void>
}

/** Options of the agent. */
export interface EtcdPeerOptions {
  bootstrap?: string[]
  dataDir?: string
  /** `--etcd-namespace`. */
  namespace?: string
}

/** Starts `confmesh node --etcd 127.0.0.1:0 --json`; resolves once it printed its started event. */
export async function spawnEtcdPeer(options: EtcdPeerOptions = {}, timeoutMs = 45_000): Promise<EtcdPeer> {
  const args = ['--etcd', '127.0.0.1:0']
  for (const b of options.bootstrap ?? []) args.push('--bootstrap', b)
  if (options.namespace !== undefined) args.push('--etcd-namespace', options.namespace)
  const agent = await startAgent({
    args,
    http: false,
    timeoutMs,
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
  })
  const started = agent.events.find((e) => e.event === 'started')
  if (typeof started?.etcd !== 'string') {
    await agent.kill()
    throw new Error(`the agent's started event has no etcd address: ${JSON.stringify(started)}`)
  }
  return {
    peerId: agent.peerId,
    addresses: agent.addresses,
    etcd: started.etcd,
    stop: async () => {
      await agent.stop()
    },
    kill: () => agent.kill(),
  }
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
