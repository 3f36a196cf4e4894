import { TypedEventEmitter } from 'main-event'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { InvalidOptionsError } from '../../src/errors.js'
import type { KnownPeer } from '../../src/membership/known-peers.js'
import type { Member, Membership, MembershipEvents } from '../../src/membership/membership.js'
import { NoLiveMembersError } from '../../src/ring/errors.js'
import { createMeshRing } from '../../src/ring/mesh-ring.js'
import { MAX_MEMBER_WEIGHT, MIN_MEMBER_WEIGHT } from '../../src/ring/weight.js'
import { createJoinSync, PROBE_PARTS } from '../../src/sync/join-sync.js'
import { documentWeight, encodeUpdatePart, type SyncPart } from '../../src/sync/parts.js'
import { DialRefusedError } from '../../src/transport/errors.js'
import { seededRandom, testSeed } from '../helpers/cluster.js'
import { waitFor } from '../helpers/wait-for.js'

const SEED = testSeed('ring-mesh')

/** Join-sync options that apply every slice to `target` and expect no whole-pull fallback. */
function appliedTo(target: Y.Doc) {
  return {
    apply: (update: Uint8Array) => {
      Y.applyUpdate(target, update)
      return true
    },
    pullWhole: async (): Promise<void> => {
      throw new Error('no fallback expected')
    },
    logger: { debug: () => {}, info: () => {} },
  }
}

/** A membership whose live members the test sets directly. */
class FakeMembership extends TypedEventEmitter<MembershipEvents> implements Membership {
  readonly self: string
  members = new Map<string, Member>()
  weight = 1
  announced = 0
  fullView: boolean | undefined = undefined

  constructor(self: string) {
    super()
    this.self = self
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  peers(): Member[] {
    return [...this.members.values()].sort((a, b) => (a.peerId < b.peerId ? -1 : 1))
  }
  memberIds(): string[] {
    return [this.self, ...this.members.keys()].sort()
  }
  get(peerId: string): Member | undefined {
    return this.members.get(peerId)
  }
  knownAddresses(): string[] {
    return []
  }
  knownPeers(): KnownPeer[] {
    return []
  }
  setWeight(weight: number): void {
    this.weight = weight
  }
  announce(): void {
    this.announced++
  }
  hasFullView(): boolean {
    return this.fullView === true
  }

  join(peerId: string, fields: Partial<Member> = {}): void {
    this.members.set(peerId, {
      peerId,
      addresses: [],
      weight: 1,
      tags: {},
      startedAt: 0,
      lastSeen: Date.now(),
      connected: true,
      ready: true,
      meshSize: 0,
      ...fields,
    })
    this.safeDispatchEvent('change', { detail: { joined: [peerId], left: [], members: this.memberIds() } })
  }

  leave(peerId: string): void {
    this.members.delete(peerId)
    this.safeDispatchEvent('change', { detail: { joined: [], left: [peerId], members: this.memberIds() } })
  }

  update(peerId: string, fields: Partial<Member>): void {
    this.members.set(peerId, { ...this.members.get(peerId)!, ...fields })
    const changed = Object.keys(fields).filter((k) => k === 'weight' || k === 'ready') as Array<'weight' | 'ready'>
    this.safeDispatchEvent('update', { detail: { peerId, changed } })
  }
}

describe('mesh ring over a live membership', () => {
  it('mirrors joins, leaves and announced weights (clamped), and emits change events', async () => {
    const membership = new FakeMembership('self')
    const ring = await createMeshRing({ membership, self: 'self', weight: 1, random: seededRandom(SEED) })
    const events: Array<{ joined: readonly string[]; left: readonly string[]; reweighted: readonly string[] }> = []
    ring.on('change', (e) => events.push(e.detail))
    ring.start()
    expect(ring.members()).toEqual(['self'])
    membership.join('b')
    membership.join('a', { weight: 1e9 })
    expect(ring.members()).toEqual(['a', 'b', 'self'])
    expect(ring.weightOf('a')).toBe(MAX_MEMBER_WEIGHT)
    membership.update('b', { weight: 0 })
    expect(ring.weightOf('b')).toBe(MIN_MEMBER_WEIGHT)
    membership.update('b', { weight: 2 })
    expect(ring.weightOf('b')).toBe(2)
    membership.update('b', { ready: false }) // not a weight change: no ring change
    membership.leave('a')
    expect(ring.members()).toEqual(['b', 'self'])
    expect(events.map((e) => [e.joined, e.left, e.reweighted])).toEqual([
      [['b'], [], []],
      [['a'], [], []],
      [[], [], ['b']],
      [[], [], ['b']],
      [[], ['a'], []],
    ])
    ring.stop()
    membership.join('c')
    expect(ring.members()).toEqual(['b', 'self']) // stopped: no longer follows
  })

  it('ownerOf/isOwner agree with the ring; pick works on live members and follows changes', async () => {
    const membership = new FakeMembership('self')
    const ring = await createMeshRing({ membership, self: 'self', weight: 1, random: seededRandom(SEED + 1) })
    ring.start()
    for (const id of ['p1', 'p2', 'p3']) membership.join(id)
    const keys = Array.from({ length: 500 }, (_, i) => `k${i}`)
    for (const k of keys) {
      expect(ring.isOwner(k)).toBe(ring.ownerOf(k)[0] === 'self')
      expect(ring.pick({ strategy: 'hash', key: k })).toBe(ring.ownerOf(k)[0])
    }
    const rr = Array.from({ length: 8 }, () => ring.pick({ strategy: 'round-robin' }))
    expect(new Set(rr.slice(0, 4))).toEqual(new Set(['p1', 'p2', 'p3', 'self']))
    membership.leave('p2')
    const after = new Set(Array.from({ length: 200 }, () => ring.pick({ strategy: 'random' })))
    expect(after).toEqual(new Set(['p1', 'p3', 'self']))
    expect(ring.pick({ strategy: 'round-robin', exclude: ['self', 'p1'] })).toBe('p3')
    membership.update('p3', { weight: 50 })
    const weighted = Array.from({ length: 1000 }, () => ring.pick({ strategy: 'weighted' }))
    expect(weighted.filter((p) => p === 'p3').length).toBeGreaterThan(900)
    expect(() => ring.pick({ strategy: 'random', exclude: ['self', 'p1', 'p3'] })).toThrow(NoLiveMembersError)
  })

  it('setWeight validates, announces and re-weights this peer', async () => {
    const membership = new FakeMembership('self')
    const ring = await createMeshRing({ membership, self: 'self', weight: 1 })
    ring.start()
    ring.setWeight(4)
    expect(membership.weight).toBe(4)
    expect(ring.weightOf('self')).toBe(4)
    expect(() => ring.setWeight(101)).toThrow(InvalidOptionsError)
    expect(() => ring.setWeight(Number.NaN)).toThrow(InvalidOptionsError)
    await expect(createMeshRing({ membership, self: 'self', weight: 0.001 })).rejects.toThrow(InvalidOptionsError)
  })

  it('assign uses bounded loads when configured', async () => {
    const membership = new FakeMembership('self')
    const ring = await createMeshRing({ membership, self: 'self', weight: 1, boundedLoad: { epsilon: 0.1 } })
    ring.start()
    for (const id of ['a', 'b', 'c', 'd']) membership.join(id)
    const placed = ring.assign(Array.from({ length: 1000 }, (_, i) => `key-${i}`))
    const load = new Map<string, number>()
    for (const owner of placed.values()) load.set(owner, (load.get(owner) ?? 0) + 1)
    expect(Math.max(...load.values())).toBeLessThanOrEqual(Math.ceil(1.1 * 200))
  })
})

describe('join sync (ring-served first state)', () => {
  /** A responder document with ~200 KB of entries. */
  function responderDoc(): Y.Doc {
    const doc = new Y.Doc()
    doc.getArray('entries').push(Array.from({ length: 200 }, (_, i) => ({ k: `key-${i}`, v: 'v'.repeat(1000) })))
    return doc
  }

  it('fetches the slices from the placed owners, applies them in order, and becomes ready', async () => {
    const membership = new FakeMembership('joiner')
    for (let i = 0; i < 6; i++) membership.join(`m${i}`)
    membership.join('other-joiner', { ready: false })
    const source = responderDoc()
    const target = new Y.Doc()
    const fetched: Array<[string, SyncPart]> = []
    const applied: number[] = []
    const join = createJoinSync({
      self: 'joiner',
      membership,
      joining: true,
      heartbeatMs: 20,
      parts: 4,
      connect: async () => {},
      stateVector: () => Y.encodeStateVector(target),
      fetchPart: async (peerId, part, sv) => {
        fetched.push([peerId, part])
        // Answer out of order: later slices first (earlier ones are applied meanwhile: the cut must not move).
        await new Promise((r) => setTimeout(r, 5 * (part.count - part.index)))
        return encodeUpdatePart(source, sv, part, { minPartWeight: 1 })
      },
      apply: (update) => {
        applied.push(fetched.length)
        Y.applyUpdate(target, update)
        return true
      },
      pullWhole: async () => {
        throw new Error('no fallback expected')
      },
      logger: { debug: () => {}, info: () => {} },
    })
    expect(join.ready).toBe(false)
    join.start()
    await join.done
    expect(join.ready).toBe(true)
    expect(join.counters.parts).toBe(4)
    expect(join.counters.fallbacks).toBe(0)
    expect(fetched.map(([, p]) => p.index).sort()).toEqual([0, 1, 2, 3])
    // Four slices over six ready members, with another joiner's four slices placed too: bounded loads spread them.
    expect(new Set(fetched.map(([id]) => id)).size).toBeGreaterThanOrEqual(3)
    expect(fetched.every(([id]) => id.startsWith('m'))).toBe(true)
    expect(target.getArray('entries').toJSON()).toEqual(source.getArray('entries').toJSON())
    expect(target.store.pendingStructs).toBeNull()
  })

  it('cuts retried slices against the state vector of the plan (slices applied meanwhile do not move the cut)', async () => {
    const membership = new FakeMembership('joiner')
    for (let i = 0; i < 5; i++) membership.join(`m${i}`)
    const source = responderDoc()
    const target = new Y.Doc()
    let firstCall = true
    let bytes = 0
    const join = createJoinSync({
      self: 'joiner',
      membership,
      joining: true,
      heartbeatMs: 40,
      connect: async () => {},
      stateVector: () => Y.encodeStateVector(target),
      fetchPart: async (_peerId, part, sv) => {
        // The slice of index 4 fails once, so its retry comes after the other slices were applied.
        if (part.index === 4 && firstCall) {
          firstCall = false
          throw new Error('busy')
        }
        const update = encodeUpdatePart(source, sv, part, { minPartWeight: 1 })
        bytes += update.length
        return update
      },
      ...appliedTo(target),
    })
    join.start()
    await join.done
    expect(join.counters.partFailures).toBe(1)
    expect(target.getArray('entries').toJSON()).toEqual(source.getArray('entries').toJSON())
    expect(target.store.pendingStructs).toBeNull()
    expect(bytes).toBeLessThan(Y.encodeStateAsUpdate(source).length * 1.05)
  })

  it('a member whose dial is refused (it died, membership has not noticed) loses its slice at once, not after retries', async () => {
    const membership = new FakeMembership('joiner')
    for (let i = 0; i < 5; i++) membership.join(`m${i}`)
    const source = responderDoc()
    const target = new Y.Doc()
    const dials = new Map<string, number>()
    const join = createJoinSync({
      self: 'joiner',
      membership,
      joining: true,
      heartbeatMs: 40,
      connect: async (peerId) => {
        dials.set(peerId, (dials.get(peerId) ?? 0) + 1)
        // As the transport seam reports it (libp2p's ECONNREFUSED at every address, or a stopped simulated peer).
        if (peerId === 'm2') throw new DialRefusedError(`dial ${peerId} refused: connect ECONNREFUSED 127.0.0.1:40093`)
      },
      stateVector: () => Y.encodeStateVector(target),
      fetchPart: async (_peerId, part, sv) => encodeUpdatePart(source, sv, part, { minPartWeight: 1 }),
      ...appliedTo(target),
    })
    join.start()
    await join.done
    // One refused dial for m2's own slice (then the next member clockwise serves it), none retried.
    expect(dials.get('m2')).toBe(1)
    expect(join.counters.partFailures).toBe(1)
    expect(join.counters.fallbacks).toBe(0)
    expect(target.getArray('entries').toJSON()).toEqual(source.getArray('entries').toJSON())
    expect(target.store.pendingStructs).toBeNull()
  })

  it('with no more ready members than slices, every member serves exactly one slice of every joiner', async () => {
    const members = Array.from({ length: 7 }, (_, i) => `m${i}`)
    const served = new Map<string, number>()
    // Three joiners that cannot see each other (the case bounded loads cannot coordinate).
    for (const joiner of ['j0', 'j1', 'j2']) {
      const membership = new FakeMembership(joiner)
      for (const m of members) membership.join(m)
      const join = createJoinSync({
        self: joiner,
        membership,
        joining: true,
        heartbeatMs: 10,
        stateVector: () => new Uint8Array([0]),
        connect: async () => {},
        fetchPart: async (peerId, part) => {
          expect(part.count).toBe(members.length)
          served.set(peerId, (served.get(peerId) ?? 0) + 1)
          return new Uint8Array([0, 0])
        },
        apply: () => true,
        pullWhole: async () => {},
        logger: { debug: () => {}, info: () => {} },
      })
      join.start()
      await join.done
    }
    expect([...served.keys()].sort()).toEqual(members)
    expect([...served.values()]).toEqual(members.map(() => 3))
  })

  it('waits until it knows about as many members as the ready ones announce (meshSize)', async () => {
    const membership = new FakeMembership('joiner')
    membership.join('m0', { meshSize: 5 })
    const plans: number[] = []
    const join = createJoinSync({
      self: 'joiner',
      membership,
      joining: true,
      heartbeatMs: 10,
      timeoutMs: 5_000,
      stateVector: () => new Uint8Array([0]),
      connect: async () => {},
      fetchPart: async (_id, part) => {
        plans.push(part.count)
        return new Uint8Array([0, 0])
      },
      apply: () => true,
      pullWhole: async () => {},
      logger: { debug: () => {}, info: () => {} },
    })
    join.start()
    await new Promise((r) => setTimeout(r, 100))
    expect(plans).toEqual([]) // knows 2 of 5: still waiting
    membership.join('m1', { meshSize: 5 })
    membership.join('m2', { meshSize: 5 })
    membership.join('m3', { meshSize: 5 })
    await join.done
    expect(plans).toEqual([4, 4, 4, 4])
  })

  it('plans at once when the membership holds a whole table (SWIM: no meshSize), not after a quiet settle time', async () => {
    const membership = new FakeMembership('joiner')
    membership.join('m0') // meshSize 0: unknown, as every remote member under SWIM
    membership.join('m1')
    const plans: number[] = []
    const init = {
      self: 'joiner',
      membership,
      joining: true,
      heartbeatMs: 4_000_000, // settle time a quarter of it (1,000 s): without the full view the test times out
      timeoutMs: 24_000_000,
      stateVector: () => new Uint8Array([0]),
      connect: async () => {},
      fetchPart: async (_id: string, part: { count: number }) => {
        plans.push(part.count)
        return new Uint8Array([0, 0])
      },
      apply: () => true,
      pullWhole: async () => {},
      logger: { debug: () => {}, info: () => {} },
    }
    membership.fullView = true
    const join = createJoinSync(init)
    join.start()
    await join.done
    expect(plans).toEqual([2, 2])
  })

  it('moves a failing slice to the next owner, and falls back to a whole pull when no owner answers', async () => {
    const membership = new FakeMembership('joiner')
    for (let i = 0; i < 3; i++) membership.join(`m${i}`)
    const dead = new Set(['m0'])
    const whole: string[] = []
    const join = createJoinSync({
      self: 'joiner',
      membership,
      joining: true,
      heartbeatMs: 10,
      parts: 3,
      stateVector: () => new Uint8Array([0]),
      connect: async (id) => {
        if (dead.has(id)) throw new Error(`${id} unreachable`)
      },
      fetchPart: async () => new Uint8Array([0, 0]),
      apply: () => true,
      pullWhole: async (id) => {
        whole.push(id)
      },
      logger: { debug: () => {}, info: () => {} },
    })
    join.start()
    await join.done
    expect(join.counters.parts).toBe(3)
    expect(join.counters.partFailures).toBeGreaterThan(0)
    expect(whole).toEqual([])

    // Nobody answers slices: a whole pull from a connected member completes the join.
    const lonely = new FakeMembership('joiner2')
    lonely.join('x')
    const join2 = createJoinSync({
      self: 'joiner2',
      membership: lonely,
      joining: true,
      heartbeatMs: 5,
      stateVector: () => new Uint8Array([0]),
      connect: async () => {
        throw new Error('unreachable')
      },
      fetchPart: async () => new Uint8Array(),
      apply: () => true,
      pullWhole: async (id) => {
        whole.push(id)
      },
      logger: { debug: () => {}, info: () => {} },
    })
    join2.start()
    await join2.done
    expect(whole).toEqual(['x'])
    expect(join2.counters.fallbacks).toBe(1)
  })

  /** A join sync of `target` over six connected ready members serving `source`, with the probe (step 1a) on. */
  function probingJoin(source: Y.Doc, target: Y.Doc, failProbe = false) {
    const membership = new FakeMembership('joiner')
    for (let i = 0; i < 6; i++) membership.join(`m${i}`, { connected: i === 0 })
    const fetched: Array<[string, SyncPart]> = []
    const dials: string[] = []
    const bytes = { fetched: 0 }
    // Four slices after the probe; only m0 is connected, so any other member would have to be dialled.
    const join = createJoinSync({
      parts: 4,
      self: 'joiner',
      joining: true,
      membership,
      heartbeatMs: 20,
      connect: async (peerId) => {
        dials.push(peerId)
      },
      stateVector: () => Y.encodeStateVector(target),
      weight: (stopAt) => documentWeight(target, stopAt),
      fetchPart: async (peerId, part, sv) => {
        fetched.push([peerId, part])
        if (failProbe && part.count === PROBE_PARTS) throw new Error('stream reset')
        const update = encodeUpdatePart(source, sv, part)
        bytes.fetched += update.length
        return update
      },
      ...appliedTo(target),
    })
    return { join, fetched, dials, bytes }
  }

  it('a small document comes whole in the first slice from the connected ready member: one fetch, no dial', async () => {
    const source = new Y.Doc()
    source.getArray('entries').push(Array.from({ length: 20 }, (_, i) => ({ k: `key-${i}`, v: 'v'.repeat(100) })))
    const target = new Y.Doc()
    const { join, fetched, dials } = probingJoin(source, target)
    join.start()
    await join.done
    expect(join.ready).toBe(true)
    expect(fetched).toEqual([['m0', { index: 0, count: PROBE_PARTS }]])
    expect(dials).toEqual([])
    expect(join.counters).toMatchObject({ probes: 1, probeComplete: true, fallbacks: 0 })
    expect(target.getArray('entries').toJSON()).toEqual(source.getArray('entries').toJSON())
  })

  it('a larger document keeps the first slice and fetches the rest in slices cut after it (no byte twice)', async () => {
    const source = responderDoc() // ~200 KB: more than one minPartWeight in its first 64th
    const target = new Y.Doc()
    const { join, fetched, bytes } = probingJoin(source, target)
    join.start()
    await join.done
    expect(join.counters).toMatchObject({ probes: 1, probeComplete: false, parts: 4, fallbacks: 0 })
    expect(fetched[0]).toEqual(['m0', { index: 0, count: PROBE_PARTS }])
    expect(
      fetched
        .slice(1)
        .map(([, p]) => p.index)
        .sort(),
    ).toEqual([0, 1, 2, 3])
    expect(target.getArray('entries').toJSON()).toEqual(source.getArray('entries').toJSON())
    expect(target.store.pendingStructs).toBeNull()
    // the slices after the probe are cut against the state vector that includes it: one copy of the document in all
    expect(bytes.fetched).toBeLessThan(Y.encodeStateAsUpdate(source).length * 1.05)
  })

  it('a failed first slice only skips the probe: the join goes on in slices', async () => {
    const source = responderDoc()
    const target = new Y.Doc()
    const { join, fetched } = probingJoin(source, target, true)
    join.start()
    await join.done
    expect(join.counters).toMatchObject({ probes: 0, probeComplete: false, parts: 4, fallbacks: 0 })
    expect(fetched.length).toBe(5)
    expect(target.getArray('entries').toJSON()).toEqual(source.getArray('entries').toJSON())
  })

  it('waits for a ready member, then falls back to any connected one after timeoutMs', async () => {
    const membership = new FakeMembership('joiner')
    membership.join('not-ready', { ready: false })
    const whole: string[] = []
    const join = createJoinSync({
      self: 'joiner',
      membership,
      joining: true,
      heartbeatMs: 10,
      timeoutMs: 100,
      stateVector: () => new Uint8Array([0]),
      connect: async () => {},
      fetchPart: async () => new Uint8Array(),
      apply: () => true,
      pullWhole: async (id) => {
        whole.push(id)
      },
      logger: { debug: () => {}, info: () => {} },
    })
    const started = Date.now()
    join.start()
    await join.done
    expect(Date.now() - started).toBeGreaterThanOrEqual(90)
    expect(whole).toEqual(['not-ready'])
    // A peer that does not join is ready at once; stop() releases waiters of one that never finishes.
    const founder = createJoinSync({
      self: 's',
      membership: new FakeMembership('s'),
      joining: false,
      heartbeatMs: 10,
      stateVector: () => new Uint8Array([0]),
      connect: async () => {},
      fetchPart: async () => new Uint8Array(),
      apply: () => true,
      pullWhole: async () => {},
      logger: { debug: () => {}, info: () => {} },
    })
    expect(founder.ready).toBe(true)
    const stuck = createJoinSync({
      self: 's',
      membership: new FakeMembership('s'), // never connects
      joining: true,
      heartbeatMs: 10,
      stateVector: () => new Uint8Array([0]),
      connect: async () => {},
      fetchPart: async () => new Uint8Array(),
      apply: () => true,
      pullWhole: async () => {},
      logger: { debug: () => {}, info: () => {} },
    })
    stuck.start()
    let released = false
    void stuck.done.then(() => {
      released = true
    })
    stuck.stop()
    await waitFor(() => released)
    expect(stuck.ready).toBe(false)
  })
})
