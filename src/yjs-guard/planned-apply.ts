/**
 * Planned apply: {@link applyInspected} for a large merge (a catch-up reply after a long partition), which applies
 * the update in causal slices (`causal-slices.ts`) when, as one update, its estimated conflict cost exceeds the
 * per-update bound.
 *
 * Guarantees:
 * - every slice meets every limit on its own, the conflict-cost bound included (stateless part and against the
 *   document as it is when the slice is applied); there are at most `maxSlices` of them, and their estimated costs
 *   together meet `maxTotalCost` (default: two bounds): one update never costs more than about two bounded applies;
 * - no round trip: the plan is made from the bytes already received. A slice still over the bound is cut in two
 *   (while slices remain) before anything of it is applied, so an honest merge is never refused;
 * - applied in full, the slices give the same document as the update applied at once (same structs, same delete set,
 *   and Yjs's result does not depend on how an update is split).
 *
 * Does NOT guarantee all-or-nothing: when a slice is refused (over a limit even at its smallest, or the slices ran
 * out), the slices before it stay applied. Each is a causal prefix of the reply, checked like any update: the
 * document is as after a catch-up that stopped half way, and the next catch-up fetches the rest.
 *
 * @module
 */
import * as Y from 'yjs'
import { causalOrder, type DecodedStruct, encodeSlice } from './causal-slices.js'
import { UpdateTooLargeError } from './errors.js'
import { applyInspected, type GuardedApplyResult } from './guarded-apply.js'
import { type Inspection, inspectResolved } from './inspect.js'
import { estimateDocCost } from './integration-cost.js'

/** Options of {@link applyPlanned}. */
export interface PlannedApplyOptions {
  /** The conflict-cost bound each applied update (the whole, or each slice) must meet. */
  maxIntegrationCost: number
  /** Most slices one update is applied in; 1 applies it whole or refuses it. */
  maxSlices: number
  /**
   * Bound on the estimated conflict cost of all slices of one update together (each against the document as it is
   * then). Default: twice `maxIntegrationCost`. An honest merge costs a small fraction of one bound in slices
   * (measured: 38,000 estimated steps for 15 s of writes on both sides of a 3/3 split, 9.6 M as one update); a
   * crafted one (items that each walk everything the earlier slices inserted at one spot) is refused here.
   */
  maxTotalCost?: number
  /** `Y.decodeUpdate(update).structs`, when the caller decoded them already. */
  structs?: readonly DecodedStruct[]
}

/** Result of {@link applyPlanned}: the last apply's view of the document, and how many slices it took. */
export interface PlannedApplyResult extends GuardedApplyResult {
  /** Updates applied: 1 when the update was applied whole. */
  slices: number
}

/**
 * Applies `update` to `doc` whole when its estimated conflict cost meets `options.maxIntegrationCost`, else in causal
 * slices that each meet it. `inspection` is the parse of exactly `update` with every limit to enforce except the
 * conflict-cost bound (pass that one in `options`).
 *
 * @throws as {@link applyInspected}, for the whole update or for the first slice that cannot be applied.
 */
export const applyPlanned = (
  doc: Y.Doc,
  received: Uint8Array,
  receivedInspection: Inspection,
  origin: unknown,
  options: PlannedApplyOptions,
): PlannedApplyResult => {
  const bound = options.maxIntegrationCost
  const relaxed = receivedInspection.limits
  // Only what the document lacks is planned (a reply that crossed another one repeats structs already integrated;
  // estimated against the document, those would look like walks over everything that follows them).
  const overlaps = receivedInspection.info.ranges.some((r) => r.clock < Y.getState(doc.store, r.client))
  const update = overlaps ? Y.diffUpdate(received, Y.encodeStateVector(doc)) : received
  const inspection = overlaps ? inspectResolved(update, relaxed) : receivedInspection
  const structs = overlaps ? undefined : options.structs
  const strict = { ...relaxed, maxIntegrationCost: bound }
  /** The estimate against the document now: the stateless part plus the document's part (undefined when the
   * stateless part alone is over the bound). */
  const docPart = (ins: Inspection): number | undefined =>
    ins.info.conflictCost > bound
      ? undefined
      : estimateDocCost(doc, ins.refs, ins.groups, bound - ins.info.conflictCost)
  const costAgainstDoc = (ins: Inspection, part = docPart(ins)): number => ins.info.conflictCost + (part ?? 0)
  const wholeDocPart = docPart(inspection)
  const wholeCost = costAgainstDoc(inspection, wholeDocPart)
  if (wholeCost <= bound || options.maxSlices <= 1) {
    return { ...applyInspected(doc, update, { ...inspection, limits: strict }, origin, wholeDocPart), slices: 1 }
  }
  const causal = causalOrder(structs ?? Y.decodeUpdate(update).structs, (c) => Y.getState(doc.store, c))
  const total = causal.order.length
  // The stateless estimate grows with the square of the update: n slices cost about 1/n^2 each.
  const n = Math.min(options.maxSlices, total, Math.max(2, Math.ceil(Math.sqrt(wholeCost / bound)) + 1))
  const queue: Array<[number, number]> = []
  for (let k = 0; k < n; k++) queue.push([Math.floor((total * k) / n), Math.floor((total * (k + 1)) / n)])
  let slices = n
  let applied = 0
  let last: GuardedApplyResult | undefined
  let integrationCost = 0
  let pendingDropped = false
  let spent = 0
  const maxTotal = options.maxTotalCost ?? 2 * bound
  for (let range = queue.shift(); range !== undefined; range = queue.shift()) {
    const [from, to] = range
    const bytes = encodeSlice(causal, from, to, to === total ? inspection.info.deleteSet : undefined)
    const sliceInspection = inspectResolved(bytes, relaxed)
    const slicePart = docPart(sliceInspection)
    const cost = costAgainstDoc(sliceInspection, slicePart)
    if (to - from > 1 && slices < options.maxSlices && cost > bound) {
      const mid = from + Math.floor((to - from) / 2)
      queue.unshift([from, mid], [mid, to])
      slices++
      continue
    }
    spent += cost
    if (spent > maxTotal) {
      throw new UpdateTooLargeError(
        `Yjs update exceeds a limit: estimated conflict-resolution cost of its ${applied + 1} causal slices so far ` +
          `${spent} > ${maxTotal} in total (one slice may cost maxIntegrationCost ${bound})`,
      )
    }
    last = applyInspected(doc, bytes, { ...sliceInspection, limits: strict }, origin, slicePart)
    integrationCost += last.integrationCost
    pendingDropped ||= last.pendingDropped
    applied++
  }
  return { ...last!, info: inspection.info, integrationCost, pendingDropped, slices: applied }
}
