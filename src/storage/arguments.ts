/**
 * Argument checks shared by the storage engines, so every engine refuses the same inputs the same way.
 *
 * @module
 */

import { InvalidKeyError } from '../errors.js'

/** Longest metadata key, in UTF-16 code units. */
export const MAX_META_KEY_LENGTH = 256

/** Throws a `TypeError` unless `value` is a `Uint8Array` (a `Buffer` is one). */
export function assertBytes(value: unknown, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`${name} must be a Uint8Array, got ${value === null ? 'null' : typeof value}`)
  }
}

/** Throws {@link InvalidKeyError} unless `key` is a string of 1 to {@link MAX_META_KEY_LENGTH} characters. */
export function assertMetaKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_META_KEY_LENGTH) {
    throw new InvalidKeyError(`metadata key must be a string of 1 to ${MAX_META_KEY_LENGTH} characters`)
  }
}

/** Copies `bytes` into a new plain `Uint8Array` (not a `Buffer`), detached from the caller's memory. */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes)
}
