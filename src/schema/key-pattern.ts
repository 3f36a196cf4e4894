/**
 * Key patterns of schemas: an exact key, or a glob where `*` matches any run of characters (dots included) and `?`
 * exactly one. `limits.*` matches `limits.daily` and `limits.eu.daily`, not `limits`. No other character is special.
 *
 * @module
 */
import { assertValidKey } from '../config/key.js'

/** Whether `pattern` contains a glob character. */
export function isGlob(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?')
}

/** Throws `InvalidKeyError` unless `pattern` is a valid key (glob characters are key characters too). */
export function assertValidKeyPattern(pattern: unknown): asserts pattern is string {
  assertValidKey(pattern)
}

const cache = new Map<string, RegExp>()

/** Whether `key` matches `pattern`. */
export function keyMatches(pattern: string, key: string): boolean {
  if (!isGlob(pattern)) return pattern === key
  let re = cache.get(pattern)
  if (re === undefined) {
    const body = pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.+()|[\]{}]/g, '\\$&')))
      .join('')
    re = new RegExp(`^${body}$`, 's')
    if (cache.size > 10_000) cache.clear()
    cache.set(pattern, re)
  }
  return re.test(key)
}
