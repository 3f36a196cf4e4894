/**
 * Update guard, inspection: a bounded, allocation-safe parser for the Yjs **v1** update format that decides whether an update is
 * safe to hand to `Y.applyUpdate`, and reports what it touches.
 *
 * What it guarantees:
 * - It never calls into Yjs. Every loop is bounded by a count that was first checked against the bytes remaining, it
 *   never allocates by a claimed count, recursion is bounded by `maxNesting`, and a wall-clock budget (`maxMillis`)
 *   is enforced while parsing. Cost is linear in the update size.
 * - It is stricter than Yjs where Yjs would misbehave on crafted input: non-canonical varints, zero-length structs,
 *   a struct that references a clock of its own client at or after its own clock, non-canonical GC/Skip info bytes,
 *   duplicate client blocks, unsorted or overlapping delete ranges, clocks beyond `maxClock`, client ids beyond
 *   uint32, trailing bytes, invalid UTF-8 or JSON. Every update Yjs 13.6 itself produces passes these checks.
 * - On an accepted update, `Y.applyUpdate` on any document does not throw or loop (verified by fuzzing against fresh
 *   and pre-populated documents). That a sequence of updates cannot corrupt a document (so that a later one throws)
 *   needs the document-aware checks of `guardedApply` too.
 *
 * What it does not guarantee:
 * - Authorisation. The returned client ids / clock ranges / delete ranges / root names are what the caller needs to
 *   decide whether the sender may write them (see `client-id.ts`). A peer that re-sends known client/clock ranges
 *   with *different* content is ignored by Yjs (first write wins per replica) and can make replicas diverge; only
 *   binding client ids to signed authors prevents that.
 * - Root names are only known for structs that name their root explicitly. Structs with an origin or a parent id
 *   inherit their parent from structs already in the document.
 * - That the update applies completely: it may depend on structs the receiver does not have yet; then Yjs keeps it
 *   pending (`guardedApply` reports that so the caller can start a catch-up).
 * - Checks that depend on the receiving document: they run in `guardedApply` (conflict cost; live map values spanning
 *   several clocks, whose map key is often only known from the document, see {@link guardedApply}).
 *
 * @module
 */
import { ForbiddenContentError, MalformedUpdateError, UpdateTooLargeError } from './errors.js'
import {
  type ConflictGroup,
  conflictGroups,
  createStructRefs,
  estimateUpdateCost,
  type StructRefs,
} from './integration-cost.js'
import { type ResolvedLimits, resolveLimits, type UpdateLimits } from './limits.js'
import {
  BIT6_PARENT_SUB,
  BIT7_RIGHT_ORIGIN,
  BIT8_ORIGIN,
  BITS5,
  Parser,
  REF_DELETED,
  REF_GC,
  REF_SKIP,
} from './parser.js'

/** A contiguous run of clocks `[clock, clock + length)` of one client that the update contains structs for. */
export interface ClockRange {
  /** Yjs client id. */
  client: number
  /** First clock of the run. */
  clock: number
  /** Number of clocks in the run (>= 1). */
  length: number
}

/** One delete-set range: the update deletes `[clock, clock + len)` of `client`. */
export interface DeleteRange {
  /** Yjs client id whose structs are deleted. */
  client: number
  /** First deleted clock. */
  clock: number
  /** Number of deleted clocks (>= 1). */
  len: number
}

/** How many structs of each kind an update contains. */
export interface ContentCounts {
  /** Garbage-collected placeholders. */
  gc: number
  /** Skip structs (gaps inside a merged update; they carry nothing and are not applied). */
  skip: number
  /** Items with `ContentDeleted`. */
  deleted: number
  /** Items with legacy `ContentJSON`. */
  json: number
  /** Items with `ContentBinary`. */
  binary: number
  /** Items with `ContentString` (Y.Text). */
  string: number
  /** Items with `ContentEmbed` (Y.Text embeds). */
  embed: number
  /** Items with `ContentFormat` (Y.Text formatting marks). */
  format: number
  /** Items with `ContentType` (nested shared types). */
  type: number
  /** Items with `ContentAny` (Y.Map / Y.Array values). */
  any: number
  /** Items with `ContentDoc` (sub-documents). */
  doc: number
}

/** What {@link inspectUpdate} learned about an accepted update. */
export interface UpdateInfo {
  /** Total size of the update in bytes. */
  byteLength: number
  /** Number of structs as encoded, including GC and Skip structs (equals `Y.decodeUpdate(u).structs.length`). */
  structCount: number
  /** Client ids the update carries applicable structs for (GC or items; Skip-only blocks are not counted). */
  clients: ReadonlySet<number>
  /** Per-client clock runs of applicable structs (Skip structs split runs), in encoding order. */
  ranges: readonly ClockRange[]
  /** The delete set, in encoding order (per client sorted by clock, non-overlapping). */
  deleteSet: readonly DeleteRange[]
  /** Root type names that structs are explicitly parented to (`doc.get(name)` is called for each on apply). */
  roots: ReadonlySet<string>
  /** Struct counts by kind. */
  contents: ContentCounts
  /** Stateless estimate of conflict-resolution steps among the update's own items (0 without concurrent siblings). */
  conflictCost: number
}

export const emptyCounts = (): ContentCounts => ({
  gc: 0,
  skip: 0,
  deleted: 0,
  json: 0,
  binary: 0,
  string: 0,
  embed: 0,
  format: 0,
  type: 0,
  any: 0,
  doc: 0,
})

/**
 * Parse and validate a Yjs v1 update without applying it.
 *
 * @param update - The raw update bytes (as produced by `Y.encodeStateAsUpdate`, the `update` event, `Y.mergeUpdates`).
 * @param limits - Bounds and policy; every field defaults to the matching `DEFAULT_*` constant.
 * @returns What the update contains: clients and clock ranges, delete set, explicit root names, counts.
 * @throws {@link MalformedUpdateError} when the bytes are not a well-formed v1 update.
 * @throws {@link UpdateTooLargeError} when a limit is exceeded.
 * @throws {@link UpdateTimeoutError} when inspection exceeds `maxMillis`.
 * @throws {@link ForbiddenContentError} for sub-documents, `__proto__` keys or root names outside `allowedRoots`.
 *
 * @example
 * ```ts
 * const info = inspectUpdate(bytes, { allowedRoots: ['config'] })
 * for (const client of info.clients) if (!mayWrite(sender, client)) throw new Error('not allowed')
 * Y.applyUpdate(doc, bytes)
 * ```
 */
export const inspectUpdate = (update: Uint8Array, limits?: UpdateLimits): UpdateInfo => inspect(update, limits).info

/**
 * Everything one parse learned: the public {@link UpdateInfo} and the struct references the document-aware checks
 * ({@link guardedApply}) need. The ingest pipeline parses once and hands this to every later step.
 */
export interface Inspection {
  info: UpdateInfo
  limits: ResolvedLimits
  refs: StructRefs
  groups: ConflictGroup[]
  /** Indices (in `refs`) of items spanning several clocks with content other than `ContentDeleted`. */
  multiClock: number[]
}

/** Parses and checks `update` once (see {@link inspectUpdate}); the full result for later steps. */
export const inspect = (update: Uint8Array, limits: UpdateLimits | undefined): Inspection =>
  inspectResolved(update, resolveLimits(limits))

/** {@link inspect} with limits already resolved (re-inspections of parked structs reuse the first resolution). */
export const inspectResolved = (update: Uint8Array, l: ResolvedLimits): Inspection => {
  if (!(update instanceof Uint8Array)) throw new MalformedUpdateError('update is not a Uint8Array')
  if (update.byteLength > l.maxBytes) {
    throw new UpdateTooLargeError(`Yjs update exceeds a limit: ${update.byteLength} bytes > maxBytes ${l.maxBytes}`)
  }
  // The smallest valid v1 update is [0, 0]: no struct blocks, no delete-set clients. Yjs < 13.6 looped forever on [].
  if (update.byteLength < 2) throw new MalformedUpdateError(`update of ${update.byteLength} bytes is too short`)
  const p = new Parser(update, l)
  const counts = emptyCounts()
  const clients = new Set<number>()
  const ranges: ClockRange[] = []
  const roots = new Set<string>()
  const blockClients = new Set<number>()
  const refs = createStructRefs()
  const multiClock: number[] = []
  let structCount = 0

  // Struct section: #blocks, then per block: #structs, client, first clock, structs.
  const blocks = p.count(3, 'client block count')
  if (blocks > l.maxClients) throw p.tooLarge(`${blocks} client blocks > maxClients ${l.maxClients}`)
  for (let b = 0; b < blocks; b++) {
    const n = p.count(2, 'struct count')
    structCount += n
    if (structCount > l.maxStructs) throw p.tooLarge(`more than maxStructs ${l.maxStructs} structs`)
    const client = p.clientId('block client')
    // Yjs keeps only the last block of a client (Map.set), decodeUpdate reports all: refuse the ambiguity.
    if (blockClients.has(client)) throw p.malformed(`duplicate block for client ${client}`)
    blockClients.add(client)
    let clock = p.clock('block clock')
    let runStart = -1
    for (let i = 0; i < n; i++) {
      p.step()
      const info = p.u8('struct info')
      const kind = info & BITS5
      let length: number
      if (kind === REF_GC || kind === REF_SKIP) {
        if (info !== kind) throw p.malformed(`non-canonical info byte ${info}`)
        length = p.varUint(kind === REF_GC ? 'gc length' : 'skip length')
        if (kind === REF_GC) counts.gc++
        else counts.skip++
      } else {
        let oc = -1
        let ok = -1
        let rc = -1
        let rk = -1
        let pc = -1
        let pk = -1
        let parentRoot: string | null = null
        let parentSub: string | null = null
        if ((info & BIT8_ORIGIN) !== 0) {
          p.ref(client, clock, 'origin')
          oc = p.refClient
          ok = p.refClock
        }
        if ((info & BIT7_RIGHT_ORIGIN) !== 0) {
          p.ref(client, clock, 'right origin')
          rc = p.refClient
          rk = p.refClock
        }
        if ((info & (BIT7_RIGHT_ORIGIN | BIT8_ORIGIN)) === 0) {
          const parentInfo = p.varUint('parent info')
          if (parentInfo === 1) {
            parentRoot = p.string(l.maxKeyBytes, 'root type name')
            if (l.allowedRoots !== null && !l.allowedRoots.has(parentRoot)) {
              throw new ForbiddenContentError(`root type "${parentRoot}" is not allowed`)
            }
            roots.add(parentRoot)
          } else if (parentInfo === 0) {
            p.ref(client, clock, 'parent')
            pc = p.refClient
            pk = p.refClock
          } else {
            throw p.malformed(`parent info ${parentInfo} is neither 0 nor 1`)
          }
          if ((info & BIT6_PARENT_SUB) !== 0) parentSub = p.string(l.maxKeyBytes, 'parent sub key')
        }
        length = p.content(kind, counts)
        const r = refs.count++
        refs.client[r] = client
        refs.clock[r] = clock
        refs.length[r] = length
        refs.originClient[r] = oc
        refs.originClock[r] = ok
        refs.rightClient[r] = rc
        refs.rightClock[r] = rk
        refs.parentRoot[r] = parentRoot
        refs.parentClient[r] = pc
        refs.parentClock[r] = pk
        refs.parentSub[r] = parentSub
        if (length > 1 && kind !== REF_DELETED) multiClock.push(r)
      }
      if (length < 1) throw p.malformed(`zero-length struct at ${client}:${clock}`)
      if (clock + length > l.maxClock) throw p.tooLarge(`struct ${client}:${clock}+${length} > maxClock ${l.maxClock}`)
      if (kind === REF_SKIP) {
        if (runStart >= 0) ranges.push({ client, clock: runStart, length: clock - runStart })
        runStart = -1
      } else if (runStart < 0) {
        runStart = clock
      }
      clock += length
    }
    if (runStart >= 0) ranges.push({ client, clock: runStart, length: clock - runStart })
  }
  for (const r of ranges) clients.add(r.client)

  // Delete set: #clients, then per client: client, #ranges, (clock, len)*.
  const deleteSet: DeleteRange[] = []
  const dsClients = p.count(2, 'delete set client count')
  if (dsClients > l.maxClients) throw p.tooLarge(`${dsClients} delete set clients > maxClients ${l.maxClients}`)
  const seenDs = new Set<number>()
  for (let c = 0; c < dsClients; c++) {
    const client = p.clientId('delete set client')
    if (seenDs.has(client)) throw p.malformed(`duplicate delete set entry for client ${client}`)
    seenDs.add(client)
    const n = p.count(2, 'delete range count')
    if (deleteSet.length + n > l.maxDeleteRanges) throw p.tooLarge(`more than maxDeleteRanges ${l.maxDeleteRanges}`)
    let prevEnd = 0
    for (let i = 0; i < n; i++) {
      p.step()
      const clock = p.clock('delete clock')
      const len = p.varUint('delete length')
      if (len < 1) throw p.malformed(`empty delete range ${client}:${clock}`)
      // Overlapping ranges make Yjs walk the same structs again (quadratic); Yjs always writes them sorted+merged.
      if (clock < prevEnd) throw p.malformed(`delete range ${client}:${clock} overlaps or is out of order`)
      if (clock + len > l.maxClock) throw p.tooLarge(`delete range ${client}:${clock}+${len} > maxClock ${l.maxClock}`)
      prevEnd = clock + len
      deleteSet.push({ client, clock, len })
    }
  }
  if (p.remaining !== 0) throw p.malformed(`${p.remaining} trailing bytes`)

  const groups = conflictGroups(refs)
  const conflictCost = estimateUpdateCost(groups)
  if (conflictCost > l.maxIntegrationCost) {
    throw p.tooLarge(`estimated conflict-resolution cost ${conflictCost} > maxIntegrationCost ${l.maxIntegrationCost}`)
  }
  const info = {
    byteLength: update.byteLength,
    structCount,
    clients,
    ranges,
    deleteSet,
    roots,
    contents: counts,
    conflictCost,
  }
  return { info, limits: l, refs, groups, multiClock }
}
