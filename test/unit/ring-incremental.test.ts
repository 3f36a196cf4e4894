/**
 * Property test of the incremental ring: after any seeded sequence of adds, removes, weight changes and batches
 * (`setMembers`), with lookups in between (so changes are merged into the point arrays one by one) or not (so they
 * pile up and trigger a full re-sort), the ring answers exactly as a ring built from scratch with the same members.
 */
import { describe, expect, it } from 'vitest'
import { createHashRing, type HashRing } from '../../src/ring/hash-ring.js'
import type { Hasher } from '../../src/ring/hasher.js'
import { createSeededRandom, seedFromEnv } from '../../src/transport/seeded-random.js'

const SEED = seedFromEnv()
console.log(
  `ring-incremental.test.ts seed=${SEED} (replay with CONFMESH_SEED=${SEED} npx vitest run test/unit/ring-incremental)`,
)

const KEYS = Array.from({ length: 400 }, (_, i) => `app/${i % 7}/key-${i}`)
const WEIGHTS = [0.5, 1, 1, 1, 2, 3]

/** Everything observable about a ring's placement. */
function snapshot(ring: HashRing): unknown {
  return {
    members: ring.members(),
    weights: ring.members().map((id) => ring.weightOf(id)),
    owners: KEYS.map((key) => ring.ownerOf(key, 3)),
    primaries: KEYS.map((key) => ring.primaryOf(key)),
    all: ring.ownerOf('walk-everything', ring.size + 1),
    assigned: [...ring.assign(KEYS)],
    shares: [...ring.arcShares()],
  }
}

async function rebuilt(ring: HashRing, hasher: Hasher | undefined): Promise<HashRing> {
  return createHashRing({
    vnodes: ring.vnodes,
    ...(ring.epsilon === undefined ? {} : { boundedLoad: { epsilon: ring.epsilon } }),
    ...(hasher === undefined ? {} : { hasher }),
    members: ring.members().map((id) => [id, ring.weightOf(id)!] as const),
  })
}

/** Runs `steps` random changes on one ring, comparing with a fresh ring after each (or after each batch). */
async function property(seed: number, options: { hasher?: Hasher; vnodes: number; lookupEvery: number }) {
  const random = createSeededRandom(seed).next
  const pool = Array.from({ length: 40 }, (_, i) => `peer-${(i * 7919) % 1000}-${seed % 97}`)
  const pick = (): string => pool[Math.floor(random() * pool.length)]!
  const ring = await createHashRing({
    vnodes: options.vnodes,
    boundedLoad: { epsilon: 0.25 },
    ...(options.hasher === undefined ? {} : { hasher: options.hasher }),
    members: pool.slice(0, 10),
  })
  for (let step = 1; step <= 80; step++) {
    const roll = random()
    if (roll < 0.35) ring.add(pick(), WEIGHTS[Math.floor(random() * WEIGHTS.length)]!)
    else if (roll < 0.7) ring.remove(pick())
    else if (roll < 0.9) {
      const id = ring.members()[Math.floor(random() * ring.size)]
      if (id !== undefined) ring.add(id, WEIGHTS[Math.floor(random() * WEIGHTS.length)]!)
    } else {
      // A batch: keep most members, drop some, add some.
      const next = ring.members().filter(() => random() < 0.8)
      for (let k = 0; k < 5; k++) next.push(pick())
      ring.setMembers(next)
    }
    if (step % options.lookupEvery === 0) {
      expect(snapshot(ring), `seed ${seed} step ${step}`).toEqual(snapshot(await rebuilt(ring, options.hasher)))
    }
  }
}

describe('hash ring: incremental updates equal a full rebuild', () => {
  it('after every single change (incremental merges)', async () => {
    for (let run = 0; run < 6; run++) await property(SEED + run, { vnodes: 20, lookupEvery: 1 })
  })

  it('after batches of changes (full re-sorts and merges mixed)', async () => {
    for (let run = 0; run < 6; run++) await property(SEED + 100 + run, { vnodes: 30, lookupEvery: 7 })
  })

  it('with colliding points (ties broken by member id in the merge too)', async () => {
    // Points collide a lot: every member's i-th point is one of 16 positions.
    const colliding: Hasher = {
      hash32: (input, seed) => (input.startsWith('peer-') ? ((seed * 2654435761) >>> 0) % 16 : input.length * 1000),
    }
    for (let run = 0; run < 4; run++) {
      await property(SEED + 200 + run, { hasher: colliding, vnodes: 4, lookupEvery: 1 })
    }
  })

  it('keeps slots of unchanged members and answers an empty ring after removing everyone', async () => {
    const ring = await createHashRing({ vnodes: 10, members: ['a', 'b', 'c'] })
    expect(ring.ownerOf('k', 3)).toHaveLength(3)
    ring.remove('a')
    ring.remove('b')
    ring.remove('c')
    expect(ring.ownerOf('k', 3)).toEqual([])
    expect(ring.primaryOf('k')).toBeUndefined()
    ring.add('d')
    expect(ring.ownerOf('k', 3)).toEqual(['d'])
  })
})
