/**
 * The mapping between etcd's bytes and confmesh's keys and values (the table in docs/etcd.md):
 * - an etcd key is a key of the served namespace: its bytes must be UTF-8 and a valid confmesh key (non-empty, at
 *   most 1024 characters, no control characters), else `INVALID_ARGUMENT`;
 * - a string value is served as its UTF-8 bytes, any other JSON value as its JSON text;
 * - a put stores the bytes as a string value; bytes that are not UTF-8 are refused with `INVALID_ARGUMENT`.
 *
 * @module
 */
import { assertValidKey } from '../config/key.js'
import type { JsonValue } from '../config/value.js'
import { etcdErrors, invalidArgument } from './errors.js'

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** UTF-8 text of `bytes`, or `undefined` when they are not UTF-8. */
export function utf8Text(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes)
  } catch {
    return undefined
  }
}

/** The confmesh key an etcd key names; throws `INVALID_ARGUMENT` (empty, not UTF-8, not a valid confmesh key). */
export function keyFromBytes(bytes: Uint8Array | undefined): string {
  if (bytes === undefined || bytes.length === 0) throw etcdErrors.emptyKey()
  const key = utf8Text(bytes)
  if (key === undefined) throw invalidArgument('key is not UTF-8 (confmesh keys are text)')
  try {
    assertValidKey(key)
  } catch (err) {
    throw invalidArgument((err as Error).message, err)
  }
  return key
}

/** The bytes etcd clients see for a confmesh value: a string's UTF-8, anything else its JSON text. */
export function valueToBytes(value: JsonValue): Buffer {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8')
}

/** The string a put stores; throws `INVALID_ARGUMENT` when the bytes are not UTF-8. */
export function valueFromBytes(bytes: Uint8Array | undefined): string {
  const text = utf8Text(bytes ?? new Uint8Array())
  if (text === undefined) throw invalidArgument('value is not UTF-8 (confmesh stores etcd values as strings)')
  return text
}

/** A key range as etcd defines it: `[key, rangeEnd)`, one key without `rangeEnd`, everything from `key` with `\0`. */
export interface KeyRange {
  readonly start: Buffer
  /** Exclusive end; `undefined`: only `start`; `null`: no upper bound. */
  readonly end: Buffer | undefined | null
}

/** Builds a {@link KeyRange} from a request's `key` and `range_end` (throws on an empty key). */
export function keyRange(key: Uint8Array | undefined, rangeEnd: Uint8Array | undefined): KeyRange {
  const start = Buffer.from(key ?? new Uint8Array())
  const endBytes = Buffer.from(rangeEnd ?? new Uint8Array())
  if (endBytes.length === 0) {
    if (start.length === 0) throw etcdErrors.emptyKey()
    return { start, end: undefined }
  }
  if (endBytes.length === 1 && endBytes[0] === 0) return { start, end: null }
  return { start, end: endBytes }
}

/** Whether `key` (UTF-8 bytes) lies in `range`, comparing bytes like etcd. */
export function inRange(range: KeyRange, key: Buffer): boolean {
  if (range.end === undefined) return range.start.equals(key)
  if (Buffer.compare(key, range.start) < 0) return false
  return range.end === null || Buffer.compare(key, range.end) < 0
}
