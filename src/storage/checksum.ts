/**
 * Checksums of stored blobs. SQLite checks the structure of its pages (`PRAGMA quick_check`) but not the bytes inside
 * a blob, so each stored blob carries a CRC-32 of its content, verified whenever it is read back. CRC-32 detects every
 * error burst of up to 32 bits and any odd number of flipped bits; it guards against storage damage, not tampering.
 *
 * @module
 */

import { crc32 } from 'node:zlib'

/** CRC-32 (unsigned) of a stored update or snapshot. */
export function blobChecksum(data: Uint8Array): number {
  return crc32(data)
}

/** CRC-32 (unsigned) of a metadata entry; covers the key as well, so a value read back under the wrong key fails. */
export function metaChecksum(key: string, value: Uint8Array): number {
  return crc32(value, crc32(key))
}
