import { describe, expect, it } from 'vitest'
import { InvalidMessageError } from '../../src/errors.js'
import { decodeMessage, encodeMessage, type Message } from '../../src/wire/codec.js'

describe('wire codec', () => {
  const samples: Message[] = [
    { kind: 'update', update: new Uint8Array([1, 2, 3]) },
    { kind: 'announce', stateVector: new Uint8Array([0]) },
    { kind: 'sync-request', stateVector: new Uint8Array([1, 5, 7]) },
    { kind: 'sync-chunk', chunk: new Uint8Array(1000).fill(9) },
    { kind: 'sync-end', totalBytes: 123_456_789, stateVector: new Uint8Array([2, 1, 1, 3, 4]) },
    { kind: 'member', body: { peerId: 'p', addresses: ['/ip4/127.0.0.1/tcp/1'], weight: 2 } },
    { kind: 'leave', body: { peerId: 'p' } },
  ]
  it.each(samples)('round-trips $kind', (msg) => {
    expect(decodeMessage(encodeMessage(msg))).toEqual(msg)
  })

  it('refuses short, unknown-version, unknown-kind and malformed messages with InvalidMessageError', () => {
    const bad = [
      new Uint8Array([]),
      new Uint8Array([1]),
      new Uint8Array([2, 1, 0]),
      new Uint8Array([1, 99, 0]),
      new Uint8Array([1, 1]),
      new Uint8Array([1, 5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      new Uint8Array([1, 6, 0x7b]),
      new Uint8Array([1, 6, 0xff, 0xfe]),
    ]
    for (const b of bad) {
      expect(() => decodeMessage(b)).toThrow(InvalidMessageError)
    }
  })
})
