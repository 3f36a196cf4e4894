/**
 * Private-network keys: the pre-shared key of a libp2p private network (`@libp2p/pnet`), in the go-ipfs/kubo
 * `swarm.key` v1 format. Only nodes holding the same key can complete a connection; everything else on the wire is
 * XSalsa20-encrypted under it.
 *
 * ```
 * /key/swarm/psk/1.0.0/
 * /base16/
 * <64 lowercase hex characters = 32 random bytes>
 * ```
 *
 * `generateNetworkKey()` returns that text (store it in a file or secret store); `parseNetworkKey()` validates any
 * accepted form strictly and returns the canonical bytes that `preSharedKey({ psk })` takes.
 *
 * @module
 */
import { generateKey } from '@libp2p/pnet'
import { InvalidNetworkKeyError } from './errors.js'

/** First line of a v1 swarm key. */
export const NETWORK_KEY_HEADER = '/key/swarm/psk/1.0.0/'
/** Second line of a v1 swarm key: the encoding of the third line (pnet only supports base16). */
export const NETWORK_KEY_CODEC = '/base16/'
/** Key length in bytes (XSalsa20 key). */
export const NETWORK_KEY_BYTES = 32
/** Length of a canonical swarm key file without trailing newline: header + codec + 64 hex + two newlines. */
const CANONICAL_LENGTH = NETWORK_KEY_HEADER.length + NETWORK_KEY_CODEC.length + 2 * NETWORK_KEY_BYTES + 2
/** Refuse anything longer outright, before splitting lines. */
const MAX_INPUT_LENGTH = 1024

const HEX_KEY = /^[0-9a-fA-F]{64}$/
const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Generate a fresh random private-network key (32 bytes from the platform CSPRNG, via `@libp2p/pnet`).
 *
 * @returns The key as `swarm.key` text (three lines, no trailing newline).
 */
export const generateNetworkKey = (): string => {
  const bytes = new Uint8Array(CANONICAL_LENGTH)
  generateKey(bytes)
  return new TextDecoder().decode(bytes)
}

/**
 * Validate a private-network key and return the canonical `swarm.key` bytes for `preSharedKey({ psk })`.
 *
 * Accepted: the three-line swarm key text (LF or CRLF line ends, trailing whitespace/newlines allowed, hex in any
 * case), the same as UTF-8 bytes, or just the 64 hex characters.
 *
 * @param input - Swarm key text or bytes, or a bare 64-character hex key.
 * @returns `"/key/swarm/psk/1.0.0/\n/base16/\n" + lowercase hex`, UTF-8 encoded.
 * @throws {@link InvalidNetworkKeyError} for anything else (wrong header or codec, wrong length, non-hex, extra lines).
 */
export const parseNetworkKey = (input: string | Uint8Array): Uint8Array => {
  let text: string
  if (typeof input === 'string') {
    text = input
  } else if (input instanceof Uint8Array) {
    if (input.byteLength > MAX_INPUT_LENGTH) throw new InvalidNetworkKeyError('network key is too long')
    try {
      text = utf8.decode(input)
    } catch {
      throw new InvalidNetworkKeyError('network key is not valid UTF-8')
    }
  } else {
    throw new InvalidNetworkKeyError('network key must be a string or a Uint8Array')
  }
  if (text.length > MAX_INPUT_LENGTH) throw new InvalidNetworkKeyError('network key is too long')
  const lines = text.trimEnd().split(/\r?\n/)
  let hex: string
  if (lines.length === 1) {
    hex = lines[0]!.trim()
  } else if (lines.length === 3) {
    if (lines[0] !== NETWORK_KEY_HEADER) {
      throw new InvalidNetworkKeyError(`network key must start with "${NETWORK_KEY_HEADER}"`)
    }
    if (lines[1] !== NETWORK_KEY_CODEC) {
      throw new InvalidNetworkKeyError(`network key encoding must be "${NETWORK_KEY_CODEC}"`)
    }
    hex = lines[2]!
  } else {
    throw new InvalidNetworkKeyError(`network key must have 3 lines (header, codec, key), found ${lines.length}`)
  }
  if (!HEX_KEY.test(hex)) {
    throw new InvalidNetworkKeyError(`network key must be ${2 * NETWORK_KEY_BYTES} hex characters`)
  }
  return new TextEncoder().encode(`${NETWORK_KEY_HEADER}\n${NETWORK_KEY_CODEC}\n${hex.toLowerCase()}`)
}
