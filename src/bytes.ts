/**
 * Byte-array helpers shared by the document, the Yjs guard and SWIM.
 *
 * @module
 */

/** Whether `a` and `b` hold the same bytes (both missing counts as the same). */
export function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === b) return true
  if (a === undefined || b === undefined || a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
