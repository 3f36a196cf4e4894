/**
 * How the etcd API answers errors: an {@link EtcdApiError} with its code and etcd's message, confmesh's input
 * errors as `INVALID_ARGUMENT`, a refused writer as `PERMISSION_DENIED`, a stopped mesh as `UNAVAILABLE`; anything
 * else is logged and answered `INTERNAL`. A handler never throws into grpc-js, so no request can crash the process.
 *
 * @module
 */
import { type handleUnaryCall, type ServerErrorResponse, status } from '@grpc/grpc-js'
import type { MeshLogger } from '../logger.js'
import { EtcdApiError, invalidArgument } from './errors.js'
import { isUndecodable } from './proto.js'

const INVALID_INPUT = new Set([
  'InvalidKeyError',
  'InvalidValueError',
  'InvalidNamespaceError',
  'InvalidOptionsError',
  'ForbiddenContentError',
])

/** The gRPC error answering `err`. */
export function grpcError(err: unknown, logger: MeshLogger, method: string): ServerErrorResponse {
  const e = err as Error & { grpcCode?: status }
  let code: status
  if (err instanceof EtcdApiError) code = err.grpcCode
  else if (INVALID_INPUT.has(e?.name)) code = status.INVALID_ARGUMENT
  else if (e?.name === 'NotAuthorizedError' || e?.name === 'DataKeyRequiredError') code = status.PERMISSION_DENIED
  else if (e?.name === 'MeshStoppedError') code = status.UNAVAILABLE
  else {
    code = status.INTERNAL
    logger.error(`etcd ${method} failed: ${e?.stack ?? String(err)}`)
  }
  if (code !== status.INTERNAL) logger.debug(`etcd ${method} refused: ${e?.message}`)
  const message = code === status.INTERNAL ? `etcdserver: internal error: ${e?.message}` : String(e?.message)
  return Object.assign(new Error(message), { code, details: message })
}

/** Throws `INVALID_ARGUMENT` when `request` did not decode as a `method` request (see proto.ts). */
export function assertDecoded<Req>(request: Req, method: string): Req {
  if (isUndecodable(request)) throw invalidArgument(`request is not a valid ${method} message`)
  return request
}

/** A unary handler over `fn` (sync or async), answering errors as {@link grpcError}. */
export function unary<Req, Res>(
  method: string,
  logger: MeshLogger,
  fn: (request: Req) => Res | Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(assertDecoded(call.request, method)))
      .then(
        (res) => callback(null, res),
        (err) => callback(grpcError(err, logger, method)),
      )
  }
}
