/**
 * Checksums of stored blobs. SQLite checks the structure of its pages (`PRAGMA quick_check`) but not the bytes inside
 * a blob, so each stored blob carries a CRC-32 of its content, verified whenever it is read back. CRC-32 detects every
 * error burst of up to 32 bits and any odd number of flipped bits; it guards against storage damage, not tampering.
 *
 * @module
 */

import { crc32 } from 'node:zlib'

/**
 * `zlib.crc32(data, seed)`, correct for empty input too: Node returns 0 instead of `seed` for an empty buffer whose
 * memory pointer is null (as better-sqlite3 returns for an empty blob), following zlib's "null buffer" convention.
 */
function crc(data: Uint8Array | string, seed = 0): number {
  return data.length === 0 ? seed : crc32(data, seed)
}

/** CRC-32 (unsigned) of a stored update or snapshot. */
export function blobChecksum(data: Uint8Array): number {
  return crc(data)
}

/** CRC-32 (unsigned) of a metadata entry; covers the key as well, so a value read back under the wrong key fails. */
export function metaChecksum(key: string, value: Uint8Array): number {
  return crc(value, crc(key))
}
