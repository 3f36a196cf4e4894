/**
 * Load-balancing pickers over the live members of a {@link HashRing}: choose one member to send a request to.
 *
 * The ring is the membership view: whoever keeps it in sync with the live peers (membership) keeps every picker
 * built on it current. Pickers cache derived tables per `ring.version`, so a pick is O(log n) and allocation-free
 * unless `exclude` is used.
 *
 * @module
 */
import { InvalidOptionsError } from '../errors.js'
import { KeyRequiredError, NoLiveMembersError, UnknownStrategyError } from './errors.js'
import type { HashRing } from './hash-ring.js'

/**
 * How a picker chooses:
 * - `random`: uniform over live members.
 * - `round-robin`: cycles through live members in id order, starting at a random member (so peers do not all start
 *   on the same one). A member joining or leaving does not restart the cycle.
 * - `weighted`: random, proportional to member weight.
 * - `hash`: the ring owner of `key`, `ring.ownerOf(key)[0]` (with `exclude`: the first non-excluded member of the
 *   `ownerOf` walk, i.e. the next replica). Requires `key`.
 */
export type PickStrategy = 'random' | 'round-robin' | 'weighted' | 'hash'

/** Every {@link PickStrategy}, for validation and UIs. */
export const PICK_STRATEGIES: readonly PickStrategy[] = Object.freeze(['random', 'round-robin', 'weighted', 'hash'])

/** Options of {@link createPicker}. */
export interface PickerInit {
  /**
   * Source of uniform random numbers in `[0, 1)`, used by `random`, `weighted` and the starting point of
   * `round-robin`. Inject a seeded generator for reproducible tests. Default `Math.random`.
   */
  random?: () => number
}

/** Options of one {@link Picker.pick} call. */
export interface PickOptions {
  /** The key to place; required by the `hash` strategy, ignored by the others. */
  key?: string
  /** Members not to pick (e.g. this peer, or peers that just failed). Default: none. */
  exclude?: ReadonlySet<string>
}

/** Chooses one live member of a ring per call. */
export interface Picker {
  /**
   * Returns the id of one live member chosen by `strategy`.
   *
   * @throws {NoLiveMembersError} the ring is empty or every member is excluded
   * @throws {KeyRequiredError} `strategy` is `hash` and `options.key` is missing
   * @throws {UnknownStrategyError} `strategy` is not a {@link PickStrategy}
   */
  pick(strategy: PickStrategy, options?: PickOptions): string
}

/**
 * Creates a {@link Picker} over the members of `ring`. Round-robin state is per picker.
 *
 * @example
 * ```ts
 * const picker = createPicker(ring)
 * picker.pick('round-robin')
 * picker.pick('hash', { key: 'app/db/url', exclude: new Set([selfId]) })
 * ```
 *
 * @throws {InvalidOptionsError} `init.random` is not a function
 */
export function createPicker(ring: HashRing, init: PickerInit = {}): Picker {
  const random = init.random ?? Math.random
  if (typeof random !== 'function') throw new InvalidOptionsError('random must be a function returning [0, 1)')
  return new PickerImpl(ring, random)
}

/** Index in `[0, n)` from a random number, robust to generators that return exactly 1. */
function randomIndex(random: () => number, n: number): number {
  return Math.min(n - 1, Math.floor(random() * n))
}

/** First index whose cumulative weight is `> target`, clamped to the last index. */
function upperBound(cumulative: Float64Array, target: number): number {
  let lo = 0
  let hi = cumulative.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (cumulative[mid]! > target) hi = mid
    else lo = mid + 1
  }
  return lo
}

class PickerImpl implements Picker {
  readonly #ring: HashRing
  readonly #random: () => number
  #version = -1
  #ids: string[] = []
  #cumulative: Float64Array = new Float64Array(0)
  /** Last round-robin pick; the next one is the first member id after it. */
  #last: string | undefined

  constructor(ring: HashRing, random: () => number) {
    this.#ring = ring
    this.#random = random
  }

  pick(strategy: PickStrategy, options: PickOptions = {}): string {
    const exclude = options.exclude !== undefined && options.exclude.size > 0 ? options.exclude : undefined
    switch (strategy) {
      case 'hash':
        return this.#hash(options.key, exclude)
      case 'random':
      case 'weighted':
      case 'round-robin': {
        this.#refresh()
        if (this.#ids.length === 0) throw new NoLiveMembersError('no live member to pick from')
        if (strategy === 'round-robin') return this.#roundRobin(exclude)
        if (exclude === undefined) {
          return strategy === 'random'
            ? this.#ids[randomIndex(this.#random, this.#ids.length)]!
            : this.#ids[upperBound(this.#cumulative, this.#random() * this.#cumulative[this.#cumulative.length - 1]!)]!
        }
        const candidates = this.#ids.filter((id) => !exclude.has(id))
        if (candidates.length === 0) throw new NoLiveMembersError('every live member is excluded')
        if (strategy === 'random') return candidates[randomIndex(this.#random, candidates.length)]!
        const cumulative = this.#cumulativeOf(candidates)
        return candidates[upperBound(cumulative, this.#random() * cumulative[cumulative.length - 1]!)]!
      }
      default:
        throw new UnknownStrategyError(
          `unknown pick strategy ${JSON.stringify(strategy)}, expected one of ${PICK_STRATEGIES.join(', ')}`,
        )
    }
  }

  #hash(key: string | undefined, exclude: ReadonlySet<string> | undefined): string {
    if (key === undefined) throw new KeyRequiredError('the hash strategy needs a key')
    if (exclude === undefined) {
      const owner = this.#ring.primaryOf(key)
      if (owner === undefined) throw new NoLiveMembersError('no live member to pick from')
      return owner
    }
    // Among the first exclude.size + 1 distinct owners at least one is not excluded, if the ring has that many.
    for (const id of this.#ring.ownerOf(key, exclude.size + 1)) {
      if (!exclude.has(id)) return id
    }
    throw new NoLiveMembersError(
      this.#ring.size === 0 ? 'no live member to pick from' : 'every live member is excluded',
    )
  }

  #roundRobin(exclude: ReadonlySet<string> | undefined): string {
    const ids = this.#ids
    let i = this.#last === undefined ? randomIndex(this.#random, ids.length) : this.#after(this.#last)
    for (let steps = ids.length; steps > 0; steps--) {
      const id = ids[i]!
      if (exclude === undefined || !exclude.has(id)) {
        this.#last = id
        return id
      }
      if (++i === ids.length) i = 0
    }
    throw new NoLiveMembersError('every live member is excluded')
  }

  /** Index of the first id sorting after `id` (wrapping to 0). `#ids` is sorted with `<`. */
  #after(id: string): number {
    const ids = this.#ids
    let lo = 0
    let hi = ids.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (ids[mid]! <= id) lo = mid + 1
      else hi = mid
    }
    return lo === ids.length ? 0 : lo
  }

  #refresh(): void {
    if (this.#version === this.#ring.version) return
    this.#ids = this.#ring.members()
    this.#cumulative = this.#cumulativeOf(this.#ids)
    this.#version = this.#ring.version
  }

  #cumulativeOf(ids: readonly string[]): Float64Array {
    const cumulative = new Float64Array(ids.length)
    let sum = 0
    for (let k = 0; k < ids.length; k++) {
      sum += this.#ring.weightOf(ids[k]!) ?? 0
      cumulative[k] = sum
    }
    return cumulative
  }
}
