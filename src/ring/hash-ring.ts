/**
 * Consistent hash ring with virtual nodes, capacity weights and optional bounded loads.
 *
 * What it guarantees:
 * - **Deterministic.** The answer of {@link HashRing.ownerOf} and {@link HashRing.assign} depends only on the set of
 *   members, their weights, the `vnodes` option and (for `assign`) the set of keys, never on insertion order or on
 *   the peer asking. Two peers with the same membership view agree without talking.
 * - **Minimal movement.** Adding a member moves only keys *to* it; removing one moves only its keys, each to the
 *   next member clockwise. Changing a weight moves only keys to/from that member. (Holds for `ownerOf`; `assign`
 *   with bounded loads adds a small cascade, see its doc.)
 * - **Proportional.** A member with weight `w` holds `round(w * vnodes)` points, so it owns about `w / totalWeight`
 *   of the key space (spread ~ `1 / sqrt(w * vnodes)`; see `bench/RESULTS.md`).
 *
 * - **Incremental.** A membership or weight change costs O(vnodes) hashes at once and, on the next lookup, one linear
 *   merge of that member's points into the sorted point arrays (`ring-points.ts`), not a re-sort of every point;
 *   many changes at once (more than a quarter of the members) fall back to one full sort. Either way the arrays are
 *   the same (test/unit/ring-incremental.test.ts compares against a ring built from scratch).
 *
 * What it does not do: it knows nothing about liveness. Feed it the membership view (`add`/`remove`) and it answers
 * for that view; peers with different views give different answers until their views converge.
 *
 * Hashing: points and keys are hashed with xxHash32 ({@link loadHasher}); member `id`'s i-th point is
 * `hash32(id, i)`, a key's position is `hash32(key, 0)`. A key belongs to the first point at or after its position
 * (wrapping past `2^32-1` to the first point). Equal points are ordered by member id (UTF-16 code unit order, as
 * `<` compares strings), so collisions are resolved the same way everywhere.
 *
 * @module
 */
import { InvalidKeyError, InvalidOptionsError } from '../errors.js'
import { InvalidMemberError, InvalidReplicasError, InvalidWeightError, TooManyMembersError } from './errors.js'
import { type Hasher, loadHasher } from './hasher.js'
import { compareIds, lowerBound, type PlacedMember, RingPoints, sortedDelete, sortedInsert } from './ring-points.js'

/**
 * Default virtual nodes per unit of weight. Measured (`npx tsx bench/ring.ts`: 100 members, 100k keys, 20 member
 * sets): max/mean keys per member 1.41 at 50 vnodes, 1.29 at 100, 1.23 at 160, 1.21 at 200, 1.15 at 400; worst
 * single leave moved 1.39/N at 50, 1.27/N at 160, 1.16/N at 200; lookups ~4M/s at every setting. 200 buys most of
 * the balance for 20k points per 100 members (~240 KiB, ~2 ms per rebuild); bounded loads fix the rest when needed.
 */
export const DEFAULT_VNODES = 200

/** Largest accepted `vnodes` option. */
export const MAX_VNODES = 10_000

/** Most virtual nodes one member may hold (`round(weight * vnodes)`); bounds memory for absurd weights. */
export const MAX_POINTS_PER_MEMBER = 1 << 20

/**
 * Most members a ring accepts. Points are sorted as one `Float64Array` of `point * 2^21 + memberRank`, exact below
 * 2^53, which leaves 21 bits for the member rank.
 */
export const MAX_RING_MEMBERS = 1 << 21

/** Smallest accepted `boundedLoad.epsilon`. Below it capacities leave no room for floating-point rounding. */
export const MIN_EPSILON = 1e-6

/**
 * Capacities are computed in floating point, where e.g. `1.1 * 1000` is `1100.0000000000002`; shaving this relative
 * amount before `ceil` makes them match exact arithmetic (1100, not 1101) for every realistic key count.
 */
const CEIL_SLACK = 2 ** -40

/** Default member weight. */
export const DEFAULT_WEIGHT = 1

/** Seed of the key hash. Point `i` of a member uses seed `i`. */
const KEY_SEED = 0

const RANK_SCALE = MAX_RING_MEMBERS

/** Bounded-load option of {@link HashRingInit}. */
export interface BoundedLoadInit {
  /**
   * Slack over a perfectly even split, at least {@link MIN_EPSILON}. With `epsilon = 0.1` no member gets more than
   * `ceil(1.1 * weightShare * keyCount)` keys from {@link HashRing.assign}. Smaller values balance better but move
   * more keys when anything changes (the paper's bound is O(1/epsilon^2) moves per change).
   */
  epsilon: number
}

/** Options of {@link createHashRing}. */
export interface HashRingInit {
  /** Virtual nodes per unit of weight, a positive integer up to {@link MAX_VNODES}. Default {@link DEFAULT_VNODES}. */
  vnodes?: number
  /**
   * Enables bounded loads in {@link HashRing.assign} (Mirrokni, Thorup, Zadimoghaddam, "Consistent Hashing with
   * Bounded Loads", 2016). Default: off, `assign` places every key on its `ownerOf` primary.
   */
  boundedLoad?: BoundedLoadInit
  /** Initial members, as ids (weight {@link DEFAULT_WEIGHT}) or `[id, weight]` pairs. Default: none. */
  members?: Iterable<string | readonly [id: string, weight: number]>
  /**
   * Hash function. Default: xxHash32 from {@link loadHasher}. Every peer of a mesh must use the same one; this
   * exists for tests that need to force collisions.
   */
  hasher?: Hasher
}

/** A consistent hash ring over string member ids (libp2p peer ids). Not thread-safe; all methods are synchronous. */
export interface HashRing {
  /** Number of members. */
  readonly size: number
  /** Incremented on every change of membership or weight; cheap to compare for caches. Starts at 0. */
  readonly version: number
  /** Virtual nodes per unit of weight this ring was built with. */
  readonly vnodes: number
  /** The bounded-load slack, or `undefined` when bounded loads are off. */
  readonly epsilon: number | undefined

  /**
   * Adds `id` with `weight` (default {@link DEFAULT_WEIGHT}), or updates its weight if it is already a member.
   * Returns `true` if anything changed.
   *
   * @throws {InvalidMemberError} `id` is not a non-empty string
   * @throws {InvalidWeightError} `weight` is not a positive finite number, or `weight * vnodes` exceeds
   *   {@link MAX_POINTS_PER_MEMBER}
   * @throws {TooManyMembersError} the ring already holds {@link MAX_RING_MEMBERS} members
   */
  add(id: string, weight?: number): boolean
  /** Removes `id`. Returns `true` if it was a member. */
  remove(id: string): boolean
  /**
   * Makes the membership exactly `members` (ids with weight {@link DEFAULT_WEIGHT}, or `[id, weight]` pairs; a
   * repeated id keeps its last weight): removes the others, adds or re-weights these. Validates everything before
   * changing anything. Returns `true` if anything changed. Handy for mirroring a membership view on every change.
   *
   * @throws {InvalidMemberError} an id is not a non-empty string (nothing changed)
   * @throws {InvalidWeightError} a weight is invalid, as in {@link HashRing.add} (nothing changed)
   * @throws {TooManyMembersError} more than {@link MAX_RING_MEMBERS} distinct ids (nothing changed)
   */
  setMembers(members: Iterable<string | readonly [id: string, weight: number]>): boolean
  /** Whether `id` is a member. */
  has(id: string): boolean
  /** The weight of `id`, or `undefined` if it is not a member. */
  weightOf(id: string): number | undefined
  /** All member ids, sorted (UTF-16 code unit order). A fresh array. */
  members(): string[]
  /**
   * Each member's exact share of the hash space (0..1, summing to 1): the arcs from the previous point to each of
   * its points. What `ownerOf` gives a member for uniformly spread keys; for balance metrics. A fresh map.
   */
  arcShares(): Map<string, number>

  /**
   * Up to `replicas` distinct members responsible for `key`, in preference order: the member owning the first point
   * at or after `hash(key)`, then the next distinct members walking clockwise. Returns `[]` on an empty ring and all
   * members (in that clockwise order) when `replicas >= size`.
   *
   * @param replicas - how many distinct owners to return, a positive integer; default 1
   * @throws {InvalidKeyError} `key` is not a string
   * @throws {InvalidReplicasError} `replicas` is not a positive integer
   */
  ownerOf(key: string, replicas?: number): string[]
  /**
   * The primary owner of `key`, i.e. `ownerOf(key)[0]`, without allocating; `undefined` on an empty ring.
   *
   * @throws {InvalidKeyError} `key` is not a string
   */
  primaryOf(key: string): string | undefined

  /**
   * Places a whole set of keys at once and returns `key -> member id` (duplicate keys count once; an empty ring
   * gives an empty map).
   *
   * Without `boundedLoad` every key goes to `ownerOf(key)[0]`.
   *
   * With `boundedLoad: { epsilon }`, member `m` may take at most `ceil((1 + epsilon) * weight(m) / totalWeight *
   * keyCount)` keys. Keys are placed one by one in ascending `(hash(key), key)` order; each goes to the first member
   * clockwise from `hash(key)` (the `ownerOf` walk) that is not yet full. The result depends only on members,
   * weights and the key set, so every peer computes the same placement. The capacities sum to at least
   * `(1 + epsilon) * keyCount`, so every key is placed.
   *
   * Caveat: unlike `ownerOf`, a key's bounded-load owner can depend on the other keys; adding or removing keys (or
   * a member) may shift a few keys between members that did not change (expected O(1/epsilon^2) per change, per the
   * paper). The returned map iterates in placement order.
   *
   * @throws {InvalidKeyError} a key is not a string
   */
  assign(keys: Iterable<string>): Map<string, string>
}

/**
 * Creates a {@link HashRing}. Asynchronous only because the default hasher is WebAssembly and must be compiled once
 * per process (see `hasher.ts`); every method of the returned ring is synchronous.
 *
 * @example
 * ```ts
 * const ring = await createHashRing({ boundedLoad: { epsilon: 0.1 } })
 * ring.add('12D3KooWA...')
 * ring.add('12D3KooWB...', 2) // twice the capacity
 * ring.ownerOf('app/db/url', 2) // ['12D3KooWB...', '12D3KooWA...']
 * ```
 *
 * @throws {InvalidOptionsError} `vnodes` or `boundedLoad.epsilon` is invalid
 * @throws {InvalidMemberError} an id in `init.members` is invalid
 * @throws {InvalidWeightError} a weight in `init.members` is invalid
 */
export async function createHashRing(init: HashRingInit = {}): Promise<HashRing> {
  const vnodes = init.vnodes ?? DEFAULT_VNODES
  if (!Number.isInteger(vnodes) || vnodes < 1 || vnodes > MAX_VNODES) {
    throw new InvalidOptionsError(`vnodes must be an integer in 1..${MAX_VNODES}, got ${String(vnodes)}`)
  }
  let epsilon: number | undefined
  if (init.boundedLoad !== undefined) {
    epsilon = init.boundedLoad.epsilon
    if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon < MIN_EPSILON) {
      throw new InvalidOptionsError(
        `boundedLoad.epsilon must be a finite number >= ${MIN_EPSILON}, got ${String(epsilon)}`,
      )
    }
  }
  const hasher = init.hasher ?? (await loadHasher())
  const ring = new HashRingImpl(hasher, vnodes, epsilon)
  if (init.members !== undefined) ring.setMembers(init.members)
  return ring
}

/**
 * Indices of `keys` in ascending `(hashes[i], keys[i])` order, independent of the order `keys` came in.
 * Sorts packed doubles `hash * 2^21 + index` natively (about 5x faster than a comparator sort on 100k keys), then
 * re-sorts the rare runs of equal hashes by key.
 */
function placementOrder(hashes: Uint32Array, keys: readonly string[]): Uint32Array {
  const count = keys.length
  const order = new Uint32Array(count)
  if (count > RANK_SCALE) {
    for (let k = 0; k < count; k++) order[k] = k
    return order.sort((a, b) => hashes[a]! - hashes[b]! || compareIds(keys[a]!, keys[b]!))
  }
  const packed = new Float64Array(count)
  for (let k = 0; k < count; k++) packed[k] = hashes[k]! * RANK_SCALE + k
  packed.sort()
  for (let k = 0; k < count; k++) order[k] = packed[k]! % RANK_SCALE
  for (let start = 0; start < count; ) {
    let end = start + 1
    while (end < count && hashes[order[end]!] === hashes[order[start]!]) end++
    if (end - start > 1) order.subarray(start, end).sort((a, b) => compareIds(keys[a]!, keys[b]!))
    start = end
  }
  return order
}

class HashRingImpl implements HashRing {
  readonly vnodes: number
  readonly epsilon: number | undefined
  readonly #hasher: Hasher
  readonly #weights = new Map<string, number>()
  /** Cached points of each member (point `i` is `hash32(id, i)`), so a change only hashes what changed. */
  readonly #memberPoints = new Map<string, Uint32Array>()
  #version = 0

  /** The sorted point arrays, brought up to date lazily (on the next lookup) by #build(). */
  readonly #ring = new RingPoints()
  /** Members added, removed or re-weighted since the last #build(). */
  readonly #dirty = new Set<string>()
  #built = false
  #everBuilt = false
  /** Member ids sorted (UTF-16 code unit order), as of the last #build(). */
  #sorted: string[] = []
  /** Per-slot marks for the distinct-member walk of ownerOf (compared to #epoch, so no clearing per call). */
  #marks = new Uint32Array(0)
  #epoch = 0

  constructor(hasher: Hasher, vnodes: number, epsilon: number | undefined) {
    this.#hasher = hasher
    this.vnodes = vnodes
    this.epsilon = epsilon
  }

  get size(): number {
    return this.#weights.size
  }

  get version(): number {
    return this.#version
  }

  add(id: string, weight: number = DEFAULT_WEIGHT): boolean {
    const count = this.#pointCount(id, weight)
    const previous = this.#weights.get(id)
    if (previous === weight) return false
    if (previous === undefined && this.#weights.size >= MAX_RING_MEMBERS) {
      throw new TooManyMembersError(`a ring holds at most ${MAX_RING_MEMBERS} members`)
    }
    const cached = this.#memberPoints.get(id)
    if (cached === undefined || cached.length !== count) {
      // Points are a pure function of (id, index): keep the common prefix, hash only new indices.
      const points = new Uint32Array(count)
      const keep = cached === undefined ? 0 : Math.min(cached.length, count)
      if (cached !== undefined) points.set(cached.subarray(0, keep))
      for (let i = keep; i < count; i++) points[i] = this.#hasher.hash32(id, i)
      this.#memberPoints.set(id, points)
    }
    this.#weights.set(id, weight)
    this.#changed(id)
    return true
  }

  remove(id: string): boolean {
    if (!this.#weights.delete(id)) return false
    this.#memberPoints.delete(id)
    this.#changed(id)
    return true
  }

  setMembers(members: Iterable<string | readonly [id: string, weight: number]>): boolean {
    const next = new Map<string, number>()
    for (const member of members) {
      const [id, weight] = typeof member === 'string' ? [member, DEFAULT_WEIGHT] : member
      this.#pointCount(id, weight)
      next.set(id, weight)
    }
    if (next.size > MAX_RING_MEMBERS) throw new TooManyMembersError(`a ring holds at most ${MAX_RING_MEMBERS} members`)
    let changed = false
    for (const id of [...this.#weights.keys()]) if (!next.has(id)) changed = this.remove(id) || changed
    for (const [id, weight] of next) changed = this.add(id, weight) || changed
    return changed
  }

  has(id: string): boolean {
    return this.#weights.has(id)
  }

  weightOf(id: string): number | undefined {
    return this.#weights.get(id)
  }

  members(): string[] {
    if (!this.#built) this.#build()
    return this.#sorted.slice()
  }

  arcShares(): Map<string, number> {
    if (!this.#built) this.#build()
    const ring = this.#ring
    const { points, owners } = ring
    const owned = new Float64Array(ring.slotCount)
    for (let i = 0; i < points.length; i++) {
      const previous = i === 0 ? points[points.length - 1]! - 2 ** 32 : points[i - 1]!
      owned[owners[i]!]! += points[i]! - previous
    }
    const out = new Map<string, number>()
    for (const id of this.#sorted) out.set(id, owned[ring.slotOf(id)!]! / 2 ** 32)
    return out
  }

  ownerOf(key: string, replicas = 1): string[] {
    if (!Number.isInteger(replicas) || replicas < 1) {
      throw new InvalidReplicasError(`replicas must be a positive integer, got ${String(replicas)}`)
    }
    if (!this.#built) this.#build()
    const size = this.#sorted.length
    if (size === 0) {
      if (typeof key !== 'string') throw new InvalidKeyError(`key must be a string, got ${typeof key}`)
      return []
    }
    const ring = this.#ring
    let i = this.#indexOf(key)
    const owners = ring.owners
    if (replicas === 1) return [ring.idOf(owners[i]!)]

    const want = Math.min(replicas, size)
    const marks = this.#marks
    if (this.#epoch === 0xffffffff) {
      marks.fill(0)
      this.#epoch = 0
    }
    const epoch = ++this.#epoch
    const out: string[] = []
    // Every member holds at least one point, so one full turn finds all of them.
    for (let steps = owners.length; steps > 0 && out.length < want; steps--) {
      const slot = owners[i]!
      if (marks[slot] !== epoch) {
        marks[slot] = epoch
        out.push(ring.idOf(slot))
      }
      if (++i === owners.length) i = 0
    }
    return out
  }

  primaryOf(key: string): string | undefined {
    if (!this.#built) this.#build()
    if (this.#sorted.length === 0) {
      if (typeof key !== 'string') throw new InvalidKeyError(`key must be a string, got ${typeof key}`)
      return undefined
    }
    return this.#ring.idOf(this.#ring.owners[this.#indexOf(key)]!)
  }

  assign(keys: Iterable<string>): Map<string, string> {
    if (!this.#built) this.#build()
    const result = new Map<string, string>()
    const unique = [...new Set(keys)]
    for (const key of unique) {
      if (typeof key !== 'string') throw new InvalidKeyError(`key must be a string, got ${typeof key}`)
    }
    const ring = this.#ring
    if (this.#sorted.length === 0 || unique.length === 0) return result

    const count = unique.length
    const hashes = new Uint32Array(count)
    for (let k = 0; k < count; k++) hashes[k] = this.#hasher.hash32(unique[k]!, KEY_SEED)
    const order = placementOrder(hashes, unique)

    const points = ring.points
    const owners = ring.owners
    if (this.epsilon === undefined) {
      for (let k = 0; k < count; k++) {
        const key = order[k]!
        result.set(unique[key]!, ring.idOf(owners[this.#lowerBound(hashes[key]!)]!))
      }
      return result
    }

    // Summed in member id order, so every peer rounds the same way.
    let totalWeight = 0
    for (const id of this.#sorted) totalWeight += this.#weights.get(id)!
    const capacity = new Float64Array(ring.slotCount)
    for (const id of this.#sorted) {
      const exact = ((1 + this.epsilon) * this.#weights.get(id)! * count) / totalWeight
      capacity[ring.slotOf(id)!] = Math.ceil(exact - exact * CEIL_SLACK)
    }
    const load = new Uint32Array(ring.slotCount)
    for (let k = 0; k < count; k++) {
      const key = order[k]!
      const start = this.#lowerBound(hashes[key]!)
      let i = start
      let slot = owners[i]!
      // Walk clockwise past full members. Capacities sum to >= (1 + epsilon) * count > count, so a member with
      // room always exists; the step bound only guards against floating-point surprises.
      for (let steps = points.length; load[slot]! >= capacity[slot]! && steps > 0; steps--) {
        if (++i === points.length) i = 0
        slot = owners[i]!
      }
      if (load[slot]! >= capacity[slot]!) slot = owners[start]!
      load[slot]!++
      result.set(unique[key]!, ring.idOf(slot))
    }
    return result
  }

  /** Validates a member and returns how many points it gets. */
  #pointCount(id: string, weight: number): number {
    if (typeof id !== 'string' || id.length === 0) {
      throw new InvalidMemberError(`member id must be a non-empty string, got ${JSON.stringify(id)}`)
    }
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
      throw new InvalidWeightError(`weight of ${id} must be a positive finite number, got ${String(weight)}`)
    }
    const count = Math.max(1, Math.round(weight * this.vnodes))
    if (count > MAX_POINTS_PER_MEMBER) {
      throw new InvalidWeightError(
        `weight ${weight} of ${id} gives ${count} virtual nodes, the limit is ${MAX_POINTS_PER_MEMBER}`,
      )
    }
    return count
  }

  /** Index of the point owning `key` (first point at or after its hash, wrapping). Requires a non-empty ring. */
  #indexOf(key: string): number {
    if (typeof key !== 'string') throw new InvalidKeyError(`key must be a string, got ${typeof key}`)
    return this.#lowerBound(this.#hasher.hash32(key, KEY_SEED))
  }

  /** First index whose point is `>= h`, or 0 if every point is below `h` (wrap-around). */
  #lowerBound(h: number): number {
    const at = lowerBound(this.#ring.points, h)
    return at === this.#ring.points.length ? 0 : at
  }

  #changed(id: string): void {
    this.#version++
    this.#built = false
    this.#dirty.add(id)
  }

  /**
   * Brings the point arrays up to date: a full sort the first time and when more than a quarter of the members
   * changed at once, otherwise an incremental merge of just the changed members' points (see `ring-points.ts`).
   * Both give the same arrays (the property test in test/unit/ring-incremental.test.ts checks it).
   */
  #build(): void {
    const dirty = this.#dirty
    const ring = this.#ring
    if (!this.#everBuilt || dirty.size * 4 > this.#weights.size + 16) {
      const ids = [...this.#weights.keys()].sort(compareIds)
      ring.rebuild(ids.map((id) => ({ id, points: this.#memberPoints.get(id)! })))
      this.#sorted = ids
    } else {
      const removed: string[] = []
      const added: PlacedMember[] = []
      for (const id of dirty) {
        const placed = ring.slotOf(id) !== undefined
        const present = this.#weights.has(id)
        if (placed) removed.push(id)
        if (present) added.push({ id, points: this.#memberPoints.get(id)! })
        if (placed && !present) sortedDelete(this.#sorted, id)
        else if (present && !placed) sortedInsert(this.#sorted, id)
      }
      ring.apply(removed, added)
    }
    dirty.clear()
    if (this.#marks.length < ring.slotCount) {
      this.#marks = new Uint32Array(Math.max(ring.slotCount, 2 * this.#marks.length))
      this.#epoch = 0
    }
    this.#built = true
    this.#everBuilt = true
  }
}
