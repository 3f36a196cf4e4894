import { preSharedKey } from '@libp2p/pnet'
import { describe, expect, it } from 'vitest'
import { InvalidNetworkKeyError } from '../../src/security/errors.js'
import {
  generateNetworkKey,
  NETWORK_KEY_CODEC,
  NETWORK_KEY_HEADER,
  parseNetworkKey,
} from '../../src/security/network-key.js'

const HEX = 'a'.repeat(32) + '0123456789abcdef'.repeat(2)
const canonical = `${NETWORK_KEY_HEADER}\n${NETWORK_KEY_CODEC}\n${HEX}`

describe('network key', () => {
  it('generates swarm.key text that parses back to itself and that @libp2p/pnet accepts', () => {
    const key = generateNetworkKey()
    expect(key).toMatch(/^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}$/)
    const psk = parseNetworkKey(key)
    expect(new TextDecoder().decode(psk)).toBe(key)
    expect(() => preSharedKey({ psk })()).not.toThrow()
  })

  it('generates a different key each time', () => {
    const keys = new Set(Array.from({ length: 50 }, () => generateNetworkKey()))
    expect(keys.size).toBe(50)
  })

  it('accepts CRLF, trailing newlines, upper-case hex, bytes and a bare hex key, all to the same canonical bytes', () => {
    const expected = new TextEncoder().encode(canonical)
    for (const input of [
      canonical,
      `${canonical}\n`,
      canonical.replace(/\n/g, '\r\n') + '\r\n',
      canonical.toUpperCase().replace('/KEY/SWARM/PSK/1.0.0/', NETWORK_KEY_HEADER).replace('/BASE16/', '/base16/'),
      new TextEncoder().encode(`${canonical}\n`),
      HEX,
      ` ${HEX.toUpperCase()}\n`,
    ]) {
      expect(parseNetworkKey(input)).toEqual(expected)
    }
  })

  it.each([
    ['empty', ''],
    ['short hex', 'ab'.repeat(31)],
    ['long hex', 'ab'.repeat(33)],
    ['non-hex', 'g'.repeat(64)],
    ['wrong header', `/key/swarm/psk/2.0.0/\n/base16/\n${HEX}`],
    ['wrong codec', `${NETWORK_KEY_HEADER}\n/base64/\n${HEX}`],
    ['two lines', `${NETWORK_KEY_HEADER}\n${HEX}`],
    ['extra line', `${canonical}\nextra`],
    ['huge', 'a'.repeat(5000)],
  ])('rejects %s', (_name, input) => {
    expect(() => parseNetworkKey(input)).toThrow(InvalidNetworkKeyError)
  })

  it('rejects invalid UTF-8 and non-string input with the named error', () => {
    expect(() => parseNetworkKey(Uint8Array.of(0xff, 0xfe))).toThrow(InvalidNetworkKeyError)
    expect(() => parseNetworkKey(42 as unknown as string)).toThrow(InvalidNetworkKeyError)
    try {
      parseNetworkKey('nope')
    } catch (err) {
      expect((err as InvalidNetworkKeyError).code).toBe('ERR_INVALID_NETWORK_KEY')
      expect((err as InvalidNetworkKeyError).name).toBe('InvalidNetworkKeyError')
    }
  })
})
