import { describe, expect, it } from 'vitest'
import { parseSample } from '../../src/membership/membership.js'
import { fastMessageId } from '../../src/transport/libp2p-node.js'

const id = (n: number) => `12D3KooWPeer${n}`
const addr = (n: number) => `/ip4/127.0.0.1/tcp/${4000 + n}/p2p/${id(n)}`

describe('heartbeat samples (peer exchange hints)', () => {
  it('keeps well-formed hints, at most 6, each address ending in its own peer id', () => {
    const sample = Array.from({ length: 10 }, (_, n) => ({ peerId: id(n), addresses: [addr(n)] }))
    const parsed = parseSample({ peerId: 'x', sample })
    expect(parsed).toHaveLength(6)
    expect(parsed[0]).toEqual({ peerId: id(0), addresses: [addr(0)] })
  })

  it('drops hostile or malformed hints instead of dialling them', () => {
    const parsed = parseSample({
      sample: [
        { peerId: id(1), addresses: [addr(2)] }, // address of another peer: not a hint for peer 1
        { peerId: id(3), addresses: 'not an array' },
        { peerId: 7, addresses: [addr(7)] },
        { peerId: 'p'.repeat(500), addresses: [] },
        { peerId: id(4), addresses: [`${'/x'.repeat(300)}/p2p/${id(4)}`] }, // too long
        { peerId: id(5), addresses: [addr(5), 42, addr(6)] },
        { peerId: id(8), addresses: [addr(8)] }, // beyond the first 6 entries: not read at all
      ],
    })
    expect(parsed).toEqual([{ peerId: id(5), addresses: [addr(5)] }])
    expect(parseSample({ sample: [null, 'junk', 3] })).toEqual([])
    expect(parseSample(null)).toEqual([])
    expect(parseSample({ sample: 'x' })).toEqual([])
  })
})

describe('gossip duplicate key (fastMsgIdFn)', () => {
  it('is author + sequence number; messages lacking either never share one', () => {
    const from = new Uint8Array([1, 2, 3])
    const a = fastMessageId({ from, seqno: new Uint8Array([0, 1]) })
    expect(fastMessageId({ from: new Uint8Array([1, 2, 3]), seqno: new Uint8Array([0, 1]) })).toBe(a)
    expect(fastMessageId({ from, seqno: new Uint8Array([0, 2]) })).not.toBe(a)
    expect(fastMessageId({ from: new Uint8Array([1, 2, 4]), seqno: new Uint8Array([0, 1]) })).not.toBe(a)
    expect(fastMessageId({ from })).not.toBe(fastMessageId({ from }))
  })
})
