/**
 * Parts of a catch-up reply: lets a joiner take its first full state from several ring owners at once, each sending
 * a disjoint slice, instead of one neighbour sending everything.
 *
 * What a part is: take what a requester lacks (for every Yjs client, the structs after the requester's state vector),
 * walk it in causal order (`yjs-guard/causal-slices.ts`: clients by descending id, clocks ascending, a struct's
 * missing origin, right origin or parent walked first, as Yjs integrates) and give every element a weight close to
 * its encoded size (a JSON entry: its JSON length; deleted content and GC: 0). Part `i` of
 * `n` holds the elements whose cumulative weight starts in `[i/n, (i+1)/n)` of the total. Each part is a valid Yjs v1
 * update; the union of all parts equals `Y.encodeStateAsUpdate(doc, stateVector)` minus the responder's pending
 * structs. Part 0 also carries the whole delete set.
 *
 * Guarantees:
 * - Two replicas with the same content compute the same cut points (they depend on element values and clocks, not on
 *   how either replica happens to split its items), so parts fetched from different owners fit together.
 * - Replicas that differ only cost bytes: a gap between parts leaves pending structs, an overlap is ignored by Yjs.
 *   The joiner always finishes with an ordinary state-vector diff, which fills any gap.
 * - Cuts fall between array elements. Content that cannot be cut exactly (strings, binaries, embeds, types) is never
 *   cut inside an item; a string split inside a surrogate pair would change the text.
 * - Parts applied in index order never leave structs pending: part `i` needs nothing from a later part (a cut by
 *   client instead parked each part of a 10 MB join on the next and merged and re-applied all parked bytes at every
 *   part: a 10 MB join took 1.71 s of the joiner's CPU, 0.99 s cut causally).
 * - Small replies are not split: with less than `minPartWeight` per part, fewer parts carry data and the others are
 *   empty updates.
 *
 * Relies on Yjs internals that are part of its exported surface (`Item.write(encoder, offset)`, content `copy()` /
 * `splice()`, `doc.store.clients`); `test/unit/ring-sync-parts.test.ts` checks the result against
 * `encodeStateAsUpdate` on random documents.
 *
 * @module
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { InvalidMessageError } from '../errors.js'
import { causalOrder, type OrderedStruct, writeDeleteSet } from '../yjs-guard/causal-slices.js'

/** Version of the part-request prefix. */
export const SYNC_PARTS_VERSION = 1
/** Most parts one reply may be split into. */
export const MAX_SYNC_PARTS = 64
/** Default smallest weight (about bytes) worth a part of its own. */
export const DEFAULT_MIN_PART_WEIGHT = 16 * 1024

/** Which slice of a catch-up reply to send: part `index` of `count` (`0 <= index < count`). */
export interface SyncPart {
  readonly index: number
  readonly count: number
}

/**
 * Encodes the request of the parts protocol: `[u8 version][varuint index][varuint count][state vector]`.
 *
 * @throws {InvalidMessageError} `part` is out of range
 */
export function encodePartRequest(stateVector: Uint8Array, part: SyncPart): Uint8Array {
  assertPart(part)
  const enc = encoding.createEncoder()
  encoding.writeUint8(enc, SYNC_PARTS_VERSION)
  encoding.writeVarUint(enc, part.index)
  encoding.writeVarUint(enc, part.count)
  encoding.writeUint8Array(enc, stateVector)
  return encoding.toUint8Array(enc)
}

/**
 * Decodes a request of the parts protocol (see {@link encodePartRequest}).
 *
 * @throws {InvalidMessageError} unknown version, malformed, or a part out of range
 */
export function decodePartRequest(payload: Uint8Array): { stateVector: Uint8Array; part: SyncPart } {
  let part: SyncPart
  let offset: number
  try {
    const dec = decoding.createDecoder(payload)
    const version = decoding.readUint8(dec)
    if (version !== SYNC_PARTS_VERSION) throw new InvalidMessageError(`unsupported sync-part version ${version}`)
    part = { index: decoding.readVarUint(dec), count: decoding.readVarUint(dec) }
    offset = dec.pos
  } catch (err) {
    if (err instanceof InvalidMessageError) throw err
    throw new InvalidMessageError('malformed sync-part request', { cause: err })
  }
  assertPart(part)
  return { stateVector: payload.subarray(offset), part }
}

function assertPart(part: SyncPart): void {
  const { index, count } = part
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SYNC_PARTS) {
    throw new InvalidMessageError(`sync-part count must be 1..${MAX_SYNC_PARTS}, got ${count}`)
  }
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new InvalidMessageError(`sync-part index must be 0..${count - 1}, got ${index}`)
  }
}

type Struct = Y.Item | Y.GC

/** One client's structs a requester lacks: `structs[first..]`, starting at `from`. */
interface ClientRange {
  client: number
  structs: Struct[]
  first: number
  from: number
}

/** Weights of object elements, computed once per element (elements are immutable once integrated). */
const objectWeights = new WeakMap<object, number>()

/** Weight of one element of JSON-like content. */
function elementWeight(value: unknown): number {
  if (value instanceof Uint8Array) return 1 + value.length
  if (value === null || typeof value !== 'object') return 1 + (JSON.stringify(value)?.length ?? 4)
  let w = objectWeights.get(value)
  if (w === undefined) {
    w = 1 + (JSON.stringify(value)?.length ?? 4)
    objectWeights.set(value, w)
  }
  return w
}

/** Whether an item's content can be cut between any two elements without changing it. */
function cuttable(struct: Struct): boolean {
  if (struct instanceof Y.GC) return true
  const c = struct.content
  return c instanceof Y.ContentAny || c instanceof Y.ContentDeleted || c instanceof Y.ContentJSON
}

/** Weights of the elements `offset..` of a cuttable struct. */
function elementWeights(struct: Struct, offset: number): number[] {
  if (struct instanceof Y.GC) return new Array<number>(struct.length - offset).fill(0)
  const c = struct.content
  if (c instanceof Y.ContentDeleted) return new Array<number>(c.len - offset).fill(0)
  const arr = (c as Y.ContentAny | Y.ContentJSON).arr as unknown[]
  return arr.slice(offset).map(elementWeight)
}

/** Total weight of a struct from `offset` (uncuttable content counts as one unit). */
function structWeight(struct: Struct, offset: number): number {
  if (cuttable(struct)) {
    let w = 0
    for (const x of elementWeights(struct, offset)) w += x
    return w
  }
  const c = (struct as Y.Item).content
  if (c instanceof Y.ContentString) return 1 + c.str.length
  if (c instanceof Y.ContentBinary) return 1 + c.content.length
  if (c instanceof Y.ContentEmbed) return elementWeight(c.embed)
  return 1
}

/**
 * Total weight of everything `doc` holds (the weight a responder splits when the requester has nothing), counted until
 * it reaches `stopAt` (then `stopAt` or more is returned: a large document is not walked to the end).
 */
export function documentWeight(doc: Y.Doc, stopAt = Number.POSITIVE_INFINITY): number {
  let total = 0
  for (const structs of doc.store.clients.values()) {
    for (const s of structs) {
      total += structWeight(s, 0)
      if (total >= stopAt) return total
    }
  }
  return total
}

function missingRanges(doc: Y.Doc, stateVector: Uint8Array): ClientRange[] {
  const sv = Y.decodeStateVector(stateVector)
  const ranges: ClientRange[] = []
  for (const [client, structs] of doc.store.clients) {
    if (structs.length === 0) continue
    const last = structs[structs.length - 1]!
    const end = last.id.clock + last.length
    const from = Math.max(sv.get(client) ?? 0, structs[0]!.id.clock)
    if (from >= end) continue
    ranges.push({ client, structs, first: Y.findIndexSS(structs, from), from })
  }
  return ranges.sort((a, b) => b.client - a.client)
}

/** A slice `[start, end)` (offsets inside the struct) of one struct to write. */
interface Slice {
  struct: Struct
  start: number
  end: number
}

/** Writes `slice.struct` limited to its `[start, end)` elements, without touching the live struct. */
function writeSlice(encoder: Y.UpdateEncoderV1, slice: Slice): void {
  const { struct, start, end } = slice
  if (end === struct.length) {
    struct.write(encoder, start)
    return
  }
  if (struct instanceof Y.GC) {
    const view = Object.create(struct, { length: { value: end } }) as Y.GC
    view.write(encoder, start)
    return
  }
  // The left half of a split keeps the item's origin and right origin (as Yjs' own splitItem does); only the content
  // is shorter. Write a view with a shortened copy of the content.
  const content = struct.content.copy()
  content.splice(end)
  const view = Object.create(struct, { content: { value: content } }) as Y.Item
  view.write(encoder, start)
}

/** Writes the document's delete set in the v1 format (as Yjs' `writeDeleteSet`, which it does not export). */
function writeDocDeleteSet(encoder: Y.UpdateEncoderV1, doc: Y.Doc): void {
  const ds = Y.createDeleteSetFromStructStore(doc.store)
  const clients = [...ds.clients.entries()].sort((a, b) => b[0] - a[0])
  writeDeleteSet(
    encoder,
    clients.flatMap(([client, items]) => items.map((item) => ({ client, clock: item.clock, len: item.len }))),
  )
}

/** Options of {@link encodeUpdatePart}. */
export interface UpdatePartOptions {
  /** Smallest weight (about bytes) worth a part of its own. Default {@link DEFAULT_MIN_PART_WEIGHT}. */
  minPartWeight?: number
}

/** Most encoded parts kept per document, and most bytes they may hold together. */
const CACHE_ENTRIES = 16
const CACHE_BYTES = 64 * 1024 * 1024

/** Encoded parts of a document, valid until its next transaction. */
interface PartCache {
  readonly parts: Map<string, Uint8Array>
  bytes: number
}

const caches = new WeakMap<Y.Doc, PartCache>()

/**
 * The cache of encoded parts of `doc`: joiners with the same state vector (typically empty: new peers, a fleet
 * restarting) get the same bytes without weighing and encoding the document again. Any transaction on the document
 * (new structs or deletions) drops it.
 */
function cacheOf(doc: Y.Doc): PartCache {
  let cache = caches.get(doc)
  if (cache === undefined) {
    const created: PartCache = { parts: new Map(), bytes: 0 }
    doc.on('afterTransaction', () => {
      created.parts.clear()
      created.bytes = 0
    })
    caches.set(doc, created)
    cache = created
  }
  return cache
}

/**
 * {@link encodeUpdatePart}, answered from a per-document cache while the document has not changed since the same
 * part was encoded for the same state vector. The returned bytes are shared: callers must not modify them.
 */
export function encodeUpdatePartCached(
  doc: Y.Doc,
  stateVector: Uint8Array,
  part: SyncPart,
  options: UpdatePartOptions = {},
): Uint8Array {
  assertPart(part)
  const cache = cacheOf(doc)
  const key = `${part.index}/${part.count}/${options.minPartWeight ?? DEFAULT_MIN_PART_WEIGHT}/${Buffer.from(stateVector).toString('base64')}`
  const hit = cache.parts.get(key)
  if (hit !== undefined) return hit
  const encoded = encodeUpdatePart(doc, stateVector, part, options)
  if (encoded.length <= CACHE_BYTES) {
    for (const [k, v] of cache.parts) {
      if (cache.parts.size < CACHE_ENTRIES && cache.bytes + encoded.length <= CACHE_BYTES) break
      cache.parts.delete(k)
      cache.bytes -= v.length
    }
    cache.parts.set(key, encoded)
    cache.bytes += encoded.length
  }
  return encoded
}

/**
 * Encodes part `part.index` of `part.count` of what a peer with `stateVector` lacks, as a Yjs v1 update (see the
 * module documentation for how parts are cut). Read-only: the document is not modified.
 *
 * @throws {InvalidMessageError} `part` is out of range
 */
export function encodeUpdatePart(
  doc: Y.Doc,
  stateVector: Uint8Array,
  part: SyncPart,
  options: UpdatePartOptions = {},
): Uint8Array {
  assertPart(part)
  const minPartWeight = options.minPartWeight ?? DEFAULT_MIN_PART_WEIGHT
  const ranges = missingRanges(doc, stateVector)
  if (part.count === 1) return encodeWhole(doc, ranges, part)

  // The walk: what the requester lacks in causal order (a struct after its origins), so part i holds nothing that
  // needs part i + 1 and parts applied in index order never park structs as pending.
  const missing: Struct[] = []
  const offsets = new Map<Struct, number>()
  for (const r of ranges) {
    for (let i = r.first; i < r.structs.length; i++) missing.push(r.structs[i]!)
    const head = r.structs[r.first]!
    if (r.from > head.id.clock) offsets.set(head, r.from - head.id.clock)
  }
  const sv = Y.decodeStateVector(stateVector)
  const causal = causalOrder(missing, (client) => sv.get(client) ?? 0)
  const structAt = (o: OrderedStruct): Struct => causal.runs.get(o.client)![o.index] as Struct

  // Pass 1: total weight, and each struct's weight (kept to find the structs a cut falls into).
  const weights: number[] = []
  let total = 0
  for (const o of causal.order) {
    const s = structAt(o)
    const w = structWeight(s, offsets.get(s) ?? 0)
    weights.push(w)
    total += w
  }
  const effective = Math.max(1, Math.min(part.count, Math.floor(total / minPartWeight)))
  // An element belongs to the part its cumulative start weight falls in: [lo, hi).
  const lo = part.index < effective ? (total * part.index) / effective : Number.POSITIVE_INFINITY
  const hi = part.index + 1 < effective ? (total * (part.index + 1)) / effective : Number.POSITIVE_INFINITY
  const inPart = (at: number): boolean => at >= lo && at < hi

  // Pass 2: the slices of this part, per client (one run of consecutive clocks each: the order keeps clock order).
  const byClient = new Map<number, Slice[]>()
  const take = (slice: Slice): void => {
    const client = slice.struct.id.client
    const list = byClient.get(client)
    if (list === undefined) byClient.set(client, [slice])
    else list.push(slice)
  }
  let at = 0
  causal.order.forEach((o, k) => {
    const s = structAt(o)
    const offset = offsets.get(s) ?? 0
    const w = weights[k]!
    const start = at
    at += w
    if (!cuttable(s)) {
      // One unit, in the part its start falls in.
      if (inPart(start)) take({ struct: s, start: offset, end: s.length })
      return
    }
    // Element starts lie in [start, start + w]: decide whole structs without per-element work when possible.
    if (start >= hi || start + w < lo) return
    if (start >= lo && start + w < hi) {
      take({ struct: s, start: offset, end: s.length })
      return
    }
    let x = start
    let first = -1
    let end = -1
    let idx = offset
    for (const e of elementWeights(s, offset)) {
      if (inPart(x)) {
        if (first < 0) first = idx
        end = idx + 1
      }
      x += e
      idx++
    }
    if (first >= 0) take({ struct: s, start: first, end })
  })
  const selected = [...byClient.entries()]
    .sort((a, b) => b[0] - a[0])
    .map(([client, slices]) => ({ client, from: slices[0]!.struct.id.clock + slices[0]!.start, slices }))
  return encodeSelected(doc, selected, part)
}

/** The one part of a reply that is not split: everything the requester lacks, as `Y.encodeStateAsUpdate` writes it. */
function encodeWhole(doc: Y.Doc, ranges: ClientRange[], part: SyncPart): Uint8Array {
  const selected = ranges.map((r) => {
    const slices: Slice[] = []
    for (let i = r.first; i < r.structs.length; i++) {
      const s = r.structs[i]!
      slices.push({ struct: s, start: i === r.first ? r.from - s.id.clock : 0, end: s.length })
    }
    return { client: r.client, from: r.from, slices }
  })
  return encodeSelected(doc, selected, part)
}

/** Encodes per-client runs of slices (clients in descending order) and, in part 0, the document's delete set. */
function encodeSelected(
  doc: Y.Doc,
  selected: ReadonlyArray<{ client: number; from: number; slices: readonly Slice[] }>,
  part: SyncPart,
): Uint8Array {
  const encoder = new Y.UpdateEncoderV1()
  encoding.writeVarUint(encoder.restEncoder, selected.length)
  for (const { client, from, slices } of selected) {
    encoding.writeVarUint(encoder.restEncoder, slices.length)
    encoder.writeClient(client)
    encoding.writeVarUint(encoder.restEncoder, from)
    for (const slice of slices) writeSlice(encoder, slice)
  }
  if (part.index === 0) writeDocDeleteSet(encoder, doc)
  else encoding.writeVarUint(encoder.restEncoder, 0)
  return encoder.toUint8Array()
}
