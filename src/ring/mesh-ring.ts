/**
 * The mesh's ring: the consistent hash ring ({@link HashRing}) kept equal to the live membership, this peer included.
 *
 * Every membership change (join, leave, timeout) and every announced weight change calls `setMembers` with the live
 * members and their weights, so two peers with the same membership view answer `ownerOf` identically without
 * talking. Announced weights are clamped to 0.01..100 (`ring/weight.ts`), this peer's too, so all peers compute the
 * same ring.
 *
 * What it does not do: agree. Views differ while heartbeats propagate (about one heartbeat after a join, up to the
 * member timeout after a crash) and indefinitely across a partition; `ownerOf` answers for this peer's view.
 *
 * @module
 */
import { TypedEventEmitter } from 'main-event'
import type { Membership, MembershipChange, MemberUpdate } from '../membership/membership.js'
import { type BoundedLoadInit, createHashRing, type HashRing } from './hash-ring.js'
import { createPicker, type Picker, type PickStrategy } from './picker.js'
import { assertWeight, clampWeight } from './weight.js'

/** Detail of a ring `change` event. */
export interface RingChange {
  /** Members after the change (this peer included), sorted. */
  readonly members: readonly string[]
  /** Members added by this change. */
  readonly joined: readonly string[]
  /** Members removed by this change. */
  readonly left: readonly string[]
  /** Members whose weight changed. */
  readonly reweighted: readonly string[]
  /** The ring's version after the change (see {@link HashRing.version}). */
  readonly version: number
}

/** Events of a {@link MeshRing}. */
export interface MeshRingEvents {
  change: CustomEvent<RingChange>
}

/** Options of {@link MeshRing.pick}. */
export interface MeshPickOptions {
  /** How to choose; see {@link PickStrategy}. Default `'random'`. */
  strategy?: PickStrategy
  /** The key to place, required by `'hash'`. */
  key?: string
  /** Members not to pick (e.g. this peer, or peers that just failed). Default: none. */
  exclude?: Iterable<string>
}

/** The live members of the mesh as a consistent hash ring. Available as `mesh.ring`. */
export interface MeshRing {
  /** This peer's id. */
  readonly self: string
  /** Incremented on every change of members or weights. */
  readonly version: number
  /** Live members, this peer included, sorted. */
  members(): string[]
  /** A member's weight on the ring (after clamping), or `undefined`. */
  weightOf(peerId: string): number | undefined
  /**
   * Up to `replicas` distinct members responsible for `key`, in preference order (see {@link HashRing.ownerOf}).
   * Identical on every peer with the same membership view.
   */
  ownerOf(key: string, replicas?: number): string[]
  /** Whether this peer is the primary owner of `key`. */
  isOwner(key: string): boolean
  /**
   * Places a set of keys on the members, with bounded loads when the mesh was created with
   * `ring: { boundedLoad: { epsilon } }` (see {@link HashRing.assign}). Returns `key -> peer id`.
   */
  assign(keys: Iterable<string>): Map<string, string>
  /**
   * One live member chosen by `options.strategy` (`'random'`, `'round-robin'`, `'weighted'`, or `'hash'` which
   * equals `ownerOf(key)[0]`). This peer is a candidate too; exclude it to pick a remote one.
   *
   * @throws NoLiveMembersError every member is excluded
   * @throws KeyRequiredError `'hash'` without a key
   */
  pick(options?: MeshPickOptions): string
  /** Changes this peer's weight (clamped range; validated) and announces it in the next heartbeat, sent at once. */
  setWeight(weight: number): void
  /** Subscribes to ring changes (alias of `addEventListener('change', ...)`). */
  on(type: 'change', listener: (event: CustomEvent<RingChange>) => void): void
  /** Unsubscribes (alias of `removeEventListener`). */
  off(type: 'change', listener: (event: CustomEvent<RingChange>) => void): void
  /** Subscribes to {@link MeshRingEvents} (`change`). */
  addEventListener: TypedEventEmitter<MeshRingEvents>['addEventListener']
  /** Unsubscribes from {@link MeshRingEvents}. */
  removeEventListener: TypedEventEmitter<MeshRingEvents>['removeEventListener']
}

/** Options of {@link createMeshRing}. */
export interface MeshRingInit {
  /** The live membership to mirror. */
  membership: Membership
  /** This peer's id (always on the ring). */
  self: string
  /** This peer's weight at start (0.01..100). */
  weight: number
  /** Virtual nodes per unit of weight. Default `DEFAULT_VNODES`. */
  vnodes?: number
  /** Bounded loads of `assign`. Default: off. */
  boundedLoad?: BoundedLoadInit
  /** Random source of the pickers. Default `Math.random`. */
  random?: () => number
}

/** A {@link MeshRing} with a lifecycle, owned by the mesh. */
export interface MeshRingService extends MeshRing {
  /** Starts following the membership (and syncs once). */
  start(): void
  /** Stops following the membership. */
  stop(): void
  /** The underlying ring (read-only use: `ownerOf`, `primaryOf`, `assign`). */
  readonly ring: HashRing
}

/**
 * Creates the mesh ring. Asynchronous because the ring's hash function is WebAssembly (compiled once per process).
 *
 * @throws InvalidOptionsError `vnodes`, `boundedLoad` or `weight` is invalid
 */
export async function createMeshRing(init: MeshRingInit): Promise<MeshRingService> {
  assertWeight(init.weight)
  const ring = await createHashRing({
    ...(init.vnodes === undefined ? {} : { vnodes: init.vnodes }),
    ...(init.boundedLoad === undefined ? {} : { boundedLoad: init.boundedLoad }),
  })
  return new MeshRingImpl(init, ring)
}

class MeshRingImpl extends TypedEventEmitter<MeshRingEvents> implements MeshRingService {
  readonly self: string
  readonly ring: HashRing
  readonly #membership: Membership
  readonly #picker: Picker
  #weight: number
  readonly #onChange = (_evt: CustomEvent<MembershipChange>): void => this.#sync()
  readonly #onUpdate = (evt: CustomEvent<MemberUpdate>): void => {
    if (evt.detail.changed.includes('weight')) this.#sync()
  }

  constructor(init: MeshRingInit, ring: HashRing) {
    super()
    this.self = init.self
    this.ring = ring
    this.#membership = init.membership
    this.#weight = init.weight
    this.#picker = createPicker(ring, init.random === undefined ? {} : { random: init.random })
    ring.setMembers([[this.self, clampWeight(this.#weight)]])
  }

  get version(): number {
    return this.ring.version
  }

  start(): void {
    this.#membership.addEventListener('change', this.#onChange)
    this.#membership.addEventListener('update', this.#onUpdate)
    this.#sync()
  }

  stop(): void {
    this.#membership.removeEventListener('change', this.#onChange)
    this.#membership.removeEventListener('update', this.#onUpdate)
  }

  members(): string[] {
    return this.ring.members()
  }

  weightOf(peerId: string): number | undefined {
    return this.ring.weightOf(peerId)
  }

  ownerOf(key: string, replicas = 1): string[] {
    return this.ring.ownerOf(key, replicas)
  }

  isOwner(key: string): boolean {
    return this.ring.primaryOf(key) === this.self
  }

  assign(keys: Iterable<string>): Map<string, string> {
    return this.ring.assign(keys)
  }

  pick(options: MeshPickOptions = {}): string {
    const exclude = options.exclude === undefined ? undefined : new Set(options.exclude)
    return this.#picker.pick(options.strategy ?? 'random', {
      ...(options.key === undefined ? {} : { key: options.key }),
      ...(exclude === undefined ? {} : { exclude }),
    })
  }

  setWeight(weight: number): void {
    assertWeight(weight)
    this.#weight = weight
    this.#membership.setWeight(weight)
    this.#sync()
  }

  on(type: 'change', listener: (event: CustomEvent<RingChange>) => void): void {
    this.addEventListener(type, listener)
  }

  off(type: 'change', listener: (event: CustomEvent<RingChange>) => void): void {
    this.removeEventListener(type, listener)
  }

  /** Mirrors the membership view into the ring; emits `change` if anything moved. */
  #sync(): void {
    const before = new Map(this.ring.members().map((id) => [id, this.ring.weightOf(id)!]))
    const next: Array<[string, number]> = [[this.self, clampWeight(this.#weight)]]
    for (const m of this.#membership.peers()) next.push([m.peerId, clampWeight(m.weight)])
    if (!this.ring.setMembers(next)) return
    const joined: string[] = []
    const reweighted: string[] = []
    for (const [id, w] of next) {
      const was = before.get(id)
      if (was === undefined) joined.push(id)
      else if (was !== w) reweighted.push(id)
    }
    const present = new Set(next.map(([id]) => id))
    const left = [...before.keys()].filter((id) => !present.has(id))
    this.safeDispatchEvent('change', {
      detail: {
        members: this.ring.members(),
        joined: joined.sort(),
        left: left.sort(),
        reweighted: reweighted.sort(),
        version: this.ring.version,
      },
    })
  }
}
