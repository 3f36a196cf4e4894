import { describe, expect, it } from 'vitest'
import { DEFAULT_MAX_KNOWN_PEERS, KnownPeers } from '../../src/ring/known-peers.js'

const id = (n: number) => `12D3KooWPeer${n}`
const addr = (n: number, port = 4000 + n) => `/ip4/127.0.0.1/tcp/${port}/p2p/${id(n)}`

describe('known peers (membership re-dial list)', () => {
  it('stays bounded under churn, forgetting the peer heard from longest ago first', () => {
    const known = new KnownPeers(3)
    known.see(id(1), [addr(1)])
    known.see(id(2), [addr(2)])
    known.see(id(3), [addr(3)])
    known.see(id(1), [addr(1, 5001)]) // heard again, at a new address: now the most recent
    known.see(id(4), [addr(4)]) // full: 2 goes (heard from longest ago), not 1
    expect(known.size).toBe(3)
    expect(known.has(id(2))).toBe(false)
    expect(known.addresses()).toEqual([addr(3), addr(1, 5001), addr(4)])
    // 10,000 peer ids coming and going (restarts without a data dir) keep it at the cap
    for (let n = 10; n < 10_010; n++) known.see(id(n), [addr(n)])
    expect(known.size).toBe(3)
    expect(known.addresses()).toEqual([addr(10_007), addr(10_008), addr(10_009)])
  })

  it('defaults to 1024 peers and refuses a nonsense cap', () => {
    const known = new KnownPeers()
    for (let n = 0; n < 2_000; n++) known.see(id(n), [addr(n)])
    expect(known.size).toBe(DEFAULT_MAX_KNOWN_PEERS)
    expect(() => new KnownPeers(0)).toThrow(RangeError)
    expect(() => new KnownPeers(1.5)).toThrow(RangeError)
  })
})
