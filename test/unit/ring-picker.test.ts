import { describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../../src/errors.js'
import { KeyRequiredError, NoLiveMembersError, UnknownStrategyError } from '../../src/ring/errors.js'
import { createHashRing } from '../../src/ring/hash-ring.js'
import { createPicker, PICK_STRATEGIES, type PickStrategy } from '../../src/ring/picker.js'

const SEED = process.env.SEED === undefined ? (Math.random() * 2 ** 32) >>> 0 : Number(process.env.SEED)
console.log(`ring-picker.test.ts seed=${SEED} (reproduce with SEED=${SEED} npx vitest run test/unit/ring)`)

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

const IDS = ['peer-a', 'peer-b', 'peer-c', 'peer-d', 'peer-e']

function tally(picks: readonly string[]): Map<string, number> {
  const out = new Map<string, number>()
  for (const id of picks) out.set(id, (out.get(id) ?? 0) + 1)
  return out
}

describe('picker', () => {
  it('round-robin visits every member once per cycle, in id order from a random start', async () => {
    const ring = await createHashRing({ members: [...IDS].reverse() })
    const picker = createPicker(ring, { random: rng(SEED) })
    const first = Array.from({ length: IDS.length }, () => picker.pick('round-robin'))
    expect([...first].sort()).toEqual(IDS)
    const start = IDS.indexOf(first[0]!)
    expect(first).toEqual([...IDS.slice(start), ...IDS.slice(0, start)])
    const second = Array.from({ length: IDS.length }, () => picker.pick('round-robin'))
    expect(second).toEqual(first)
  })

  it('round-robin continues through membership changes without restarting', async () => {
    const ring = await createHashRing({ members: ['a', 'c', 'e'] })
    const picker = createPicker(ring, { random: () => 0 })
    expect(picker.pick('round-robin')).toBe('a')
    ring.add('b')
    expect(picker.pick('round-robin')).toBe('b')
    ring.remove('c')
    expect(picker.pick('round-robin')).toBe('e')
    expect(picker.pick('round-robin')).toBe('a')
    expect(picker.pick('round-robin', { exclude: new Set(['b']) })).toBe('e')
  })

  it('weighted picks with frequencies proportional to weight', async () => {
    const weights = [1, 2, 3, 4]
    const ring = await createHashRing({ members: weights.map((w, i) => [`w${i}`, w] as const) })
    const picker = createPicker(ring, { random: rng(SEED + 1) })
    const n = 40_000
    const seen = tally(Array.from({ length: n }, () => picker.pick('weighted')))
    weights.forEach((w, i) => {
      const expected = (n * w) / 10
      const got = seen.get(`w${i}`) ?? 0
      expect(Math.abs(got - expected) / expected).toBeLessThan(0.08)
    })
  })

  it('random covers every member, roughly uniformly', async () => {
    const ring = await createHashRing({ members: IDS })
    const picker = createPicker(ring, { random: rng(SEED + 2) })
    const n = 5000
    const seen = tally(Array.from({ length: n }, () => picker.pick('random')))
    expect([...seen.keys()].sort()).toEqual(IDS)
    for (const count of seen.values()) expect(Math.abs(count - n / IDS.length)).toBeLessThan(n / IDS.length / 5)
  })

  it('random and weighted tolerate a generator returning 1', async () => {
    const ring = await createHashRing({ members: IDS })
    const picker = createPicker(ring, { random: () => 1 })
    expect(picker.pick('random')).toBe('peer-e')
    expect(picker.pick('weighted')).toBe('peer-e')
    expect(picker.pick('round-robin')).toBe('peer-e')
  })

  it('hash equals ownerOf(key)[0], and with exclude the next replica', async () => {
    const ring = await createHashRing({ members: IDS })
    const picker = createPicker(ring)
    for (let i = 0; i < 300; i++) {
      const key = `cfg/${i}`
      const walk = ring.ownerOf(key, IDS.length)
      expect(picker.pick('hash', { key })).toBe(walk[0])
      expect(picker.pick('hash', { key, exclude: new Set([walk[0]!]) })).toBe(walk[1])
      expect(picker.pick('hash', { key, exclude: new Set([walk[0]!, walk[1]!, 'not-a-member']) })).toBe(walk[2])
    }
  })

  it('never returns an excluded member', async () => {
    const ring = await createHashRing({ members: IDS.map((id, i) => [id, i + 1] as const) })
    const picker = createPicker(ring, { random: rng(SEED + 3) })
    const exclude = new Set(['peer-a', 'peer-c', 'peer-e'])
    for (const strategy of ['random', 'weighted', 'round-robin'] as const) {
      const seen = tally(Array.from({ length: 500 }, () => picker.pick(strategy, { exclude })))
      expect([...seen.keys()].sort()).toEqual(['peer-b', 'peer-d'])
    }
    // weighted with exclude still follows weights: peer-d (4) vs peer-b (2)
    const seen = tally(Array.from({ length: 6000 }, () => picker.pick('weighted', { exclude })))
    expect(seen.get('peer-d')! / seen.get('peer-b')!).toBeGreaterThan(1.7)
    expect(seen.get('peer-d')! / seen.get('peer-b')!).toBeLessThan(2.3)
  })

  it('throws named errors: no live member, missing key, unknown strategy, bad options', async () => {
    const empty = createPicker(await createHashRing())
    for (const strategy of PICK_STRATEGIES) {
      expect(() => empty.pick(strategy, { key: 'k' })).toThrow(NoLiveMembersError)
    }
    const ring = await createHashRing({ members: IDS })
    const picker = createPicker(ring)
    expect(() => picker.pick('hash')).toThrow(KeyRequiredError)
    expect(() => picker.pick('hash', {})).toThrow(KeyRequiredError)
    const all = new Set(IDS)
    for (const strategy of PICK_STRATEGIES) {
      expect(() => picker.pick(strategy, { key: 'k', exclude: all })).toThrow(NoLiveMembersError)
    }
    expect(() => picker.pick('sticky' as PickStrategy)).toThrow(UnknownStrategyError)
    expect(() => createPicker(ring, { random: 3 as unknown as () => number })).toThrow(InvalidOptionsError)
    try {
      picker.pick('hash')
    } catch (err) {
      expect((err as Error).name).toBe('KeyRequiredError')
      expect((err as { code: string }).code).toBe('ERR_KEY_REQUIRED')
    }
  })
})
