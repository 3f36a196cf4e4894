/**
 * JSON values: the type, validation, deep equality and freezing.
 *
 * @module
 */
import type { JsonValue } from '../doc/json.js'
import { DEFAULT_MAX_VALUE_BYTES as MAX_VALUE_BYTES } from '../doc/limits.js'
import { InvalidValueError } from '../errors.js'

export type { JsonValue } from '../doc/json.js'

/** Limits applied by {@link assertJsonValue}. */
export interface ValueLimits {
  /** Largest value accepted, measured as its JSON text in UTF-16 code units. Default {@link DEFAULT_MAX_VALUE_BYTES}. */
  maxBytes?: number
  /** Deepest nesting of arrays/objects accepted. Default {@link DEFAULT_MAX_VALUE_DEPTH}. */
  maxDepth?: number
}

/** Default largest value (the table of `doc/limits.ts`): 16 MiB of JSON text. */
export const DEFAULT_MAX_VALUE_BYTES = MAX_VALUE_BYTES
/** Default deepest nesting. */
export const DEFAULT_MAX_VALUE_DEPTH = 64

/**
 * Throws {@link InvalidValueError} unless `value` is a JSON value: `null`, a boolean, a finite number, a string, an
 * array or a plain object of JSON values. Refuses `undefined` (anywhere, also as an object property), functions,
 * symbols, `bigint`, `NaN`/`Infinity`, cycles, class instances (Date, Map, ...), sparse arrays, and values over the limits.
 */
export function assertJsonValue(value: unknown, limits: ValueLimits = {}): asserts value is JsonValue {
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_VALUE_DEPTH
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_VALUE_BYTES
  const seen = new Set<object>()
  let size = 0
  const visit = (v: unknown, path: string, depth: number): void => {
    switch (typeof v) {
      case 'string':
        size += v.length + 2
        break
      case 'boolean':
        size += 5
        break
      case 'number':
        if (!Number.isFinite(v)) throw new InvalidValueError(`${path} is ${v}, which JSON cannot represent`)
        size += 8
        break
      case 'object': {
        if (v === null) {
          size += 4
          break
        }
        if (depth >= maxDepth) throw new InvalidValueError(`${path} is nested deeper than ${maxDepth} levels`)
        if (seen.has(v)) throw new InvalidValueError(`${path} contains a cycle`)
        seen.add(v)
        if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) {
            if (!(i in v)) throw new InvalidValueError(`${path}[${i}] is a hole in a sparse array`)
            visit(v[i], `${path}[${i}]`, depth + 1)
            size += 1
          }
        } else {
          const proto = Object.getPrototypeOf(v)
          if (proto !== Object.prototype && proto !== null) {
            throw new InvalidValueError(
              `${path} is a ${proto?.constructor?.name ?? 'non-plain'} object, not plain JSON`,
            )
          }
          if (Object.getOwnPropertySymbols(v).length > 0) throw new InvalidValueError(`${path} has symbol keys`)
          for (const [k, child] of Object.entries(v)) {
            size += k.length + 4
            visit(child, `${path}.${k}`, depth + 1)
          }
        }
        seen.delete(v)
        break
      }
      default:
        throw new InvalidValueError(`${path} is ${typeof v === 'undefined' ? 'undefined' : `a ${typeof v}`}, not JSON`)
    }
    if (size > maxBytes) throw new InvalidValueError(`value is larger than the limit of ${maxBytes} bytes`)
  }
  visit(value, 'value', 0)
}

/** Structural equality of two JSON values (object key order does not matter). */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true
  if (a === null || b === null || a === undefined || b === undefined) return false
  if (typeof a !== 'object' || typeof b !== 'object') return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b)) return false
  const ka = Object.keys(a)
  if (ka.length !== Object.keys(b).length) return false
  for (const k of ka) {
    if (!Object.hasOwn(b, k) || !jsonEqual(a[k], b[k])) return false
  }
  return true
}

/** Deep-freezes a JSON value in place and returns it, so values handed to callers cannot corrupt the replica. */
export function deepFreeze<T extends JsonValue | undefined>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
