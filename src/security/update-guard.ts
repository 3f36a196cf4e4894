/**
 * Update guard: a bounded, allocation-safe parser for the Yjs **v1** update format that decides whether an update is
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
import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'
import { UpdateRejectedError } from '../errors.js'
import {
  ForbiddenContentError,
  MalformedUpdateError,
  UpdateApplyError,
  UpdateTimeoutError,
  UpdateTooLargeError,
} from './errors.js'
import {
  type ConflictGroup,
  conflictGroups,
  createStructRefs,
  estimateDocCost,
  estimateUpdateCost,
  indexer,
  type StructRefs,
} from './integration-cost.js'
import { utf16Length } from './utf8.js'

/** Default {@link UpdateLimits.maxBytes}: 8 MiB (gossipsub drops messages above 4 MiB anyway). */
export const DEFAULT_MAX_UPDATE_BYTES = 8 * 1024 * 1024
/** Default {@link UpdateLimits.maxStructs}: 200,000 structs (each becomes a Yjs object of roughly 100-200 bytes). */
export const DEFAULT_MAX_STRUCTS = 200_000
/** Default {@link UpdateLimits.maxClients}: 65,536 distinct client ids in one update (struct or delete section). */
export const DEFAULT_MAX_CLIENTS = 65_536
/** Default {@link UpdateLimits.maxDeleteRanges}: 200,000 delete-set ranges. */
export const DEFAULT_MAX_DELETE_RANGES = 200_000
/** Default {@link UpdateLimits.maxContentBytes}: 1 MiB for any single string, binary, JSON text or `any` string. */
export const DEFAULT_MAX_CONTENT_BYTES = 1024 * 1024
/** Default {@link UpdateLimits.maxKeyBytes}: 4 KiB for map keys, root type names, format keys and XML node names. */
export const DEFAULT_MAX_KEY_BYTES = 4096
/** Default {@link UpdateLimits.maxNesting}: 64 nested arrays/objects inside one `any` or JSON value. */
export const DEFAULT_MAX_NESTING = 64
/** Default {@link UpdateLimits.maxClock}: 2^32. Every clock and every `clock + length` must be at most this. */
export const DEFAULT_MAX_CLOCK = 2 ** 32
/**
 * Default {@link UpdateLimits.maxIntegrationCost}: 1,000,000 estimated conflict-resolution steps (Yjs walks roughly
 * 2-5 million per second), so an accepted update costs well under a second of `Item.integrate` work.
 */
export const DEFAULT_MAX_INTEGRATION_COST = 1_000_000
/** Default {@link UpdateLimits.maxMillis}: 1000 ms wall-clock budget for one inspection. */
export const DEFAULT_MAX_MILLIS = 1000

/** Bounds and policy applied by {@link inspectUpdate}. Every field is optional; defaults are the `DEFAULT_*` constants. */
export interface UpdateLimits {
  /** Maximum update size in bytes. Default {@link DEFAULT_MAX_UPDATE_BYTES}. */
  maxBytes?: number
  /** Maximum number of structs (items, GC and Skip) in the update. Default {@link DEFAULT_MAX_STRUCTS}. */
  maxStructs?: number
  /** Maximum number of client blocks in the struct section and in the delete set. Default {@link DEFAULT_MAX_CLIENTS}. */
  maxClients?: number
  /** Maximum number of delete-set ranges. Default {@link DEFAULT_MAX_DELETE_RANGES}. */
  maxDeleteRanges?: number
  /** Maximum bytes of one string / binary / JSON text / `any` string. Default {@link DEFAULT_MAX_CONTENT_BYTES}. */
  maxContentBytes?: number
  /** Maximum bytes of a key, root name, format key or XML node name. Default {@link DEFAULT_MAX_KEY_BYTES}. */
  maxKeyBytes?: number
  /** Maximum nesting of arrays/objects inside an `any` or JSON value. Default {@link DEFAULT_MAX_NESTING}. */
  maxNesting?: number
  /** Upper bound for every clock and `clock + length` in the update. Default {@link DEFAULT_MAX_CLOCK}. */
  maxClock?: number
  /** Wall-clock budget for one inspection in milliseconds. Default {@link DEFAULT_MAX_MILLIS}. */
  maxMillis?: number
  /**
   * Bound on the estimated YATA conflict-resolution work (see `integration-cost.ts`): stateless in
   * {@link inspectUpdate}, plus the document's existing siblings in {@link guardedApply}.
   * Default {@link DEFAULT_MAX_INTEGRATION_COST}.
   */
  maxIntegrationCost?: number
  /**
   * If set, structs may only name these root types explicitly; any other root name is refused with
   * {@link ForbiddenContentError}. Default: any root name is accepted (and reported in {@link UpdateInfo.roots}).
   */
  allowedRoots?: Iterable<string>
  /** Accept sub-documents (`ContentDoc`). Default `false`: confmesh does not use them and they widen the attack surface. */
  allowSubdocs?: boolean
}

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

interface ResolvedLimits {
  maxBytes: number
  maxStructs: number
  maxClients: number
  maxDeleteRanges: number
  maxContentBytes: number
  maxKeyBytes: number
  maxNesting: number
  maxClock: number
  maxMillis: number
  maxIntegrationCost: number
  allowedRoots: ReadonlySet<string> | null
  allowSubdocs: boolean
}

const UINT32_MAX = 0xffff_ffff
/** Check the clock every this many parse steps (power of two minus one, used as a mask). */
const TIME_CHECK_MASK = 1023
/** Keys of a sub-document's options that Yjs reads; anything else could reach `new Y.Doc()` unchecked. */
const SUBDOC_OPTION_KEYS = new Set(['gc', 'autoLoad', 'shouldLoad', 'meta', 'collectionid'])

// Struct info byte: the low 5 bits select the struct/content kind, the high bits flag optional fields.
const BITS5 = 0x1f
const BIT6_PARENT_SUB = 0x20
const BIT7_RIGHT_ORIGIN = 0x40
const BIT8_ORIGIN = 0x80
const REF_GC = 0
const REF_SKIP = 10
/** Content ref of `ContentDeleted`: such items integrate as deleted. */
const REF_DELETED = 1

// `lib0/encoding` writeAny tags.
const ANY_UNDEFINED = 127
const ANY_NULL = 126
const ANY_INTEGER = 125
const ANY_FLOAT32 = 124
const ANY_FLOAT64 = 123
const ANY_BIGINT = 122
const ANY_FALSE = 121
const ANY_TRUE = 120
const ANY_STRING = 119
const ANY_OBJECT = 118
const ANY_ARRAY = 117
const ANY_BINARY = 116

/** Yjs type refs (`typeRefs` in ContentType.js): YArray..YXmlText. XmlElement (3) and XmlHook (5) carry a name. */
const TYPE_REF_MAX = 6
const TYPE_REF_XML_ELEMENT = 3
const TYPE_REF_XML_HOOK = 5

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** `__proto__` in UTF-8: lib0's readAny would assign it with `obj[key] = value`, replacing the prototype. */
const PROTO_KEY = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f]

const isProtoKey = (arr: Uint8Array, start: number, end: number): boolean => {
  // the key is preceded by its one-byte length (9)
  if (end - start !== PROTO_KEY.length + 1) return false
  for (let i = 0; i < PROTO_KEY.length; i++) if (arr[start + 1 + i] !== PROTO_KEY[i]) return false
  return true
}

const positiveOr = (value: number | undefined, fallback: number, name: string): number => {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new TypeError(`UpdateLimits.${name} must be a non-negative number`)
  }
  return value
}

const resolveLimits = (limits: UpdateLimits | undefined): ResolvedLimits => ({
  maxBytes: positiveOr(limits?.maxBytes, DEFAULT_MAX_UPDATE_BYTES, 'maxBytes'),
  maxStructs: positiveOr(limits?.maxStructs, DEFAULT_MAX_STRUCTS, 'maxStructs'),
  maxClients: positiveOr(limits?.maxClients, DEFAULT_MAX_CLIENTS, 'maxClients'),
  maxDeleteRanges: positiveOr(limits?.maxDeleteRanges, DEFAULT_MAX_DELETE_RANGES, 'maxDeleteRanges'),
  maxContentBytes: positiveOr(limits?.maxContentBytes, DEFAULT_MAX_CONTENT_BYTES, 'maxContentBytes'),
  maxKeyBytes: positiveOr(limits?.maxKeyBytes, DEFAULT_MAX_KEY_BYTES, 'maxKeyBytes'),
  maxNesting: positiveOr(limits?.maxNesting, DEFAULT_MAX_NESTING, 'maxNesting'),
  maxClock: Math.min(positiveOr(limits?.maxClock, DEFAULT_MAX_CLOCK, 'maxClock'), Number.MAX_SAFE_INTEGER),
  maxMillis: positiveOr(limits?.maxMillis, DEFAULT_MAX_MILLIS, 'maxMillis'),
  maxIntegrationCost: positiveOr(limits?.maxIntegrationCost, DEFAULT_MAX_INTEGRATION_COST, 'maxIntegrationCost'),
  allowedRoots: limits?.allowedRoots === undefined ? null : new Set(limits.allowedRoots),
  allowSubdocs: limits?.allowSubdocs === true,
})

/** Parser state for one inspection. */
class Parser {
  readonly d: decoding.Decoder
  readonly limits: ResolvedLimits
  readonly deadline: number
  steps = 0

  constructor(update: Uint8Array, limits: ResolvedLimits) {
    this.d = decoding.createDecoder(update)
    this.limits = limits
    this.deadline = performance.now() + limits.maxMillis
  }

  get remaining(): number {
    return this.d.arr.length - this.d.pos
  }

  malformed(reason: string): MalformedUpdateError {
    return new MalformedUpdateError(`malformed Yjs update at byte ${this.d.pos}: ${reason}`)
  }

  tooLarge(reason: string): UpdateTooLargeError {
    return new UpdateTooLargeError(`Yjs update exceeds a limit: ${reason}`)
  }

  /** Count one unit of work and enforce the time budget. */
  step(): void {
    if ((++this.steps & TIME_CHECK_MASK) === 0 && performance.now() > this.deadline) {
      throw new UpdateTimeoutError(`inspecting the update took longer than ${this.limits.maxMillis} ms`)
    }
  }

  u8(what: string): number {
    const { arr } = this.d
    if (this.d.pos >= arr.length) throw this.malformed(`truncated ${what}`)
    return arr[this.d.pos++]!
  }

  /**
   * Strict unsigned LEB128 as written by `lib0/encoding.writeVarUint`: at most 8 bytes, canonical (no redundant
   * trailing zero group), at most `Number.MAX_SAFE_INTEGER`. lib0's reader accepts longer encodings and can return
   * `NaN` for 150+ continuation bytes, which Yjs would then use as a count or clock.
   */
  varUint(what: string): number {
    const { arr } = this.d
    let pos = this.d.pos
    let num = 0
    let mult = 1
    for (let i = 0; i < 8; i++) {
      if (pos >= arr.length) throw this.malformed(`truncated ${what}`)
      const r = arr[pos++]!
      num += (r & 0x7f) * mult
      if (r < 0x80) {
        if (r === 0 && i > 0) throw this.malformed(`non-canonical varint in ${what}`)
        if (num > Number.MAX_SAFE_INTEGER) throw this.malformed(`${what} out of range`)
        this.d.pos = pos
        return num
      }
      mult *= 128
    }
    throw this.malformed(`varint too long in ${what}`)
  }

  /** Strict signed varint (`lib0/encoding.writeVarInt`): 6 value bits + sign in the first byte, canonical. */
  varInt(what: string): void {
    const first = this.u8(what)
    if ((first & 0x80) === 0) return
    let num = first & 0x3f
    let mult = 64
    for (let i = 0; i < 8; i++) {
      const r = this.u8(what)
      num += (r & 0x7f) * mult
      if (r < 0x80) {
        if (r === 0) throw this.malformed(`non-canonical varint in ${what}`)
        if (num > Number.MAX_SAFE_INTEGER) throw this.malformed(`${what} out of range`)
        return
      }
      mult *= 128
    }
    throw this.malformed(`varint too long in ${what}`)
  }

  clientId(what: string): number {
    const client = this.varUint(what)
    if (client > UINT32_MAX) throw this.malformed(`${what} ${client} is not a uint32`)
    return client
  }

  clock(what: string): number {
    const clock = this.varUint(what)
    if (clock > this.limits.maxClock) throw this.tooLarge(`${what} ${clock} > maxClock ${this.limits.maxClock}`)
    return clock
  }

  /** Read a var-length byte run; return its start offset (the run ends at the new `d.pos`). Never copies. */
  span(max: number, what: string): number {
    const len = this.varUint(what)
    if (len > this.remaining) throw this.malformed(`${what} claims ${len} bytes, ${this.remaining} remain`)
    if (len > max) throw this.tooLarge(`${what} of ${len} bytes > ${max}`)
    const start = this.d.pos
    this.d.pos += len
    return start
  }

  /** Read a var string, validate its UTF-8 and return its length in UTF-16 code units, without decoding it. */
  text(max: number, what: string): number {
    const start = this.span(max, what)
    const len = utf16Length(this.d.arr, start, this.d.pos)
    if (len < 0) throw this.malformed(`${what} is not valid UTF-8`)
    return len
  }

  /** Read and decode a var string (strict UTF-8, BOM kept, as lib0's decoder does). */
  string(max: number, what: string): string {
    const start = this.span(max, what)
    try {
      return utf8.decode(this.d.arr.subarray(start, this.d.pos))
    } catch {
      throw this.malformed(`${what} is not valid UTF-8`)
    }
  }

  skip(len: number, what: string): void {
    if (len > this.remaining) throw this.malformed(`truncated ${what}`)
    this.d.pos += len
  }

  /** A count of elements that each take at least `minBytes` bytes: refuse counts the remaining bytes cannot hold. */
  count(minBytes: number, what: string): number {
    const n = this.varUint(what)
    if (n * minBytes > this.remaining) {
      throw this.malformed(`${what} claims ${n} entries, only ${this.remaining} bytes remain`)
    }
    return n
  }

  /** Validate one `lib0/encoding.writeAny` value without materialising it. */
  any(depth: number): void {
    this.step()
    const tag = this.u8('any tag')
    switch (tag) {
      case ANY_UNDEFINED:
      case ANY_NULL:
      case ANY_FALSE:
      case ANY_TRUE:
        return
      case ANY_INTEGER:
        this.varInt('any integer')
        return
      case ANY_FLOAT32:
        this.skip(4, 'any float32')
        return
      case ANY_FLOAT64:
      case ANY_BIGINT:
        this.skip(8, 'any float64/bigint')
        return
      case ANY_STRING:
        this.text(this.limits.maxContentBytes, 'any string')
        return
      case ANY_BINARY:
        this.span(this.limits.maxContentBytes, 'any binary')
        return
      case ANY_OBJECT: {
        if (depth >= this.limits.maxNesting)
          throw this.tooLarge(`any value nested deeper than ${this.limits.maxNesting}`)
        const n = this.count(2, 'any object size')
        for (let i = 0; i < n; i++) {
          const start = this.d.pos
          this.text(this.limits.maxKeyBytes, 'any object key')
          if (isProtoKey(this.d.arr, start, this.d.pos)) {
            throw new ForbiddenContentError('any object has a "__proto__" key')
          }
          this.any(depth + 1)
        }
        return
      }
      case ANY_ARRAY: {
        if (depth >= this.limits.maxNesting)
          throw this.tooLarge(`any value nested deeper than ${this.limits.maxNesting}`)
        const n = this.count(1, 'any array length')
        for (let i = 0; i < n; i++) this.any(depth + 1)
        return
      }
      default:
        throw this.malformed(`unknown any tag ${tag}`)
    }
  }

  /** Validate JSON text (as Yjs v1 `readJSON` would `JSON.parse` it), bounding nesting before parsing. */
  json(text: string, what: string): void {
    let depth = 0
    let inString = false
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (inString) {
        if (c === 0x5c)
          i++ // backslash: skip the escaped character
        else if (c === 0x22) inString = false
      } else if (c === 0x22) {
        inString = true
      } else if (c === 0x5b || c === 0x7b) {
        if (++depth > this.limits.maxNesting)
          throw this.tooLarge(`${what} nested deeper than ${this.limits.maxNesting}`)
      } else if (c === 0x5d || c === 0x7d) {
        depth--
      }
    }
    try {
      JSON.parse(text)
    } catch {
      throw this.malformed(`${what} is not valid JSON`)
    }
  }

  /** Validate sub-document options: an object with known keys of the types `new Y.Doc()` expects. */
  subdocOptions(): void {
    this.step()
    if (this.u8('subdoc options tag') !== ANY_OBJECT) throw this.malformed('subdoc options are not an object')
    const n = this.count(2, 'subdoc options size')
    for (let i = 0; i < n; i++) {
      const key = this.string(this.limits.maxKeyBytes, 'subdoc option key')
      if (!SUBDOC_OPTION_KEYS.has(key)) throw new ForbiddenContentError(`subdoc option "${key}" is not allowed`)
      if (key === 'meta') {
        this.any(1)
        continue
      }
      const tag = this.u8('subdoc option value')
      if (key === 'collectionid') {
        if (tag === ANY_STRING) this.text(this.limits.maxKeyBytes, 'subdoc collectionid')
        else if (tag !== ANY_NULL) throw this.malformed('subdoc collectionid is not a string')
      } else if (tag !== ANY_TRUE && tag !== ANY_FALSE) {
        throw this.malformed(`subdoc option "${key}" is not a boolean`)
      }
    }
  }

  /** Client of the last reference read by {@link Parser.ref}. */
  refClient = -1
  /** Clock of the last reference read by {@link Parser.ref}. */
  refClock = -1

  /**
   * Read an ID reference into `refClient`/`refClock`; a reference into the struct's own client must point strictly
   * before the struct.
   */
  ref(client: number, clock: number, what: string): void {
    const refClient = this.clientId(what)
    const refClock = this.clock(what)
    if (refClient === client && refClock >= clock) {
      throw this.malformed(`${what} ${refClient}:${refClock} is not before the struct ${client}:${clock}`)
    }
    this.refClient = refClient
    this.refClock = refClock
  }

  /** Read the content of an item and return its length in clocks (>= 1). */
  content(kind: number, counts: ContentCounts): number {
    const { maxContentBytes, maxKeyBytes } = this.limits
    switch (kind) {
      case 1: {
        counts.deleted++
        return this.varUint('deleted length')
      }
      case 2: {
        counts.json++
        const n = this.count(1, 'json element count')
        for (let i = 0; i < n; i++) {
          this.step()
          const text = this.string(maxContentBytes, 'json element')
          if (text !== 'undefined') this.json(text, 'json element')
        }
        return n
      }
      case 3:
        counts.binary++
        this.span(maxContentBytes, 'binary content')
        return 1
      case 4:
        counts.string++
        // Yjs counts clocks in UTF-16 code units of the decoded string.
        return this.text(maxContentBytes, 'string content')
      case 5:
        counts.embed++
        this.json(this.string(maxContentBytes, 'embed'), 'embed')
        return 1
      case 6:
        counts.format++
        this.text(maxKeyBytes, 'format key')
        this.json(this.string(maxContentBytes, 'format value'), 'format value')
        return 1
      case 7: {
        counts.type++
        const ref = this.varUint('type ref')
        if (ref > TYPE_REF_MAX) throw this.malformed(`unknown type ref ${ref}`)
        if (ref === TYPE_REF_XML_ELEMENT || ref === TYPE_REF_XML_HOOK) this.text(maxKeyBytes, 'xml node name')
        return 1
      }
      case 8: {
        counts.any++
        const n = this.count(1, 'any element count')
        for (let i = 0; i < n; i++) this.any(0)
        return n
      }
      case 9:
        counts.doc++
        if (!this.limits.allowSubdocs) throw new ForbiddenContentError('sub-documents are not allowed')
        this.text(maxKeyBytes, 'subdoc guid')
        this.subdocOptions()
        return 1
      default:
        throw this.malformed(`unknown content ref ${kind}`)
    }
  }
}

const emptyCounts = (): ContentCounts => ({
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

interface Inspection {
  info: UpdateInfo
  limits: ResolvedLimits
  refs: StructRefs
  groups: ConflictGroup[]
  /** Indices (in `refs`) of items spanning several clocks with content other than `ContentDeleted`. */
  multiClock: number[]
}

const inspect = (update: Uint8Array, limits: UpdateLimits | undefined): Inspection => {
  const l = resolveLimits(limits)
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

/** Delete ranges per client, sorted by clock. */
type RangesByClient = Map<number, { clock: number; len: number }[]>

/** Whether `[from, to)` of `client` lies entirely in (adjacent or overlapping) ranges of `ds`. */
const covers = (ds: RangesByClient, client: number, from: number, to: number): boolean => {
  const ranges = ds.get(client)
  if (ranges === undefined) return false
  let pos = from
  for (const r of ranges) {
    if (r.clock > pos) break
    if (r.clock + r.len > pos) pos = r.clock + r.len
    if (pos >= to) return true
  }
  return false
}

const byClient = (ranges: Iterable<[number, { clock: number; len: number }]>): RangesByClient => {
  const out: RangesByClient = new Map()
  for (const [client, r] of ranges) {
    let list = out.get(client)
    if (list === undefined) {
      list = []
      out.set(client, list)
    }
    list.push({ clock: r.clock, len: r.len })
  }
  for (const list of out.values()) list.sort((a, b) => a.clock - b.clock)
  return out
}

const MAP_NO = 1
const MAP_YES = 2
const MAP_VISITING = 3

/**
 * Refuse an update that would leave a **live map value spanning several clocks** in `doc`.
 *
 * Yjs itself only ever writes map values (`parentSub !== null`) of length 1 (`Y.Map#set` inserts one `ContentAny`,
 * `ContentType`, `ContentBinary` or `ContentDoc`); longer map items only arise by merging values that are all
 * deleted. A crafted item can still be a live map value of several clocks: a `ContentString`/`ContentAny`/
 * `ContentJSON` with an explicit map key, or one whose origin (or, after trimming, its predecessor) is a map value, so
 * it inherits the key from an item that may only exist in the document. Once any later update splits that value (an
 * origin or right origin inside it, or a delete range ending inside it), the key's history holds a live item that is
 * not the key's current value. `ContentType.delete` only deletes the current values of a deleted map, and
 * `ContentType.gc` then reaches the live one and throws `Unexpected case` from `Item.gc`, mid-transaction (found by the
 * structural fuzz test, seed 512279). Refusing the value when it is created keeps the invariant Yjs relies on.
 *
 * An item counts as a map value when it resolves like `Item.getMissing` does: the part the document lacks (trimmed
 * by `Y.diffUpdate`, its origin then the document's predecessor) inherits the map key of its origin, else of its right
 * origin, else has its explicit key; origins inside the update are followed, GC and missing origins end the walk (a
 * parked item is checked again when it is released). Items deleted within the same transaction are allowed: covered
 * by the update's delete set or the document's pending deletes (what a `gc: false` replica honestly sends).
 *
 * @throws {@link MalformedUpdateError} when such a value would be created.
 */
const checkMapValues = (doc: Y.Doc, inspection: Inspection): void => {
  const { refs, multiClock, info } = inspection
  if (multiClock.length === 0) return
  const store = doc.store
  const find = indexer(refs)
  const memo = new Uint8Array(refs.count)
  /** Whether item `start` integrates with a map key (iterative: origin chains can be as long as the update). */
  const isMapValue = (start: number): boolean => {
    const chain: number[] = []
    let result = MAP_NO
    for (let i = start; ; ) {
      const m = memo[i]!
      if (m !== 0) {
        result = m === MAP_VISITING ? MAP_NO : m // a reference cycle is parked by Yjs for good
        break
      }
      memo[i] = MAP_VISITING
      chain.push(i)
      const client = refs.client[i]!
      const state = Y.getState(store, client)
      let rc = refs.originClient[i]!
      let rk = refs.originClock[i]!
      if (refs.clock[i]! < state) {
        rc = client
        rk = state - 1
      } else if (rc < 0) {
        rc = refs.rightClient[i]!
        rk = refs.rightClock[i]!
      }
      if (rc < 0) {
        result = refs.parentSub[i] !== null ? MAP_YES : MAP_NO
        break
      }
      if (rk < Y.getState(store, rc)) {
        const s = Y.getItem(store, Y.createID(rc, rk))
        result = s instanceof Y.Item && s.parentSub !== null ? MAP_YES : MAP_NO
        break
      }
      const next = find(rc, rk)
      if (next < 0) break // a GC or Skip struct of the update, or missing: not a map value now
      i = next
    }
    for (const k of chain) memo[k] = result
    return result === MAP_YES
  }
  let ds: RangesByClient | null = null
  let pendingDs: RangesByClient | null = null
  for (const i of multiClock) {
    const client = refs.client[i]!
    const end = refs.clock[i]! + refs.length[i]!
    const from = Math.max(refs.clock[i]!, Y.getState(store, client))
    if (end - from < 2 || !isMapValue(i)) continue
    ds ??= byClient(info.deleteSet.map((r) => [r.client, r]))
    if (covers(ds, client, from, end)) continue
    if (pendingDs === null) {
      const pending = store.pendingDs === null ? [] : [...Y.decodeUpdateV2(store.pendingDs).ds.clients]
      pendingDs = byClient(
        pending.flatMap(([c, list]) => list.map((r) => [c, r] as [number, { clock: number; len: number }])),
      )
    }
    if (covers(pendingDs, client, from, end)) continue
    throw new MalformedUpdateError(
      `malformed Yjs update: item ${client}:${from}+${end - from} would be a live map value spanning several clocks ` +
        '(Yjs writes map values of length 1; splitting a longer one corrupts the map)',
    )
  }
}

type Pending = { missing: Map<number, number>; update: Uint8Array }

/** Rounds of re-applying pending structs after progress before they are parked (each round integrates >= 1 struct). */
const MAX_APPLY_ROUNDS = 8

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

const mergePending = (parts: Pending[]): Pending | null => {
  if (parts.length <= 1) return parts[0] ?? null
  const missing = new Map<number, number>()
  for (const p of parts) {
    for (const [client, clock] of p.missing) missing.set(client, Math.min(clock, missing.get(client) ?? clock))
  }
  return { missing, update: Y.mergeUpdatesV2(parts.map((p) => p.update)) }
}

/** Whether parked structs, released together, stay within the limits (as one update, against `doc`). */
const pendingWithinLimits = (
  doc: Y.Doc,
  pending: Pending,
  limits: UpdateLimits | undefined,
  maxCost: number,
): boolean => {
  try {
    const inspection = inspect(Y.convertUpdateFormatV2ToV1(pending.update), limits)
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
): GuardedApplyResult => {
  const inspection = inspect(update, limits)
  const { info, limits: l, refs, groups } = inspection
  checkMapValues(doc, inspection)
  const docCost = estimateDocCost(doc, refs, groups, l.maxIntegrationCost - info.conflictCost)
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
    let sv = Y.encodeStateVector(doc)
    // trimming costs a re-encode; skip it when no struct starts below the document's state (the gossip case)
    const overlaps = info.ranges.some((r) => r.clock < Y.getState(store, r.client))
    Y.applyUpdate(doc, overlaps ? Y.diffUpdate(update, sv) : update, origin)
    for (let round = 1; ; round++) {
      const fresh: Pending | null = store.pendingStructs
      store.pendingStructs = null
      const hadStash = held !== null
      held = mergePending([held, fresh].filter((p): p is Pending => p !== null))
      const before = sv
      sv = Y.encodeStateVector(doc)
      // Only progress can make pending structs applicable; and without an earlier stash, Yjs already resolved every
      // dependency inside the update in round 1.
      if (held === null || sameBytes(before, sv) || (round === 1 && !hadStash) || round > MAX_APPLY_ROUNDS) break
      const retry: Pending = held
      held = null
      // Parked structs from many updates are released together: check them as one update, or drop them (a catch-up
      // fetches what is legitimate again, as offset-free diffs that pass the per-update checks).
      if (!pendingWithinLimits(doc, retry, limits, l.maxIntegrationCost)) {
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
