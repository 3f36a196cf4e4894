/**
 * Validation of keys and namespace names.
 *
 * @module
 */
import { InvalidKeyError, InvalidNamespaceError } from '../errors.js'

/** Longest key accepted, in UTF-16 code units. */
export const MAX_KEY_LENGTH = 1024
/** Longest namespace name accepted, in UTF-16 code units. */
export const MAX_NAMESPACE_LENGTH = 256

// C0 and C1 control characters, and lone surrogates (not representable in UTF-8).
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/**
 * Throws {@link InvalidKeyError} unless `key` is a non-empty string of at most {@link MAX_KEY_LENGTH} characters
 * without control characters or lone surrogates.
 */
export function assertValidKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new InvalidKeyError(`key must be a string, got ${typeof key}`)
  if (key.length === 0) throw new InvalidKeyError('key must not be empty')
  if (key.length > MAX_KEY_LENGTH) {
    throw new InvalidKeyError(`key is ${key.length} characters long, the limit is ${MAX_KEY_LENGTH}`)
  }
  if (FORBIDDEN.test(key)) throw new InvalidKeyError(`key ${JSON.stringify(key)} contains a control character`)
}

/** Throws {@link InvalidNamespaceError} unless `name` is a valid namespace name (same rules as keys, shorter). */
export function assertValidNamespace(name: unknown): asserts name is string {
  if (typeof name !== 'string') throw new InvalidNamespaceError(`namespace must be a string, got ${typeof name}`)
  if (name.length === 0) throw new InvalidNamespaceError('namespace must not be empty')
  if (name.length > MAX_NAMESPACE_LENGTH) {
    throw new InvalidNamespaceError(`namespace is ${name.length} characters long, the limit is ${MAX_NAMESPACE_LENGTH}`)
  }
  if (FORBIDDEN.test(name)) throw new InvalidNamespaceError(`namespace ${JSON.stringify(name)} contains a control character`)
}
