/**
 * Allocation-free UTF-8 validation for the update guard. Long runs (values) are checked natively (`isAscii`,
 * `isUtf8` of `node:buffer`, Node >= 18.15); short ones (keys, field names) in JS, where a native call costs more than
 * the check.
 *
 * @module
 */
import { isAscii, isUtf8 } from 'node:buffer'

/** Runs at least this long are checked natively. */
const NATIVE_FROM = 48

/**
 * Validate UTF-8 exactly as a fatal `TextDecoder` does (no overlongs, no surrogates, nothing above U+10FFFF) and
 * return the length of the decoded string `b[start..end)` in UTF-16 code units, or -1 if invalid. Allocation-free: decoding every
 * short key with `TextDecoder` costs more than the rest of the parse.
 */
export const utf16Length = (b: Uint8Array, start = 0, end = b.length): number => {
  if (end - start >= NATIVE_FROM) {
    const run = b.subarray(start, end)
    if (isAscii(run)) return end - start
    if (!isUtf8(run)) return -1
    // valid: every byte but continuation bytes starts a code point; 4-byte ones take two UTF-16 units
    let units = 0
    for (let i = start; i < end; i++) {
      const c = b[i]!
      if (c < 0x80 || c >= 0xc0) units += c >= 0xf0 ? 2 : 1
    }
    return units
  }
  let units = 0
  let i = start
  const n = end
  while (i < n) {
    const c = b[i]!
    if (c < 0x80) {
      i++
      units++
      continue
    }
    let need: number
    let lo = 0x80
    let hi = 0xbf
    if (c >= 0xc2 && c <= 0xdf) need = 1
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2
      if (c === 0xe0) lo = 0xa0
      else if (c === 0xed) hi = 0x9f
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3
      if (c === 0xf0) lo = 0x90
      else if (c === 0xf4) hi = 0x8f
    } else return -1
    if (i + need >= n) return -1
    const c1 = b[i + 1]!
    if (c1 < lo || c1 > hi) return -1
    for (let k = 2; k <= need; k++) {
      const ck = b[i + k]!
      if (ck < 0x80 || ck > 0xbf) return -1
    }
    i += need + 1
    units += need === 3 ? 2 : 1
  }
  return units
}
