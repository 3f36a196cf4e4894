/**
 * A confmesh peer serving the etcd API, as its own OS process (until `confmesh node --etcd` exists): createMesh +
 * createEtcdApi from the sources, then one JSON line on stdout `{ peerId, addresses, etcd }`; a clean stop on
 * SIGTERM/SIGINT. Options as JSON in argv[2]: `{ bootstrap?, dataDir?, namespace?, timing?, leaseCheckMs?,
 * progressNotifyMs? }`.
 *
 * Run with `tsx test/helpers/etcd-peer-process.ts '{"bootstrap":[...]}'`.
 *
 * @module
 */
import { createEtcdApi, createMesh } from '../../src/index.js'

interface PeerOptions {
  bootstrap?: string[]
  dataDir?: string
  namespace?: string
  timing?: { heartbeatMs?: number; memberTimeoutMs?: number; antiEntropyMs?: number }
  leaseCheckMs?: number
  progressNotifyMs?: number
}

const opts = JSON.parse(process.argv[2] ?? '{}') as PeerOptions
const mesh = await createMesh({
  ...(opts.bootstrap === undefined ? {} : { bootstrap: opts.bootstrap }),
  ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
  ...(opts.timing === undefined ? {} : { timing: opts.timing }),
})
const etcd = await createEtcdApi(mesh, {
  listen: '127.0.0.1:0',
  ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }),
  ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
  ...(opts.leaseCheckMs === undefined ? {} : { leaseCheckMs: opts.leaseCheckMs }),
  ...(opts.progressNotifyMs === undefined ? {} : { progressNotifyMs: opts.progressNotifyMs }),
})
process.stdout.write(`${JSON.stringify({ peerId: mesh.peerId, addresses: mesh.addresses, etcd: etcd.address })}\n`)

let stopping = false
const stop = async (): Promise<void> => {
  if (stopping) return
  stopping = true
  await etcd.close()
  await mesh.stop()
  process.exit(0)
}
process.on('SIGTERM', () => void stop())
process.on('SIGINT', () => void stop())
