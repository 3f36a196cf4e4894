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

/** Whether `s` contains a C0/C1 control character or a lone UTF-16 surrogate (not representable in UTF-8). */
function hasForbiddenChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1)
      if (!(next >= 0xdc00 && next <= 0xdfff)) return true
      i++
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return true
    }
  }
  return false
}

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
  if (hasForbiddenChar(key)) throw new InvalidKeyError(`key ${JSON.stringify(key)} contains a control character`)
}

/** Throws {@link InvalidNamespaceError} unless `name` is a valid namespace name (same rules as keys, shorter). */
export function assertValidNamespace(name: unknown): asserts name is string {
  if (typeof name !== 'string') throw new InvalidNamespaceError(`namespace must be a string, got ${typeof name}`)
  if (name.length === 0) throw new InvalidNamespaceError('namespace must not be empty')
  if (name.length > MAX_NAMESPACE_LENGTH) {
    throw new InvalidNamespaceError(`namespace is ${name.length} characters long, the limit is ${MAX_NAMESPACE_LENGTH}`)
  }
  if (hasForbiddenChar(name))
    throw new InvalidNamespaceError(`namespace ${JSON.stringify(name)} contains a control character`)
}
