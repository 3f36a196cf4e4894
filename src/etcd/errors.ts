/**
 * Errors of the etcd v3 API (src/etcd). Each carries the gRPC status code it is answered with; the messages of the
 * conditions etcd itself reports are etcd's own (`api/v3rpc/rpctypes/error.go`), because clients match on them
 * (etcdctl prints them, client libraries map `etcdserver: mvcc: required revision has been compacted` to a typed error).
 *
 * @module
 */
import { status } from '@grpc/grpc-js'
import { ConfmeshError } from '../errors.js'

/** A request the etcd API answers with a gRPC error status (`grpcCode`) and etcd's message. */
export class EtcdApiError extends ConfmeshError {
  static override readonly code: string = 'ERR_ETCD_API'
  /** The gRPC status code of the answer. */
  readonly grpcCode: status

  constructor(grpcCode: status, message: string, options?: ErrorOptions) {
    super(message, options)
    this.grpcCode = grpcCode
  }
}

/** The etcd API could not start: bad options, or a listen address it may not use. */
export class EtcdListenError extends ConfmeshError {
  static override readonly code: string = 'ERR_ETCD_LISTEN'
}

/** A bad request: `INVALID_ARGUMENT` with `message` (prefixed `etcdserver: ` like etcd's own). */
export function invalidArgument(message: string, cause?: unknown): EtcdApiError {
  return new EtcdApiError(
    status.INVALID_ARGUMENT,
    `etcdserver: ${message}`,
    cause === undefined ? undefined : { cause },
  )
}

/** etcd's errors, by condition (same codes and messages as etcd's `rpctypes`). */
export const etcdErrors = {
  emptyKey: () => new EtcdApiError(status.INVALID_ARGUMENT, 'etcdserver: key is not provided'),
  keyNotFound: () => new EtcdApiError(status.INVALID_ARGUMENT, 'etcdserver: key not found'),
  valueProvided: () => new EtcdApiError(status.INVALID_ARGUMENT, 'etcdserver: value is provided'),
  leaseProvided: () => new EtcdApiError(status.INVALID_ARGUMENT, 'etcdserver: lease is provided'),
  tooManyOps: () => new EtcdApiError(status.INVALID_ARGUMENT, 'etcdserver: too many operations in txn request'),
  duplicateKey: () => new EtcdApiError(status.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request'),
  invalidSortOption: () => new EtcdApiError(status.INVALID_ARGUMENT, 'etcdserver: invalid sort option'),
  compacted: () => new EtcdApiError(status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted'),
  futureRevision: () =>
    new EtcdApiError(status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision'),
  leaseNotFound: () => new EtcdApiError(status.NOT_FOUND, 'etcdserver: requested lease not found'),
  leaseExists: () => new EtcdApiError(status.FAILED_PRECONDITION, 'etcdserver: lease already exists'),
  leaseTtlTooLarge: () => new EtcdApiError(status.OUT_OF_RANGE, 'etcdserver: too large lease TTL'),
} as const

/** The persisted revision state of an etcd API is unreadable (see docs/etcd.md: delete it to start anew). */
export class EtcdStateError extends ConfmeshError {
  static override readonly code: string = 'ERR_ETCD_STATE'
}
