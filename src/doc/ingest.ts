/**
 * The ingest pipeline: the single entry point of every update that did not originate here (gossip, catch-up replies,
 * catch-up parts, this peer's own storage). Yjs trusts its input, so every update passes, ONCE and in this order:
 *
 * 1. **parse + bound**: the update guard's bounded parser (`yjs-guard/inspect.ts`) with the limits of its channel
 *    (`doc/limits.ts`); malformed or oversized bytes never reach Yjs;
 * 2. **authorise**: the checks registered with {@link Ingest.addCheck} (security: writer set, client-id binding), which
 *    read the SAME parse, plus the Yjs decoding of the update (`Y.decodeUpdate`), decoded at most once per update;
 *    updates restored from storage are not authorised (the data dir is trusted), only bounded;
 * 3. **guarded apply**: `yjs-guard/guarded-apply.ts` with the same inspection (document-aware checks, trimming,
 *    pending-struct handling), in a transaction whose origin tells listeners where the update came from. A catch-up
 *    reply (`via: 'sync'`) is applied planned (`yjs-guard/planned-apply.ts`): when its estimated conflict cost is
 *    over the per-update bound (the merge after a long partition) it goes in causal slices, each within the bound,
 *    at most {@link ChannelLimits.maxSyncSlices}; so a large honest merge is never refused (and fetched again), and
 *    one stalling update still is.
 *
 * Gossip splits the pipeline in two: the topic validator runs {@link Ingest.parse} (so a bad message is neither
 * delivered nor forwarded) and delivery runs {@link Ingest.applyParsed} with the parse the validator made; the
 * authorisation checks run again there (cheap: the decoded structs are kept), since the writer set or a client-id
 * binding may have changed in between.
 *
 * A refused update changes nothing, is logged, counted and reported as a `refused` event; the error is
 * returned so the caller can punish the sender. A gossip update that starts past this peer's clock of its client is
 * left out (not parked), and one whose apply left new pending structs or deletes (a missing origin) is applied; both
 * raise a `gap` event naming the sender so the pull scheduler can heal at once.
 *
 * @module
 */
import { TypedEventEmitter } from 'main-event'
import * as Y from 'yjs'
import { sameBytes } from '../bytes.js'
import { ConfmeshError, UpdateRejectedError } from '../errors.js'
import type { MeshLogger } from '../logger.js'
import { applyInspected } from '../yjs-guard/guarded-apply.js'
import { type ClockRange, type Inspection, inspect } from '../yjs-guard/inspect.js'
import { DEFAULT_MAX_INTEGRATION_COST, type UpdateLimits } from '../yjs-guard/limits.js'
import { applyPlanned } from '../yjs-guard/planned-apply.js'
import type { ChannelLimits } from './limits.js'
import { type RemoteOrigin, STORAGE_ORIGIN, type UpdateContext } from './origins.js'

export type { RemoteOrigin, UpdateContext } from './origins.js'

/** A struct of a decoded update (`Y.decodeUpdate(update).structs`). */
export type DecodedStruct = Y.Item | Y.GC | Y.Skip

/** An update that passed step 1: what the checks and the guarded apply read. */
export interface ParsedUpdate {
  /** The raw bytes. */
  readonly update: Uint8Array
  /** Where they came from. */
  readonly context: UpdateContext
  /** The guard's inspection (bounded parse) of `update`, with the channel's limits. */
  readonly inspection: Inspection
  /** `Y.decodeUpdate(update).structs`, decoded on first use and kept (safe: the guard accepted the bytes). */
  structs(): readonly DecodedStruct[]
}

/** An authorisation check: throws a {@link ConfmeshError} subclass to refuse the update. */
export type IngestCheck = (parsed: ParsedUpdate) => void

/** Events of the pipeline. */
export interface IngestEvents {
  /** An update from `detail` (a peer id) left the document waiting for updates it lacks: pull from that peer. */
  gap: CustomEvent<string>
  /** An update was refused (after the refusal was logged): the named error, e.g. to count refusals by name. */
  refused: CustomEvent<ConfmeshError>
}

/** Options of {@link createIngest}. */
export interface IngestInit {
  /** The document every update is applied to. */
  doc: Y.Doc
  logger: MeshLogger
  /** The limits of each channel (`channelLimits()` of `doc/limits.ts`). */
  limits: ChannelLimits
}

/** The ingest pipeline of one document. */
export interface Ingest extends TypedEventEmitter<IngestEvents> {
  /** Adds an authorisation check (run in order of addition on every network update). */
  addCheck(check: IngestCheck): void
  /** Steps 1 and 2 (for the gossip topic validator): the parse, or the refusal (already logged and counted). */
  parse(update: Uint8Array, context: UpdateContext): ParsedUpdate | ConfmeshError
  /** Step 2 again, then step 3, on an update {@link parse} accepted; `undefined` on success or the refusal. */
  applyParsed(parsed: ParsedUpdate): ConfmeshError | undefined
  /** The whole pipeline; `undefined` on success or the refusal (already logged and counted). */
  apply(update: Uint8Array, context: UpdateContext): ConfmeshError | undefined
  /**
   * Counters: applied and rejected updates, gaps noticed, catch-up replies applied in causal slices (`sliced`) and
   * the slices that took (`slices`), and rejections by reason (`refused.<ErrorName>`, e.g.
   * `refused.UpdateTooLargeError`: for metrics).
   */
  readonly counters: IngestCounters
}

/** {@link Ingest.counters}. */
export type IngestCounters = {
  applied: number
  rejected: number
  gaps: number
  /** Gossip updates not applied because they start past this peer's clock of their client (see `applyParsed`). */
  deferred: number
  sliced: number
  slices: number
} & Record<`refused.${string}`, number>

/** Creates the pipeline of `init.doc`. */
export function createIngest(init: IngestInit): Ingest {
  return new IngestPipeline(init)
}

class Parsed implements ParsedUpdate {
  private decoded: readonly DecodedStruct[] | undefined
  constructor(
    readonly update: Uint8Array,
    readonly context: UpdateContext,
    readonly inspection: Inspection,
  ) {}
  structs(): readonly DecodedStruct[] {
    this.decoded ??= Y.decodeUpdate(this.update).structs
    return this.decoded
  }
}

class IngestPipeline extends TypedEventEmitter<IngestEvents> implements Ingest {
  readonly counters: IngestCounters = { applied: 0, rejected: 0, gaps: 0, deferred: 0, sliced: 0, slices: 0 }
  private readonly init: IngestInit
  private readonly checks: IngestCheck[] = []
  /** The sync channel's limits without the conflict-cost bound: a reply is parsed with these, the bound is applied
   * per slice by the planned apply. */
  private readonly syncParseLimits: UpdateLimits
  private readonly syncCostBound: number

  constructor(init: IngestInit) {
    super()
    this.init = init
    this.syncCostBound = init.limits.sync.maxIntegrationCost ?? DEFAULT_MAX_INTEGRATION_COST
    this.syncParseLimits = { ...init.limits.sync, maxIntegrationCost: Number.MAX_SAFE_INTEGER }
  }

  addCheck(check: IngestCheck): void {
    this.checks.push(check)
  }

  parse(update: Uint8Array, context: UpdateContext): ParsedUpdate | ConfmeshError {
    const parsed = this.bound(update, context)
    return parsed instanceof ConfmeshError ? parsed : (this.authorise(parsed) ?? parsed)
  }

  applyParsed(parsed: ParsedUpdate): ConfmeshError | undefined {
    const refused = this.authorise(parsed)
    if (refused !== undefined) return refused
    const { context } = parsed
    const { doc } = this.init
    // A gossip update that starts past this peer's clock of its client (an earlier update of that client never
    // arrived: a lost message, a restart, the far side of a healed partition) would only be parked by Yjs until the
    // missing ones come, and every parked update is merged again with all parked before it (quadratic: after a heal,
    // the few thousand updates gossipsub re-delivers from its message cache stalled the event loop for seconds). It is
    // left out instead, and its author (who holds everything it wrote) is pulled from: the pull brings it with what
    // it depends on.
    if (context.via === 'gossip' && startsPastState(doc, parsed.inspection.info.ranges)) {
      this.counters.deferred++
      this.counters.gaps++
      this.safeDispatchEvent('gap', { detail: context.from })
      return undefined
    }
    const origin: RemoteOrigin | typeof STORAGE_ORIGIN =
      context.via === 'storage' ? STORAGE_ORIGIN : { remote: true, context }
    const pendingBefore = pendingOf(doc)
    try {
      if (context.via === 'sync') {
        const { slices } = applyPlanned(doc, parsed.update, parsed.inspection, origin, {
          maxIntegrationCost: this.syncCostBound,
          maxSlices: this.init.limits.maxSyncSlices,
          structs: parsed.structs(),
        })
        if (slices > 1) {
          this.counters.sliced++
          this.counters.slices += slices
        }
      } else {
        applyInspected(doc, parsed.update, parsed.inspection, origin)
      }
    } catch (err) {
      return this.refuse(err, context, 'failed to apply')
    }
    this.counters.applied++
    // A gap is worth a pull only when a gossip update created or changed it: not after a catch-up reply (which held
    // everything its sender had), or otherwise a pending part that never resolves (e.g. deletes of structs nobody has)
    // would make every later update, and every reply, trigger another pull: a catch-up storm. Nor from storage.
    if (context.via === 'gossip' && pendingChanged(pendingBefore, pendingOf(doc))) {
      this.counters.gaps++
      this.safeDispatchEvent('gap', { detail: context.from })
    }
    return undefined
  }

  apply(update: Uint8Array, context: UpdateContext): ConfmeshError | undefined {
    const parsed = this.bound(update, context)
    return parsed instanceof ConfmeshError ? parsed : this.applyParsed(parsed)
  }

  /** Step 1: the one parse, with the limits of the update's channel. */
  private bound(update: Uint8Array, context: UpdateContext): Parsed | ConfmeshError {
    try {
      const limits = context.via === 'sync' ? this.syncParseLimits : this.init.limits[context.via]
      return new Parsed(update, context, inspect(update, limits))
    } catch (err) {
      return this.refuse(err, context)
    }
  }

  private authorise(parsed: ParsedUpdate): ConfmeshError | undefined {
    if (parsed.context.via === 'storage') return undefined
    try {
      for (const check of this.checks) check(parsed)
      return undefined
    } catch (err) {
      return this.refuse(err, parsed.context)
    }
  }

  private refuse(err: unknown, context: UpdateContext, what = 'rejected'): ConfmeshError {
    const error =
      err instanceof ConfmeshError
        ? err
        : new UpdateRejectedError(`update from ${context.from} ${what}: ${(err as Error)?.message ?? String(err)}`, {
            cause: err,
          })
    this.counters.rejected++
    this.counters[`refused.${error.name}`] = (this.counters[`refused.${error.name}`] ?? 0) + 1
    this.init.logger.warn(`${what} update from ${context.from} via ${context.via}: ${error.name}: ${error.message}`)
    this.safeDispatchEvent('refused', { detail: error })
    return error
  }
}

/** Whether some run of `ranges` starts past the clock `doc` holds of its client (the update would be parked). */
function startsPastState(doc: Y.Doc, ranges: readonly ClockRange[]): boolean {
  for (const r of ranges) if (r.clock > Y.getState(doc.store, r.client)) return true
  return false
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
