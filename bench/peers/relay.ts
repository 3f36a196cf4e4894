/**
 * The central-relay alternative (y-websocket style) as a benchmark peer: {@link startRelay} runs the relay server
 * (relay-server.ts) in a child process; {@link createRelayPeer} is one client, a `y-websocket` WebsocketProvider on its
 * own Y.Doc, with the config in a `Y.Map` named `config` (what a user of the relay would write).
 *
 * @module
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { trackChild } from '../lib/cleanup.js'
import { nowMs } from '../lib/clock.js'
import { entrypoints, REPO_ROOT } from '../lib/spawn.js'
import { withDeadline } from '../lib/wait.js'
import type { BenchPeer, PeerChange } from './types.js'

/** A running relay server. */
export interface RelayServer {
  /** `ws://127.0.0.1:PORT` */
  url: string
  /** Process id of the relay (for RSS/CPU readings). */
  pid: number
  stop(): Promise<void>
}

/**
 * Start the relay server in a child process on a random loopback port and wait until it listens.
 *
 * @param opts - `maxLifetimeMs`: the relay exits by itself after this long (default 30 min); `startTimeoutMs`
 */
export async function startRelay(opts: { maxLifetimeMs?: number; startTimeoutMs?: number } = {}): Promise<RelayServer> {
  const entry = (await entrypoints()).relayServer
  const child = trackChild(
    spawn(process.execPath, [...entry.execArgv, entry.file, '0', String(opts.maxLifetimeMs ?? 30 * 60_000)], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  )
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.stdin?.end()
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
    await exited
    clearTimeout(timer)
  }
  try {
    const port = await withDeadline(
      new Promise<number>((resolve, reject) => {
        const rl = createInterface({ input: child.stdout! })
        rl.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port))
        child.once('exit', (code) => reject(new Error(`relay exited early (${code})`)))
      }),
      opts.startTimeoutMs ?? 30_000,
      'relay server to listen',
    )
    return { url: `ws://127.0.0.1:${port}`, pid: child.pid!, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

/**
 * One relay client as a benchmark peer. Resolves once the provider has synced with the relay.
 *
 * @param opts - relay URL, room name, and the sync deadline (default 30 s)
 */
export async function createRelayPeer(opts: { url: string; room: string; syncTimeoutMs?: number }): Promise<BenchPeer> {
  const doc = new Y.Doc()
  const map = doc.getMap<unknown>('config')
  const provider = new WebsocketProvider(opts.url, opts.room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  })
  const listeners: Array<(c: PeerChange) => void> = []
  map.observe((event) => {
    const t = nowMs()
    for (const key of event.keysChanged) {
      const value = map.get(key)
      for (const l of listeners) l({ key, value, t })
    }
  })
  try {
    await withDeadline(
      new Promise<void>((resolve) => {
        if (provider.synced) resolve()
        const onSync = (synced: boolean) => {
          if (synced) {
            provider.off('sync', onSync)
            resolve()
          }
        }
        provider.on('sync', onSync)
      }),
      opts.syncTimeoutMs ?? 30_000,
      'relay client to sync',
    )
  } catch (err) {
    provider.destroy()
    doc.destroy()
    throw err
  }
  return {
    system: 'relay',
    addresses: [],
    async set(key, value) {
      map.set(key, value)
    },
    async getMany(keys) {
      const out = new Map<string, unknown>()
      for (const k of keys) {
        const v = map.get(k)
        if (v !== undefined) out.set(k, v)
      }
      return out
    },
    onChange(listener) {
      listeners.push(listener)
    },
    connections: () => (provider.wsconnected ? 1 : 0),
    stats: async () => ({ documentBytes: Y.encodeStateAsUpdate(doc).byteLength }),
    async stop() {
      provider.destroy()
      doc.destroy()
    },
  }
}
