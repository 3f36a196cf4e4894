/**
 * The agent: one long-running mesh peer with its durable state, HTTP API and metrics, as `confmesh node` runs it.
 * Start order: read every file named by the options (token file, network key) and check the HTTP address first, so a
 * bad option fails before the peer joins anything; then the mesh (with SQLite storage whose commits feed the
 * metrics), then the HTTP API and the etcd API. `stop()` undoes it in reverse: the etcd API (revision state written),
 * the HTTP API (ending watch streams), the metrics, then the mesh (last appends flushed, the data dir released).
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { createEtcdApi, type EtcdApi, parseEtcdListen } from '../etcd/etcd-api.js'
import { InsecureListenError } from '../http/errors.js'
import { createHttpApi, type HttpApi } from '../http/http-api.js'
import { isLoopbackHost, parseListenAddress } from '../http/listen-address.js'
import { type HttpToken, loadTokenFile } from '../http/tokens.js'
import { type ConfigMesh, createMesh } from '../mesh/config-mesh.js'
import type { MeshOptions } from '../mesh/options.js'
import { createMeshMetrics, type MeshMetrics } from '../metrics/mesh-metrics.js'
import { createSqliteStorage } from '../storage/sqlite-storage.js'
import type { AgentLog } from './agent-log.js'
import { AgentOptionsError } from './errors.js'
import type { AgentOptions } from './options.js'

/** A running agent. */
export interface Agent {
  readonly mesh: ConfigMesh
  /** The HTTP API, when `http` was given. */
  readonly api: HttpApi | undefined
  /** The etcd v3 API, when `etcd` was given. */
  readonly etcd: EtcdApi | undefined
  readonly metrics: MeshMetrics
  /** Stops the API and leaves the mesh cleanly. Idempotent. */
  stop(): Promise<void>
}

/** Starts an agent. Throws {@link AgentOptionsError} (and the HTTP API's named errors) before anything started. */
export async function startAgent(options: AgentOptions, log: AgentLog): Promise<Agent> {
  const tokens: HttpToken[] | undefined =
    options.httpTokenFile === undefined ? undefined : loadTokenFile(options.httpTokenFile)
  if (options.http !== undefined && tokens === undefined && !isLoopbackHost(parseListenAddress(options.http).host)) {
    throw new InsecureListenError(
      `--http ${options.http}: refusing to serve the API beyond loopback without --http-token-file (anyone who ` +
        'reaches it could change the configuration)',
    )
  }
  if (options.etcd !== undefined) parseEtcdListen(options.etcd) // EtcdListenError: malformed or beyond loopback
  let networkKey: string | undefined
  if (options.networkKeyFile !== undefined) {
    try {
      networkKey = readFileSync(options.networkKeyFile, 'utf8')
    } catch (err) {
      throw new AgentOptionsError(`cannot read --network-key-file: ${(err as Error).message}`)
    }
  }
  let metrics: MeshMetrics | undefined
  const meshOptions: MeshOptions = {
    logger: log.logger,
    ...(options.listen === undefined ? {} : { listen: options.listen }),
    ...(options.bootstrap === undefined ? {} : { bootstrap: options.bootstrap }),
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(options.weight === undefined ? {} : { weight: options.weight }),
    ...(options.tags === undefined ? {} : { tags: options.tags }),
    ...(options.writers === undefined ? {} : { writers: options.writers }),
    ...(networkKey === undefined ? {} : { networkKey }),
    ...(options.dataDir === undefined
      ? {}
      : {
          storage: createSqliteStorage({
            dataDir: options.dataDir,
            onCommit: (info) => metrics?.observeStorageCommit(info),
          }),
        }),
  }
  const mesh = await createMesh(meshOptions)
  metrics = createMeshMetrics(mesh)
  let api: HttpApi | undefined
  let etcd: EtcdApi | undefined
  try {
    if (options.http !== undefined) {
      api = await createHttpApi(mesh, {
        listen: options.http,
        metrics,
        logger: log.logger,
        ...(tokens === undefined ? {} : { tokens }),
      })
    }
    if (options.etcd !== undefined) {
      etcd = await createEtcdApi(mesh, {
        listen: options.etcd,
        logger: log.logger,
        ...(options.etcdNamespace === undefined ? {} : { namespace: options.etcdNamespace }),
        ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
      })
    }
  } catch (err) {
    await api?.close()
    metrics.stop()
    await mesh.stop()
    throw err
  }
  let stopping: Promise<void> | undefined
  const m = metrics
  return {
    mesh,
    api,
    etcd,
    metrics: m,
    stop() {
      stopping ??= (async () => {
        await etcd?.close()
        await api?.close()
        m.stop()
        await mesh.stop()
      })()
      return stopping
    },
  }
}
