/**
 * Named errors of leases. Each extends {@link ConfmeshError}; match on `err.name` or `err.code`.
 *
 * @module
 */
import { ConfmeshError } from '../errors.js'

/** Why a lease could not be granted right now. */
export type LeaseHeldReason =
  /** Another holder has it. */
  | 'held'
  /** The owner of the name only recently became its owner and waits until a lease granted by a previous owner must have expired. */
  | 'takeover'

/** The lease is held by someone else (or may still be, see {@link LeaseHeldReason}); retry after `retryAfterMs`. */
export class LeaseHeldError extends ConfmeshError {
  static override readonly code: string = 'ERR_LEASE_HELD'
  /** The lease name. */
  readonly lease: string
  /** Why it was not granted. */
  readonly reason: LeaseHeldReason
  /** Peer id of the current holder, when known. */
  readonly holder: string | undefined
  /** When a retry may succeed, in ms from now (the current lease's remaining time, or the takeover wait). */
  readonly retryAfterMs: number

  constructor(
    message: string,
    details: { lease: string; reason: LeaseHeldReason; holder?: string; retryAfterMs: number },
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.lease = details.lease
    this.reason = details.reason
    this.holder = details.holder
    this.retryAfterMs = details.retryAfterMs
  }
}

/** `lease(name, { wait: true })` did not get the lease before `timeoutMs`. */
export class LeaseTimeoutError extends ConfmeshError {
  static override readonly code: string = 'ERR_LEASE_TIMEOUT'
}

/** The owner of the lease name could not be reached (or kept redirecting) before the request's deadline. */
export class LeaseUnavailableError extends ConfmeshError {
  static override readonly code: string = 'ERR_LEASE_UNAVAILABLE'
}

/** The owner refused the request as invalid (e.g. a `ttlMs` above its `maxTtlMs`). */
export class LeaseDeniedError extends ConfmeshError {
  static override readonly code: string = 'ERR_LEASE_DENIED'
}

/** A lease could not be renewed: it expired, was released, or its granting owner no longer owns the name. */
export class LeaseLostError extends ConfmeshError {
  static override readonly code: string = 'ERR_LEASE_LOST'
}
