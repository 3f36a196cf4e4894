/**
 * Child process of `bench/ring-mesh-cluster.ts`: hosts ONE confmesh peer and obeys its parent over Node IPC.
 * Real deployments run one peer per process; measuring 30 peers inside one Node process instead measures that
 * process's event loop (every peer's signature checks and handshakes queue behind each other's).
 *
 * Requests (`{ id, cmd, ... }`, answered by `{ id, ok, result | error }`): `start` (mesh options), `write`
 * (namespace + batch), `state`, `stop` (then the process exits). The process also exits when its parent goes away.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import '../src/polyfill.js'
import { type ConfigMesh, createMesh, type MeshOptions } from '../src/index.js'
import { colocatedTransport } from '../test/helpers/cluster.js'

/** A request from the parent. */
export type HostRequest =
  | { id: number; cmd: 'start'; options: MeshOptions }
  | { id: number; cmd: 'write'; namespace: string; batch: Record<string, string> }
  | { id: number; cmd: 'state' }
  | { id: number; cmd: 'stop' }

/** What `state` answers. */
export interface HostState {
  peerId: string
  /** Live members seen (other than this one). */
  peers: number
  /** Of which connected. */
  connected: number
  /** Of which ready (hold their first state). */
  ready: number
  /** Keys in namespace `app`. */
  keys: number
  /** Digest of the replica (JSON of every namespace + state vector); equal digests = converged. */
  digest: string
  pending: boolean
  /** `stats().documentBytes`. */
  documentBytes: number
  counters: Record<string, number>
}

let mesh: ConfigMesh | undefined

async function state(m: ConfigMesh): Promise<HostState> {
  const d = m.diagnostics()
  const json = JSON.stringify(
    m
      .namespaces()
      .filter((n) => !n.startsWith('__'))
      .map((n) => [n, m.namespace(n).toJSON()]),
  )
  const sv = JSON.stringify(Object.entries(d.stateVector).sort(([a], [b]) => Number(a) - Number(b)))
  const peers = m.peers()
  return {
    peerId: m.peerId,
    peers: peers.length,
    connected: peers.filter((p) => p.connected).length,
    ready: peers.filter((p) => p.ready).length,
    keys: m.namespace('app').keys().length,
    digest: createHash('sha1').update(json).update(sv).digest('hex'),
    pending: d.pending,
    documentBytes: (await m.stats()).documentBytes,
    counters: d.counters,
  }
}

async function handle(req: HostRequest): Promise<unknown> {
  switch (req.cmd) {
    case 'start': {
      // Every bench peer is on 127.0.0.1: libp2p would rate-limit their connections as one host's (test-only).
      mesh = await createMesh({ ...req.options, transport: colocatedTransport(req.options) })
      return { peerId: mesh.peerId, addresses: mesh.addresses }
    }
    case 'write':
      await mesh!.namespace(req.namespace).update(req.batch)
      return null
    case 'state':
      return state(mesh!)
    case 'stop':
      await mesh?.stop()
      setImmediate(() => process.exit(0))
      return null
  }
}

process.on('message', (req: HostRequest) => {
  handle(req).then(
    (result) => process.send?.({ id: req.id, ok: true, result }),
    (err: Error) => process.send?.({ id: req.id, ok: false, error: `${err.name}: ${err.message}` }),
  )
})
process.on('disconnect', () => {
  setTimeout(() => process.exit(0), 5_000).unref()
  void (mesh?.stop() ?? Promise.resolve()).finally(() => process.exit(0))
})
process.send?.({ id: 0, ok: true, result: 'ready' })
