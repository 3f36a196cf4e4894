import { describe, expect, it } from 'vitest'
import { ConfmeshError, InvalidKeyError, InvalidOptionsError } from '../../src/errors.js'
import { InvalidMemberError, InvalidReplicasError, InvalidWeightError } from '../../src/ring/errors.js'
import { createHashRing, DEFAULT_VNODES, type HashRing, MAX_POINTS_PER_MEMBER } from '../../src/ring/hash-ring.js'
import type { Hasher } from '../../src/ring/hasher.js'

const SEED = process.env.SEED === undefined ? (Math.random() * 2 ** 32) >>> 0 : Number(process.env.SEED)
console.log(`ring.test.ts seed=${SEED} (reproduce with SEED=${SEED} npx vitest run test/unit/ring)`)

/** mulberry32 */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

function peerIds(random: () => number, n: number): string[] {
  const ids = new Set<string>()
  while (ids.size < n) {
    let id = '12D3KooW'
    for (let i = 0; i < 44; i++) id += BASE58[Math.floor(random() * BASE58.length)]
    ids.add(id)
  }
  return [...ids]
}

function shuffled<T>(random: () => number, xs: readonly T[]): T[] {
  const out = xs.slice()
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

function makeKeys(n: number, prefix = 'ns'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}/key-${i}`)
}

function owners(ring: HashRing, keys: readonly string[]): string[] {
  return keys.map((key) => ring.ownerOf(key)[0]!)
}

/** ceil() of a value computed in floating point, as exact arithmetic would give (values here are short decimals). */
function exactCeil(x: number): number {
  return Math.ceil(Number(x.toFixed(9)))
}

function counts(values: Iterable<string>): Map<string, number> {
  const out = new Map<string, number>()
  for (const v of values) out.set(v, (out.get(v) ?? 0) + 1)
  return out
}

describe('hash ring: membership', () => {
  it('is empty by default and answers empty', async () => {
    const ring = await createHashRing()
    expect(ring.size).toBe(0)
    expect(ring.members()).toEqual([])
    expect(ring.ownerOf('a')).toEqual([])
    expect(ring.ownerOf('a', 3)).toEqual([])
    expect(ring.primaryOf('a')).toBeUndefined()
    expect(ring.assign(['a', 'b']).size).toBe(0)
    expect(ring.vnodes).toBe(DEFAULT_VNODES)
    expect(ring.epsilon).toBeUndefined()
  })

  it('adds, updates, removes and reports members', async () => {
    const ring = await createHashRing()
    expect(ring.add('b')).toBe(true)
    expect(ring.add('a', 2)).toBe(true)
    expect(ring.add('c', 0.5)).toBe(true)
    expect(ring.members()).toEqual(['a', 'b', 'c'])
    expect(ring.size).toBe(3)
    expect(ring.has('a')).toBe(true)
    expect(ring.has('z')).toBe(false)
    expect(ring.weightOf('a')).toBe(2)
    expect(ring.weightOf('b')).toBe(1)
    expect(ring.weightOf('z')).toBeUndefined()

    const version = ring.version
    expect(ring.add('a', 2)).toBe(false)
    expect(ring.version).toBe(version)
    expect(ring.add('a', 3)).toBe(true)
    expect(ring.weightOf('a')).toBe(3)
    expect(ring.version).toBeGreaterThan(version)

    expect(ring.remove('b')).toBe(true)
    expect(ring.remove('b')).toBe(false)
    expect(ring.members()).toEqual(['a', 'c'])
    expect(ring.size).toBe(2)

    const copy = ring.members()
    copy.push('x')
    expect(ring.members()).toEqual(['a', 'c'])
  })

  it('setMembers mirrors a membership view atomically', async () => {
    const ring = await createHashRing({ members: ['a', 'b', ['c', 2]] })
    const version = ring.version
    expect(ring.setMembers(['a', 'b', ['c', 2]])).toBe(false)
    expect(ring.version).toBe(version)
    expect(ring.setMembers([['b', 3], 'd', 'a'])).toBe(true)
    expect(ring.members()).toEqual(['a', 'b', 'd'])
    expect(ring.weightOf('b')).toBe(3)
    const same = await createHashRing({ members: ['d', 'a', ['b', 3]] })
    for (const key of makeKeys(500)) expect(ring.ownerOf(key, 2)).toEqual(same.ownerOf(key, 2))
    // Invalid input changes nothing.
    expect(() => ring.setMembers(['x', ['y', -1]])).toThrow(InvalidWeightError)
    expect(() => ring.setMembers(['x', ''])).toThrow(InvalidMemberError)
    expect(ring.members()).toEqual(['a', 'b', 'd'])
  })

  it('accepts initial members as ids or [id, weight] pairs', async () => {
    const ring = await createHashRing({ members: ['x', ['y', 2]] })
    expect(ring.members()).toEqual(['x', 'y'])
    expect(ring.weightOf('y')).toBe(2)
  })

  it('rejects invalid ids, weights, replicas, keys and options with named errors', async () => {
    const ring = await createHashRing({ members: ['a'] })
    expect(() => ring.add('')).toThrow(InvalidMemberError)
    expect(() => ring.add(42 as unknown as string)).toThrow(InvalidMemberError)
    for (const weight of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '2' as unknown as number]) {
      expect(() => ring.add('b', weight)).toThrow(InvalidWeightError)
    }
    expect(() => ring.add('b', MAX_POINTS_PER_MEMBER)).toThrow(InvalidWeightError)
    expect(ring.has('b')).toBe(false)
    for (const replicas of [0, -1, 1.5, Number.NaN]) {
      expect(() => ring.ownerOf('k', replicas)).toThrow(InvalidReplicasError)
    }
    expect(() => ring.ownerOf(7 as unknown as string)).toThrow(InvalidKeyError)
    expect(() => ring.primaryOf(7 as unknown as string)).toThrow(InvalidKeyError)
    expect(() => ring.assign([7 as unknown as string])).toThrow(InvalidKeyError)
    await expect(createHashRing({ vnodes: 0 })).rejects.toThrow(InvalidOptionsError)
    await expect(createHashRing({ vnodes: 1.5 })).rejects.toThrow(InvalidOptionsError)
    await expect(createHashRing({ boundedLoad: { epsilon: 0 } })).rejects.toThrow(InvalidOptionsError)
    await expect(createHashRing({ boundedLoad: { epsilon: 1e-9 } })).rejects.toThrow(InvalidOptionsError)
    await expect(createHashRing({ boundedLoad: { epsilon: Number.NaN } })).rejects.toThrow(InvalidOptionsError)

    try {
      ring.add('')
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(ConfmeshError)
      expect((err as ConfmeshError).name).toBe('InvalidMemberError')
      expect((err as ConfmeshError).code).toBe('ERR_INVALID_MEMBER')
    }
  })
})

describe('hash ring: ownerOf', () => {
  it('returns distinct owners in preference order, all members when replicas exceed size', async () => {
    const random = rng(SEED)
    const ids = peerIds(random, 8)
    const ring = await createHashRing({ members: ids })
    for (const key of makeKeys(500)) {
      const three = ring.ownerOf(key, 3)
      expect(three).toHaveLength(3)
      expect(new Set(three).size).toBe(3)
      expect(three[0]).toBe(ring.primaryOf(key))
      expect(ring.ownerOf(key)).toEqual([three[0]])
      const all = ring.ownerOf(key, 100)
      expect(all.slice(0, 3)).toEqual(three)
      expect([...all].sort()).toEqual(ring.members())
    }
  })

  it('is independent of insertion order and of add/remove history', async () => {
    const random = rng(SEED + 1)
    const ids = peerIds(random, 30)
    const weights = new Map(ids.map((id, i) => [id, 1 + (i % 3)] as const))
    const keys = makeKeys(3000)

    const reference = await createHashRing({ members: ids.map((id) => [id, weights.get(id)!] as const) })
    const expected = keys.map((key) => reference.ownerOf(key, 3))

    for (let round = 0; round < 3; round++) {
      const ring = await createHashRing()
      const order = shuffled(random, ids)
      // Some history: members added with a wrong weight, removed, re-added, and a stranger that leaves.
      ring.add('stranger')
      for (const id of order) ring.add(id, 5)
      for (const id of order.slice(0, 10)) ring.remove(id)
      for (const id of shuffled(random, ids)) ring.add(id, weights.get(id)!)
      ring.remove('stranger')
      expect(keys.map((key) => ring.ownerOf(key, 3))).toEqual(expected)
    }
  })

  it('breaks ties between equal points by member id, whatever the insertion order', async () => {
    // Every member gets the same points (0, 1000, 2000, ...), so every point is a tie.
    const colliding: Hasher = {
      hash32: (input, seed) => (input.startsWith('key') ? Number(input.slice(3)) : seed * 1000),
    }
    const ids = ['delta', 'alpha', 'charlie', 'bravo']
    const random = rng(SEED + 2)
    for (let round = 0; round < 4; round++) {
      const ring = await createHashRing({ hasher: colliding, vnodes: 3, members: shuffled(random, ids) })
      expect(ring.ownerOf('key500', 4)).toEqual(['alpha', 'bravo', 'charlie', 'delta'])
      expect(ring.ownerOf('key999999', 2)).toEqual(['alpha', 'bravo']) // past the last point: wraps to the first
    }
  })

  it('gives each member a share of keys proportional to its weight', async () => {
    const random = rng(SEED + 3)
    const ids = peerIds(random, 30)
    const heavy = new Set(ids.slice(0, 10))
    const ring = await createHashRing({ members: ids.map((id) => [id, heavy.has(id) ? 2 : 1] as const) })
    const owned = counts(owners(ring, makeKeys(40_000)))
    let heavyKeys = 0
    let lightKeys = 0
    for (const [id, n] of owned) {
      if (heavy.has(id)) heavyKeys += n
      else lightKeys += n
    }
    // 10 members of weight 2 vs 20 of weight 1: equal total weight, so the per-member ratio should be ~2.
    const ratio = heavyKeys / 10 / (lightKeys / 20)
    expect(ratio).toBeGreaterThan(1.7)
    expect(ratio).toBeLessThan(2.3)
    for (const id of ids) expect(owned.get(id) ?? 0).toBeGreaterThan(0)
  })

  it('moves about 1/N of the keys on a join, all of them to the new member', async () => {
    const random = rng(SEED + 4)
    const ids = peerIds(random, 50)
    const keys = makeKeys(20_000)
    const ring = await createHashRing({ members: ids })
    const before = owners(ring, keys)
    const [joiner] = peerIds(random, 1)
    ring.add(joiner!)
    const after = owners(ring, keys)
    let moved = 0
    for (let k = 0; k < keys.length; k++) {
      if (before[k] === after[k]) continue
      moved++
      expect(after[k]).toBe(joiner)
    }
    const times = (moved / keys.length) * (ids.length + 1)
    expect(times).toBeGreaterThan(0.6)
    expect(times).toBeLessThan(1.5)
    // Leaving again restores the exact previous placement.
    ring.remove(joiner!)
    expect(owners(ring, keys)).toEqual(before)
  })

  it('moves exactly the keys of a leaving member and nothing else', async () => {
    const random = rng(SEED + 5)
    const ids = peerIds(random, 50)
    const keys = makeKeys(20_000)
    const ring = await createHashRing({ members: ids })
    const before = owners(ring, keys)
    const leaver = ids[Math.floor(random() * ids.length)]!
    ring.remove(leaver)
    const after = owners(ring, keys)
    let moved = 0
    for (let k = 0; k < keys.length; k++) {
      if (before[k] === leaver) {
        expect(after[k]).not.toBe(leaver)
        moved++
      } else {
        expect(after[k]).toBe(before[k])
      }
    }
    const times = (moved / keys.length) * ids.length
    expect(times).toBeGreaterThan(0.6)
    expect(times).toBeLessThan(1.5)
  })

  it('moves keys only to or from a member whose weight changes', async () => {
    const random = rng(SEED + 6)
    const ids = peerIds(random, 20)
    const keys = makeKeys(10_000)
    const ring = await createHashRing({ members: ids })
    const before = owners(ring, keys)
    const target = ids[0]!
    ring.add(target, 3)
    const grown = owners(ring, keys)
    for (let k = 0; k < keys.length; k++) if (grown[k] !== before[k]) expect(grown[k]).toBe(target)
    expect(counts(grown).get(target)!).toBeGreaterThan(counts(before).get(target)!)
    ring.add(target, 1)
    expect(owners(ring, keys)).toEqual(before)
  })
})

describe('hash ring: assign', () => {
  it('equals the primary owner without bounded loads', async () => {
    const random = rng(SEED + 7)
    const ring = await createHashRing({ members: peerIds(random, 20) })
    const keys = makeKeys(5000)
    const placed = ring.assign(keys)
    expect(placed.size).toBe(keys.length)
    for (const key of keys) expect(placed.get(key)).toBe(ring.primaryOf(key))
  })

  it('keeps every member at or below ceil((1 + epsilon) * mean)', async () => {
    const random = rng(SEED + 8)
    const ids = peerIds(random, 50)
    const keys = makeKeys(10_000)
    for (const epsilon of [0.01, 0.1, 0.5]) {
      const ring = await createHashRing({ members: ids, boundedLoad: { epsilon } })
      const placed = ring.assign(keys)
      expect(placed.size).toBe(keys.length)
      const cap = exactCeil((1 + epsilon) * (keys.length / ids.length))
      const load = counts(placed.values())
      for (const [id, n] of load) {
        expect(ring.has(id)).toBe(true)
        expect(n).toBeLessThanOrEqual(cap)
      }
    }
    // Without the bound the same members are visibly less balanced.
    const plain = await createHashRing({ members: ids })
    const plainMax = Math.max(...counts(plain.assign(keys).values()).values())
    expect(plainMax).toBeGreaterThan(exactCeil(1.01 * (keys.length / ids.length)))
  })

  it('computes capacities as exact arithmetic would, despite floating point', async () => {
    // (1.1 * 1400) / 7 is 220.00000000000003 in floating point; the cap must still be 220.
    const random = rng(SEED + 12)
    const ring = await createHashRing({ members: peerIds(random, 7), boundedLoad: { epsilon: 0.1 } })
    const load = counts(ring.assign(makeKeys(1400)).values())
    expect(Math.max(...load.values())).toBeLessThanOrEqual(220)
  })

  it('respects capacities proportional to weight', async () => {
    const random = rng(SEED + 9)
    const ids = peerIds(random, 12)
    const weight = (i: number): number => 1 + (i % 4)
    const ring = await createHashRing({
      members: ids.map((id, i) => [id, weight(i)] as const),
      boundedLoad: { epsilon: 0.05 },
    })
    const keys = makeKeys(6000)
    const total = ids.reduce((sum, _, i) => sum + weight(i), 0)
    const load = counts(ring.assign(keys).values())
    ids.forEach((id, i) => {
      expect(load.get(id) ?? 0).toBeLessThanOrEqual(exactCeil((1.05 * weight(i) * keys.length) / total))
    })
  })

  it('is deterministic across key order, duplicates and member insertion order', async () => {
    const random = rng(SEED + 10)
    const ids = peerIds(random, 25)
    const keys = makeKeys(4000)
    const a = await createHashRing({ members: ids, boundedLoad: { epsilon: 0.1 } })
    const b = await createHashRing({ members: shuffled(random, ids), boundedLoad: { epsilon: 0.1 } })
    const fromA = a.assign(keys)
    const fromB = b.assign([...shuffled(random, keys), ...keys.slice(0, 100)])
    expect(fromB.size).toBe(keys.length)
    for (const key of keys) expect(fromB.get(key)).toBe(fromA.get(key))
    expect([...fromB.keys()]).toEqual([...fromA.keys()]) // same placement order too
  })

  it('handles more members than keys and a single key', async () => {
    const random = rng(SEED + 11)
    const ring = await createHashRing({ members: peerIds(random, 40), boundedLoad: { epsilon: 0.1 } })
    const placed = ring.assign(makeKeys(10))
    expect(placed.size).toBe(10)
    for (const n of counts(placed.values()).values()) expect(n).toBeLessThanOrEqual(1)
    expect(ring.assign(['only']).get('only')).toBe(ring.primaryOf('only'))
    expect(ring.assign([]).size).toBe(0)
  })
})
