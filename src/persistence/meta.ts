/**
 * The metadata a mesh keeps in its store (`Storage.getMeta`/`setMeta`), and the byte encodings of each value.
 * Every value is small and written rarely (at start, at stop, when the set of known peers changes).
 *
 * | key              | value                                                                 |
 * | ---------------- | --------------------------------------------------------------------- |
 * | `mesh.name`      | UTF-8 mesh name: a data directory serves one mesh                     |
 * | `peer.identity`  | the libp2p private key (protobuf, `identityToBytes`): same peer id    |
 * | `writer.epoch`   | uint32 big-endian: Yjs client id = `clientIdFor(peerId, epoch)`       |
 * | `peer.addresses` | JSON address book of peers met (see `address-book.ts`)                 |
 * | `run.clean`      | 1 byte: 1 after a clean `stop()`, 0 while running (0 at start = crash) |
 *
 * @module
 */
import { StorageCorruptError } from '../storage/errors.js'

/** Metadata keys used by the mesh. */
export const META = {
  meshName: 'mesh.name',
  identity: 'peer.identity',
  epoch: 'writer.epoch',
  addresses: 'peer.addresses',
  clean: 'run.clean',
} as const

/** Encodes a uint32 (big-endian, 4 bytes). */
export function encodeUint32(value: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, value >>> 0)
  return out
}

/** Decodes {@link encodeUint32} output; throws `StorageCorruptError` naming `key` on any other length. */
export function decodeUint32(bytes: Uint8Array, key: string): number {
  if (bytes.byteLength !== 4) {
    throw new StorageCorruptError(`metadata "${key}" should be 4 bytes, found ${bytes.byteLength}`)
  }
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0)
}

/** Encodes a UTF-8 string. */
export function encodeText(text: string): Uint8Array {
  return new TextEncoder().encode(text)
}

/** Decodes UTF-8 strictly; throws `StorageCorruptError` naming `key` on invalid bytes. */
export function decodeText(bytes: Uint8Array, key: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch (err) {
    throw new StorageCorruptError(`metadata "${key}" is not valid UTF-8`, { cause: err })
  }
}

/** Encodes a boolean flag as one byte. */
export function encodeFlag(value: boolean): Uint8Array {
  return Uint8Array.of(value ? 1 : 0)
}

/** Decodes {@link encodeFlag} output (any non-zero single byte is true); throws `StorageCorruptError` otherwise. */
export function decodeFlag(bytes: Uint8Array, key: string): boolean {
  if (bytes.byteLength !== 1) {
    throw new StorageCorruptError(`metadata "${key}" should be 1 byte, found ${bytes.byteLength}`)
  }
  return bytes[0] !== 0
}
