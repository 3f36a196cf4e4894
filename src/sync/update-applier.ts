/**
 * The single entry point for remote changes: validate, apply, and notice gaps.
 *
 * Every update received (gossip or catch-up) passes the validator BEFORE Yjs sees it, because Yjs trusts its input.
 * A refused update changes nothing and is logged; the error is returned so the caller can punish the sender.
 * After applying, a non-empty `pendingStructs`/`pendingDs` means an earlier update was lost: the applier asks for a
 * catch-up with the peer that sent it, so gaps heal at once instead of waiting for the next anti-entropy round.
 *
 * @module
 */
import * as Y from 'yjs'
import { ConfmeshError, UpdateRejectedError } from '../errors.js'
import type { MeshLogger } from '../logger.js'

/** Where an update came from. */
export interface UpdateContext {
  /** Peer id that sent (gossip: published) the update. */
  from: string
  /** The channel it came through. */
  via: 'gossip' | 'sync' | 'storage'
  /** Gossip: the publisher's writer epoch from the message header (binds its Yjs client id, `security/`). */
  epoch?: number
}

/** Checks an update before it is applied; throws a {@link ConfmeshError} subclass to refuse it. */
export type UpdateValidator = (update: Uint8Array, context: UpdateContext) => void

/** Transaction origin of updates applied from the network or disk. */
export interface RemoteOrigin {
  readonly remote: true
  readonly context: UpdateContext
}

/** Options of {@link createUpdateApplier}. */
export interface UpdateApplierInit {
  doc: Y.Doc
  logger: MeshLogger
  /** Validators run in order; the first to throw refuses the update. */
  validators: UpdateValidator[]
  /** Called when the document has pending structs after an update from `from` (a gap to heal). */
  onGap: (from: string) => void
  /**
   * Applies a validated update (security: the update guard's hardened `guardedApply`). Throwing refuses it (a
   * {@link ConfmeshError} is returned as is). Default `Y.applyUpdate`.
   */
  applyUpdate?: (doc: Y.Doc, update: Uint8Array, origin: RemoteOrigin) => void
}

/** Applies remote updates safely. */
export interface UpdateApplier {
  /** Validates and applies; returns `undefined` on success or the refusal error (already logged). */
  apply(update: Uint8Array, context: UpdateContext): ConfmeshError | undefined
  /** Validates only (for the gossip topic validator); returns the refusal error or `undefined`. */
  check(update: Uint8Array, context: UpdateContext): ConfmeshError | undefined
  /**
   * Counters: applied and rejected updates, gaps, and rejections by reason (`refused.<ErrorName>`, e.g.
   * `refused.UpdateTooLargeError`: for metrics).
   */
  readonly counters: ApplierCounters
}

/** {@link UpdateApplier.counters}. */
export type ApplierCounters = { applied: number; rejected: number; gaps: number } & Record<`refused.${string}`, number>

/** Creates the applier. */
export function createUpdateApplier(init: UpdateApplierInit): UpdateApplier {
  const counters: ApplierCounters = { applied: 0, rejected: 0, gaps: 0 }
  const countRefusal = (error: ConfmeshError): void => {
    counters.rejected++
    counters[`refused.${error.name}`] = (counters[`refused.${error.name}`] ?? 0) + 1
  }
  const check = (update: Uint8Array, context: UpdateContext): ConfmeshError | undefined => {
    try {
      for (const validate of init.validators) validate(update, context)
      return undefined
    } catch (err) {
      const error =
        err instanceof ConfmeshError
          ? err
          : new UpdateRejectedError(`update refused: ${(err as Error)?.message ?? String(err)}`, { cause: err })
      countRefusal(error)
      init.logger.warn(`rejected update from ${context.from} via ${context.via}: ${error.name}: ${error.message}`)
      return error
    }
  }
  return {
    counters,
    check,
    apply(update, context) {
      const refused = check(update, context)
      if (refused !== undefined) return refused
      const origin: RemoteOrigin = { remote: true, context }
      const pendingBefore = pendingOf(init.doc)
      try {
        if (init.applyUpdate === undefined) Y.applyUpdate(init.doc, update, origin)
        else init.applyUpdate(init.doc, update, origin)
      } catch (err) {
        if (err instanceof ConfmeshError) {
          countRefusal(err)
          init.logger.warn(`update from ${context.from} failed to apply: ${err.name}: ${err.message}`)
          return err
        }
        const error = new UpdateRejectedError(
          `update from ${context.from} failed to apply: ${(err as Error).message}`,
          {
            cause: err,
          },
        )
        countRefusal(error)
        init.logger.warn(error.message)
        return error
      }
      counters.applied++
      // A gap is worth a pull only when this update created or changed it, and not after a catch-up reply (which held
      // everything its sender had): otherwise a pending part that never resolves (e.g. deletes of structs nobody has)
      // would make every later update, and every reply, trigger another pull: a catch-up storm.
      if (context.via !== 'sync' && pendingChanged(pendingBefore, pendingOf(init.doc))) {
        counters.gaps++
        init.onGap(context.from)
      }
      return undefined
    },
  }
}

/** The document's pending buffers (parked structs and deletes), or `undefined` when nothing is pending. */
function pendingOf(doc: Y.Doc): [Uint8Array | undefined, Uint8Array | undefined] | undefined {
  const { pendingStructs, pendingDs } = doc.store
  if (pendingStructs === null && pendingDs === null) return undefined
  return [pendingStructs?.update, pendingDs ?? undefined]
}

/** Whether `after` holds pending data that `before` did not hold byte for byte. */
function pendingChanged(before: ReturnType<typeof pendingOf>, after: ReturnType<typeof pendingOf>): boolean {
  if (after === undefined) return false
  if (before === undefined) return true
  return !sameBytes(before[0], after[0]) || !sameBytes(before[1], after[1])
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === b) return true
  if (a === undefined || b === undefined || a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** A validator that refuses updates larger than `maxBytes` or empty. */
export function sizeValidator(maxBytes: number): UpdateValidator {
  return (update) => {
    if (update.length === 0) throw new UpdateRejectedError('empty update')
    if (update.length > maxBytes) {
      throw new UpdateRejectedError(`update of ${update.length} bytes exceeds the limit of ${maxBytes}`)
    }
  }
}
