import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { clientIdFor, isClientIdFor, MAX_EPOCH, newEpoch } from '../../src/security/client-id.js'
import { InvalidClientIdInputError } from '../../src/security/errors.js'

const PEER = '12D3KooWGC6TvWhfapngX6wvJHMYvKpDMXPb3ZnCZ6dMoaMtimQ5'

describe('client id binding', () => {
  it('is the first 4 bytes of sha256("<peerId>/<epoch>") as a big-endian uint32', () => {
    for (const epoch of [0, 1, 7, 123456, MAX_EPOCH]) {
      const expected = createHash('sha256').update(`${PEER}/${epoch}`).digest().readUInt32BE(0)
      expect(clientIdFor(PEER, epoch)).toBe(expected || 1)
    }
  })

  it('is deterministic, a non-zero uint32, and differs across epochs and peers', () => {
    const ids = new Set<number>()
    for (let e = 0; e < 5000; e++) {
      const id = clientIdFor(PEER, e)
      expect(id).toBe(clientIdFor(PEER, e))
      expect(Number.isInteger(id) && id >= 1 && id <= 0xffffffff).toBe(true)
      ids.add(id)
      ids.add(clientIdFor(`${PEER}x`, e))
    }
    // 10,000 ids in a 2^32 space: collisions are possible but must be rare
    expect(ids.size).toBeGreaterThan(9990)
  })

  it('verifies ownership with isClientIdFor', () => {
    const id = clientIdFor(PEER, 42)
    expect(isClientIdFor(id, PEER, 42)).toBe(true)
    expect(isClientIdFor(id, PEER, 43)).toBe(false)
    expect(isClientIdFor(id, '', 42)).toBe(false)
  })

  it('validates peer id and epoch', () => {
    for (const [peer, epoch] of [
      ['', 1],
      [PEER, -1],
      [PEER, 1.5],
      [PEER, MAX_EPOCH + 1],
      [PEER, Number.NaN],
      [42, 1],
    ] as [string, number][]) {
      expect(() => clientIdFor(peer, epoch)).toThrow(InvalidClientIdInputError)
    }
  })

  it('draws random uint32 epochs', () => {
    const epochs = new Set(Array.from({ length: 100 }, () => newEpoch()))
    expect(epochs.size).toBeGreaterThan(95)
    for (const e of epochs) expect(Number.isInteger(e) && e >= 0 && e <= MAX_EPOCH).toBe(true)
  })
})
