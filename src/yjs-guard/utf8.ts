/**
 * Allocation-free UTF-8 validation for the update guard.
 *
 * @module
 */

/**
 * Validate UTF-8 exactly as a fatal `TextDecoder` does (no overlongs, no surrogates, nothing above U+10FFFF) and
 * return the length of the decoded string `b[start..end)` in UTF-16 code units, or -1 if invalid. Allocation-free: decoding every
 * short key with `TextDecoder` costs more than the rest of the parse.
 */
export const utf16Length = (b: Uint8Array, start = 0, end = b.length): number => {
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
