/**
 * Guarded apply: hand an inspected update to Yjs without re-opening the holes plain `Y.applyUpdate` has (offset
 * integration of partly known structs, Yjs's own untrimmed retry of pending structs), checking the document-aware
 * bounds (conflict cost against the document, live map values) first. See {@link guardedApply}.
 *
 * @module
 */
import * as Y from 'yjs'
import { sameBytes } from '../bytes.js'
import { UpdateRejectedError } from '../errors.js'
import { UpdateApplyError, UpdateTooLargeError } from './errors.js'
import { type Inspection, inspect, inspectResolved, type UpdateInfo } from './inspect.js'
import { estimateDocCost } from './integration-cost.js'
import type { ResolvedLimits, UpdateLimits } from './limits.js'
import { checkMapValues } from './map-values.js'

/** Result of {@link guardedApply}. */
export interface GuardedApplyResult {
  /** What the update contained. */
  info: UpdateInfo
  /** The document has structs waiting for missing predecessors (`doc.store.pendingStructs !== null`). */
  pendingStructs: boolean
  /** The document has deletes waiting for structs it does not have (`doc.store.pendingDs !== null`). */
  pendingDeletes: boolean
  /**
   * Per client, a clock the document lacks and pending structs need (Yjs `pendingStructs.missing`: the clock of the
   * struct preceding the earliest parked one); empty when nothing is pending. A catch-up should fetch from the
   * document's state vector, which covers it.
   */
  missing: ReadonlyMap<number, number>
  /** Bytes held in the document's pending buffers after the apply (pending structs + pending deletes). */
  pendingBytes: number
  /** Estimated conflict-resolution steps against this document (stateless part + the document's siblings). */
  integrationCost: number
  /**
   * Pending structs became applicable but, merged, exceeded the limits (size or conflict cost), so they were dropped
   * instead of applied. The caller should run a catch-up; `missing` is then empty.
   */
  pendingDropped: boolean
}

type Pending = { missing: Map<number, number>; update: Uint8Array }

/** Rounds of re-applying pending structs after progress before they are parked (each round integrates >= 1 struct). */
const MAX_APPLY_ROUNDS = 8

const mergePending = (parts: Pending[]): Pending | null => {
  if (parts.length <= 1) return parts[0] ?? null
  const missing = new Map<number, number>()
  for (const p of parts) {
    for (const [client, clock] of p.missing) missing.set(client, Math.min(clock, missing.get(client) ?? clock))
  }
  return { missing, update: Y.mergeUpdatesV2(parts.map((p) => p.update)) }
}

/** Whether parked structs, released together, stay within the limits (as one update, against `doc`). */
const pendingWithinLimits = (doc: Y.Doc, pending: Pending, limits: ResolvedLimits, maxCost: number): boolean => {
  try {
    const inspection = inspectResolved(Y.convertUpdateFormatV2ToV1(pending.update), limits)
    checkMapValues(doc, inspection)
    const { info, refs, groups } = inspection
    return info.conflictCost + estimateDocCost(doc, refs, groups, maxCost - info.conflictCost) <= maxCost
  } catch (err) {
    if (err instanceof UpdateRejectedError) return false
    throw err
  }
}

/**
 * Inspect an update with {@link inspectUpdate}, apply it, and report whether the document now waits for missing
 * structs or deletes (the caller should then run a state-vector catch-up with the sender).
 *
 * Applying is hardened beyond plain `Y.applyUpdate`, because structurally valid updates can still crash Yjs
 * (`TypeError: Cannot read properties of undefined (reading 'origin')` in `Item.integrate`, cf. yjs #384) when a
 * struct partly overlaps clocks the document already has and its own predecessor there is a GC struct:
 * - the update is first trimmed to what the document lacks (`Y.diffUpdate` against the document's state vector), so
 *   Yjs never integrates a struct at an offset; the trimmed struct's origin becomes its own predecessor, exactly as
 *   Yjs itself does for honest overlaps;
 * - Yjs's internal retry of pending structs (which re-applies them untrimmed) is never triggered: pending structs are
 *   taken out of the document before each apply and re-applied, trimmed, by this function while they make progress.
 * Every code path that feeds remote or stored bytes into the document must therefore use `guardedApply`; a direct
 * `Y.applyUpdate` on a document with pending structs re-opens the hole. Local edits are unaffected.
 *
 * It also refuses, with {@link MalformedUpdateError}, an update that would create a live map value spanning several
 * clocks (a later split of it makes Yjs throw in garbage collection, see `checkMapValues`). Whether an item is a map
 * value often depends on the document (it inherits the key of its origin), so {@link inspectUpdate} alone accepts it.
 *
 * Nothing is applied when inspection throws, so a refused update leaves `doc` unchanged. One call can emit several
 * `update` events / transactions (one per round), all with `origin`.
 *
 * @param doc - The document to apply to.
 * @param update - Raw Yjs v1 update bytes.
 * @param origin - Transaction origin (visible to `update` / observer handlers).
 * @param limits - Limits for {@link inspectUpdate}.
 * @throws The errors of {@link inspectUpdate}; {@link MalformedUpdateError} for a live map value spanning several
 *   clocks; {@link UpdateApplyError} if Yjs (or an observer) throws while applying.
 */
export const guardedApply = (
  doc: Y.Doc,
  update: Uint8Array,
  origin?: unknown,
  limits?: UpdateLimits,
): GuardedApplyResult => applyInspected(doc, update, inspect(update, limits), origin)

/**
 * {@link guardedApply} for an update already inspected (by {@link inspect}, with the limits to enforce): the ingest
 * pipeline parses each update once and hands the same inspection here. `inspection` must be of exactly `update`.
 * `estimatedDocCost`: `estimateDocCost` of this inspection against `doc` as it is now, when the caller just computed
 * it (the planned apply does), so the walk is not made twice.
 *
 * @throws as {@link guardedApply}, except the errors of inspection itself.
 */
export const applyInspected = (
  doc: Y.Doc,
  update: Uint8Array,
  inspection: Inspection,
  origin?: unknown,
  estimatedDocCost?: number,
): GuardedApplyResult => {
  const { info, limits: l, refs, groups } = inspection
  checkMapValues(doc, inspection)
  const docCost = estimatedDocCost ?? estimateDocCost(doc, refs, groups, l.maxIntegrationCost - info.conflictCost)
  const integrationCost = info.conflictCost + docCost
  if (integrationCost > l.maxIntegrationCost) {
    throw new UpdateTooLargeError(
      `Yjs update exceeds a limit: estimated conflict-resolution cost against this document ${integrationCost} > ` +
        `maxIntegrationCost ${l.maxIntegrationCost}`,
    )
  }
  const store = doc.store
  let pendingDropped = false
  // `held`: pending structs currently taken out of the document (restored if Yjs throws).
  let held: Pending | null = store.pendingStructs
  store.pendingStructs = null
  try {
    // trimming costs a re-encode; skip it when no struct starts below the document's state (the gossip case)
    const overlaps = info.ranges.some((r) => r.clock < Y.getState(store, r.client))
    // the state before: to trim an overlapping update, and to see progress when a stash may be released (encoding it
    // walks every client of the document, so the common case, a gossip update and nothing parked, skips it)
    let sv: Uint8Array | undefined = overlaps || held !== null ? Y.encodeStateVector(doc) : undefined
    Y.applyUpdate(doc, sv !== undefined && overlaps ? Y.diffUpdate(update, sv) : update, origin)
    for (let round = 1; ; round++) {
      const fresh: Pending | null = store.pendingStructs
      store.pendingStructs = null
      const hadStash = held !== null
      held = mergePending([held, fresh].filter((p): p is Pending => p !== null))
      // Only progress can make pending structs applicable; and without an earlier stash, Yjs already resolved every
      // dependency inside the update in round 1.
      if (held === null || (round === 1 && !hadStash) || round > MAX_APPLY_ROUNDS) break
      const before = sv
      sv = Y.encodeStateVector(doc)
      if (before !== undefined && sameBytes(before, sv)) break
      const retry: Pending = held
      held = null
      // Parked structs from many updates are released together: check them as one update, or drop them (a catch-up
      // fetches what is legitimate again, as offset-free diffs that pass the per-update checks).
      if (!pendingWithinLimits(doc, retry, l, l.maxIntegrationCost)) {
        pendingDropped = true
        break
      }
      Y.applyUpdateV2(doc, Y.diffUpdateV2(retry.update, sv), origin)
    }
    store.pendingStructs = held
  } catch (err) {
    if (store.pendingStructs === null) store.pendingStructs = held
    throw new UpdateApplyError('Y.applyUpdate threw on an update that passed inspection (or an observer threw)', {
      cause: err,
    })
  }
  const { pendingStructs, pendingDs } = store
  return {
    info,
    pendingStructs: pendingStructs !== null,
    pendingDeletes: pendingDs !== null,
    missing: new Map(pendingStructs?.missing ?? []),
    pendingBytes: (pendingStructs?.update.byteLength ?? 0) + (pendingDs?.byteLength ?? 0),
    integrationCost,
    pendingDropped,
  }
}
