/**
 * Loads etcd's own v3 API definitions (vendored in `proto/`, see `proto/vendor.mjs`) with @grpc/proto-loader.
 * Messages are plain objects: field names as in the .proto (`keepCase`), 64-bit integers as decimal strings, enums as
 * their names, bytes as Buffers, unset fields as their defaults. A request that does not decode is handed to the
 * handler as an {@link UndecodableRequest} (grpc-js would answer `INTERNAL`; the API answers `INVALID_ARGUMENT`).
 *
 * @module
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import {
  type GrpcObject,
  loadPackageDefinition,
  type ServiceClientConstructor,
  type ServiceDefinition,
} from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'

/** The proto-loader options the etcd API decodes with. */
export const PROTO_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
} as const

/** The folder holding `etcd/api/...`: beside this file in the sources, `src/etcd/proto` from the build output. */
export function protoDir(): string {
  for (const rel of ['./proto/', '../../../src/etcd/proto/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url))
    if (existsSync(`${dir}etcd/api/etcdserverpb/rpc.proto`)) return dir
  }
  throw new Error('etcd .proto files not found (expected src/etcd/proto beside the package)')
}

/** etcd's services, as grpc-js service constructors. */
export interface EtcdServices {
  KV: ServiceClientConstructor
  Watch: ServiceClientConstructor
  Lease: ServiceClientConstructor
  Cluster: ServiceClientConstructor
  Maintenance: ServiceClientConstructor
  Auth: ServiceClientConstructor
}

let cached: EtcdServices | undefined

/** Loads (once) etcd's `etcdserverpb` services. */
export function loadEtcdServices(): EtcdServices {
  if (cached !== undefined) return cached
  const definition = loadSync('etcd/api/etcdserverpb/rpc.proto', { ...PROTO_OPTIONS, includeDirs: [protoDir()] })
  const pkg = (loadPackageDefinition(definition) as GrpcObject).etcdserverpb as GrpcObject
  cached = {
    KV: pkg.KV as ServiceClientConstructor,
    Watch: pkg.Watch as ServiceClientConstructor,
    Lease: pkg.Lease as ServiceClientConstructor,
    Cluster: pkg.Cluster as ServiceClientConstructor,
    Maintenance: pkg.Maintenance as ServiceClientConstructor,
    Auth: pkg.Auth as ServiceClientConstructor,
  }
  return cached
}

const UNDECODABLE = Symbol('undecodable etcd request')

/** What a handler receives instead of a request whose bytes are not a valid message. */
export interface UndecodableRequest {
  readonly [UNDECODABLE]: string
}

/** Whether `request` failed to decode; see {@link tolerantService}. */
export function isUndecodable(request: unknown): request is UndecodableRequest {
  return typeof request === 'object' && request !== null && UNDECODABLE in request
}

/** `service` with request decoders that never throw: a bad message becomes an {@link UndecodableRequest}. */
export function tolerantService(service: ServiceDefinition): ServiceDefinition {
  const out: Record<string, ServiceDefinition[string]> = {}
  for (const [name, method] of Object.entries(service)) {
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return method.requestDeserialize(bytes)
        } catch (err) {
          return { [UNDECODABLE]: (err as Error).message }
        }
      },
    }
  }
  return out as ServiceDefinition
}
