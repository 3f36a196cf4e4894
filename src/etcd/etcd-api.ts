/**
 * The etcd v3 API of one confmesh peer: etcd's own gRPC services (KV, Watch, Lease, Cluster MemberList,
 * Maintenance Status) answered from the local replica, so etcdctl and the etcd client of any language read, write
 * and watch confmesh config. Calls not implemented answer `UNIMPLEMENTED`, bad requests `INVALID_ARGUMENT`; no
 * request can crash the process.
 *
 * This is NOT a linearizable store: reads are local, writes are local then gossiped, and concurrent writes on
 * different agents resolve by last-writer-wins. Revisions are this agent's own numbering. See docs/etcd.md.
 *
 * @module
 */

import { isIP } from 'node:net'
import { Server, ServerCredentials } from '@grpc/grpc-js'
import { assertValidNamespace } from '../config/key.js'
import { DEFAULT_NAMESPACE } from '../config/namespace.js'
import { DEFAULT_MAX_VALUE_BYTES } from '../config/value.js'
import { createDefaultLogger, type MeshLogger } from '../logger.js'
import type { ConfigMesh } from '../mesh/config-mesh.js'
import type { EtcdContext } from './context.js'
import { EtcdListenError } from './errors.js'
import { attachNamespace, DEFAULT_LEASE_CHECK_MS, ETCD_AGENTS_NAMESPACE, EtcdLeases } from './etcd-leases.js'
import { headerSource } from './header.js'
import { kvService } from './kv-service.js'
import { leaseService } from './lease-service.js'
import { clusterService, maintenanceService } from './member-service.js'
import { loadEtcdServices, tolerantService } from './proto.js'
import { openRevisionFile, type RevisionFile } from './revision-file.js'
import { DEFAULT_RETAIN_REVISIONS, RevisionStore } from './revision-store.js'
import { watchService } from './watch-service.js'

/** Default period of watch progress notifications, ms (etcd's default: 10 minutes). */
export const DEFAULT_PROGRESS_NOTIFY_MS = 10 * 60_000

/** Options of {@link createEtcdApi}. */
export interface EtcdApiOptions {
  /** `HOST:PORT` to serve on (`[::1]:2379` for IPv6); port 0 picks a free one. Required. */
  listen: string
  /** The confmesh namespace whose keys are the etcd keys. Default `'default'`. */
  namespace?: string
  /**
   * Directory for the revision state (`etcd-<namespace>.json`, see docs/etcd.md); pass the mesh's `dataDir` so
   * revisions keep growing across restarts. Default: none (revisions restart at 1 with the process).
   */
  dataDir?: string
  /** Revisions kept for reads and watches at an old revision. Default 10000; older ones answer "compacted". */
  retainRevisions?: number
  /** Largest value a put accepts; use the mesh's `maxValueBytes`. Default 16 MiB (the mesh's default). */
  maxValueBytes?: number
  /** Period of watch progress notifications, ms. Default 600000 (etcd's). */
  progressNotifyMs?: number
  /** Period of the lease expiry check, ms. Default 250. */
  leaseCheckMs?: number
  /**
   * Serve on a non-loopback address. The etcd API has no authentication: anyone who reaches it reads and writes the
   * namespace. Default `false` (a non-loopback `listen` throws {@link EtcdListenError}).
   */
  allowRemote?: boolean
  /** Where log lines go. Default: the `debug` logger (`DEBUG=confmesh*`). */
  logger?: MeshLogger
}

/** A running etcd API. */
export interface EtcdApi {
  /** `HOST:PORT` it serves on (the chosen port when `listen` asked for 0). */
  readonly address: string
  /** Stops serving: open streams end, the revision state is written. Idempotent; the mesh keeps running. */
  close(): Promise<void>
}

/**
 * Checks an etcd API listen address (`HOST:PORT`, `[IPv6]:PORT`) without binding it: throws {@link EtcdListenError}
 * when malformed, or not loopback without `allowRemote`. For callers that validate options before starting anything.
 */
export function parseEtcdListen(listen: string, allowRemote = false): { host: string; port: number } {
  const m = typeof listen === 'string' ? /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen) : null
  const port = Number(m?.[3])
  if (m === null || port > 65535) throw new EtcdListenError(`listen must be HOST:PORT, got ${JSON.stringify(listen)}`)
  const host = (m[1] ?? m[2])!
  const loopback = host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'))
  if (!loopback && !allowRemote) {
    throw new EtcdListenError(
      `refusing to serve the etcd API on ${host}: it has no authentication (pass allowRemote: true to serve beyond loopback)`,
    )
  }
  return { host, port }
}

function positive(v: number | undefined, name: string, fallback: number, min = 1): number {
  if (v === undefined) return fallback
  if (!Number.isSafeInteger(v) || v < min) throw new EtcdListenError(`${name} must be an integer >= ${min}`)
  return v
}

/**
 * Serves the etcd v3 API for `mesh` on `options.listen`.
 *
 * @example
 * ```ts
 * const mesh = await createMesh({ dataDir: '/var/lib/confmesh' })
 * const etcd = await createEtcdApi(mesh, { listen: '127.0.0.1:2379', dataDir: '/var/lib/confmesh' })
 * // etcdctl --endpoints=127.0.0.1:2379 put greeting hello
 * await etcd.close()
 * ```
 */
export async function createEtcdApi(mesh: ConfigMesh, options: EtcdApiOptions): Promise<EtcdApi> {
  if (options === null || typeof options !== 'object') throw new EtcdListenError('options must be an object')
  const { host, port } = parseEtcdListen(options.listen, options.allowRemote === true)
  const namespace = options.namespace ?? DEFAULT_NAMESPACE
  assertValidNamespace(attachNamespace(namespace))
  const logger = options.logger ?? createDefaultLogger(`confmesh:etcd:${mesh.peerId.slice(-8)}`)
  const store = new RevisionStore(positive(options.retainRevisions, 'retainRevisions', DEFAULT_RETAIN_REVISIONS, 0))
  const leases = new EtcdLeases({
    mesh,
    logger,
    checkMs: positive(options.leaseCheckMs, 'leaseCheckMs', DEFAULT_LEASE_CHECK_MS),
  })
  const values = mesh.namespace(namespace)
  let address = ''
  const ctx: EtcdContext = {
    mesh,
    namespace,
    values,
    attachments: mesh.namespace(attachNamespace(namespace)),
    store,
    leases,
    logger,
    maxValueBytes: positive(options.maxValueBytes, 'maxValueBytes', DEFAULT_MAX_VALUE_BYTES),
    progressNotifyMs: positive(options.progressNotifyMs, 'progressNotifyMs', DEFAULT_PROGRESS_NOTIFY_MS),
    address: () => address,
    header: headerSource(mesh.meshName, mesh.peerId, () => store.revision),
  }
  const file: RevisionFile | undefined =
    options.dataDir === undefined
      ? undefined
      : openRevisionFile({ dataDir: options.dataDir, namespace, state: () => store.state(), logger })
  const leaseOf = (key: string): string => leases.leaseOf(namespace, key)
  // Load and subscribe in one synchronous step: no change falls between them.
  store.load(file?.load(), values.entries(), leaseOf)
  // A key's lease is part of its state: a change of the attachment alone (a put of the same value with another
  // lease) is a new revision too; when value and attachment change together the second event changes nothing.
  const attachments = attachNamespace(namespace)
  const stopWatching = mesh.watchAll((e) => {
    if (e.namespace === namespace) store.apply(e.key, e.value, leaseOf(e.key))
    else if (e.namespace === attachments) store.apply(e.key, values.get(e.key), leaseOf(e.key))
  })
  const stopPersisting = store.subscribe(() => file?.changed(store.revision))

  const services = loadEtcdServices()
  const sessions = new Set<{ close(): void }>()
  // Big enough for the largest value the mesh takes (up to 3 UTF-8 bytes per UTF-16 unit), so an oversized value
  // gets the mesh's INVALID_ARGUMENT rather than gRPC's RESOURCE_EXHAUSTED.
  const server = new Server({ 'grpc.max_receive_message_length': ctx.maxValueBytes * 3 + 1024 * 1024 })
  server.addService(tolerantService(services.KV.service), kvService(ctx))
  server.addService(tolerantService(services.Watch.service), watchService(ctx, sessions))
  server.addService(tolerantService(services.Lease.service), leaseService(ctx, sessions))
  server.addService(tolerantService(services.Cluster.service), clusterService(ctx))
  server.addService(tolerantService(services.Maintenance.service), maintenanceService(ctx))
  server.addService(tolerantService(services.Auth.service), {})
  const bindHost = host.includes(':') ? `[${host}]` : host
  let bound: number
  try {
    bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${bindHost}:${port}`, ServerCredentials.createInsecure(), (err, p) =>
        err
          ? reject(new EtcdListenError(`cannot listen on ${options.listen}: ${err.message}`, { cause: err }))
          : resolve(p),
      ),
    )
  } catch (err) {
    stopWatching()
    stopPersisting()
    await file?.close()
    throw err
  }
  address = `${bindHost}:${bound}`
  leases.start()
  try {
    await mesh.namespace(ETCD_AGENTS_NAMESPACE).set(mesh.peerId, { address, namespace })
  } catch (err) {
    logger.info(`etcd API not announced (lease expiry stays with announced agents): ${(err as Error).message}`)
  }
  logger.info(`etcd API on ${address} serving namespace ${namespace}`)

  let closing: Promise<void> | undefined
  const close = async (): Promise<void> => {
    leases.stop()
    try {
      await mesh.namespace(ETCD_AGENTS_NAMESPACE).delete(mesh.peerId)
    } catch {
      // the mesh may be stopped already
    }
    for (const s of [...sessions]) s.close()
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown()
        resolve()
      }, 2_000)
      server.tryShutdown(() => {
        clearTimeout(force)
        resolve()
      })
    })
    stopWatching()
    stopPersisting()
    await file?.close()
  }
  return {
    address,
    close: () => {
      closing ??= close()
      return closing
    },
  }
}
