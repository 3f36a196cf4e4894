/**
 * The bounded parser of the Yjs **v1** update format: the primitives {@link inspect} reads an update with (strict
 * varints, bounded counts, strings, `any` values, content bodies), each checked against the bytes remaining and the
 * resolved limits, with a wall-clock budget. It never calls into Yjs and never allocates by a claimed count.
 *
 * @module
 */
import * as decoding from 'lib0/decoding'
import { ForbiddenContentError, MalformedUpdateError, UpdateTimeoutError, UpdateTooLargeError } from './errors.js'
import type { ContentCounts } from './inspect.js'
import type { ResolvedLimits } from './limits.js'
import { utf16Length } from './utf8.js'

export const UINT32_MAX = 0xffff_ffff
/** Check the clock every this many parse steps (power of two minus one, used as a mask). */
export const TIME_CHECK_MASK = 1023
/** Keys of a sub-document's options that Yjs reads; anything else could reach `new Y.Doc()` unchecked. */
export const SUBDOC_OPTION_KEYS = new Set(['gc', 'autoLoad', 'shouldLoad', 'meta', 'collectionid'])

// Struct info byte: the low 5 bits select the struct/content kind, the high bits flag optional fields.
export const BITS5 = 0x1f
export const BIT6_PARENT_SUB = 0x20
export const BIT7_RIGHT_ORIGIN = 0x40
export const BIT8_ORIGIN = 0x80
export const REF_GC = 0
export const REF_SKIP = 10
/** Content ref of `ContentDeleted`: such items integrate as deleted. */
export const REF_DELETED = 1

// `lib0/encoding` writeAny tags.
export const ANY_UNDEFINED = 127
export const ANY_NULL = 126
export const ANY_INTEGER = 125
export const ANY_FLOAT32 = 124
export const ANY_FLOAT64 = 123
export const ANY_BIGINT = 122
export const ANY_FALSE = 121
export const ANY_TRUE = 120
export const ANY_STRING = 119
export const ANY_OBJECT = 118
export const ANY_ARRAY = 117
export const ANY_BINARY = 116

/** Yjs type refs (`typeRefs` in ContentType.js): YArray..YXmlText. XmlElement (3) and XmlHook (5) carry a name. */
export const TYPE_REF_MAX = 6
export const TYPE_REF_XML_ELEMENT = 3
export const TYPE_REF_XML_HOOK = 5

export const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** `__proto__` in UTF-8: lib0's readAny would assign it with `obj[key] = value`, replacing the prototype. */
export const PROTO_KEY = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f]

const isProtoKey = (arr: Uint8Array, start: number, end: number): boolean => {
  // the key is preceded by its one-byte length (9)
  if (end - start !== PROTO_KEY.length + 1) return false
  for (let i = 0; i < PROTO_KEY.length; i++) if (arr[start + 1 + i] !== PROTO_KEY[i]) return false
  return true
}

/** Parser state for one inspection. */
export class Parser {
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
