/**
 * The sorted point arrays of a consistent hash ring, kept up to date incrementally as members come and go.
 *
 * What it guarantees:
 * - **Order.** `points` is sorted ascending; equal points are ordered by member id (UTF-16 code unit order, `<`).
 *   `owners[i]` is the slot of the member owning `points[i]`; `idOf(slot)` names it. The arrays depend only on the
 *   set of (id, points) placed, never on the order of changes: a full {@link RingPoints.rebuild} and any sequence of
 *   {@link RingPoints.apply} calls reaching the same members give identical `points` and identical owner ids.
 * - **Incremental cost.** {@link RingPoints.apply} removes the points of the changed members and inserts the (sorted)
 *   points of the new ones: one scan of the owner array (only when removing), a binary search per inserted point,
 *   and block copies of the untouched runs (memcpy), i.e. O(c log P) comparisons plus an O(P) copy for P points on
 *   the ring and c changed points, against O(P log P) comparisons for a re-sort. Slots of members that did not
 *   change stay the same.
 * - **Memory.** 8 bytes per point (two `Uint32Array`s) plus one slot per member.
 *
 * @module
 */

/**
 * Points are sorted as one `Float64Array` of `point * RANK_SCALE + rank`, exact below 2^53: 21 bits for the rank of
 * a member (among the members being sorted).
 */
export const RANK_SCALE = 2 ** 21

/** Member id order (UTF-16 code units, as `<` compares strings): the tie-break of equal points. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** First index of sorted `points` whose value is `>= point` (`points.length` if none). */
export function lowerBound(points: Uint32Array, point: number): number {
  let lo = 0
  let hi = points.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (points[mid]! < point) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** One member's points, as handed to {@link RingPoints}. */
export interface PlacedMember {
  readonly id: string
  readonly points: Uint32Array
}

/**
 * Sorts the points of `members` by (point, id) into packed `point * RANK_SCALE + rank` doubles, `rank` being the
 * member's index in `members` sorted by id. Returns the packed array and the members in that id order.
 */
function sortPacked(members: readonly PlacedMember[]): { packed: Float64Array; byId: PlacedMember[] } {
  const byId = [...members].sort((a, b) => compareIds(a.id, b.id))
  let total = 0
  for (const m of byId) total += m.points.length
  const packed = new Float64Array(total)
  let n = 0
  for (let rank = 0; rank < byId.length; rank++) {
    for (const point of byId[rank]!.points) packed[n++] = point * RANK_SCALE + rank
  }
  packed.sort()
  return { packed, byId }
}

/** The sorted (point, owner) arrays of a ring and the member slots they refer to. */
export class RingPoints {
  /** Sorted point positions. */
  points = new Uint32Array(0)
  /** Slot of the member owning each point. */
  owners = new Uint32Array(0)
  /** Member id of each slot (`undefined` for a free slot). */
  readonly #ids: Array<string | undefined> = []
  readonly #slotOf = new Map<string, number>()
  readonly #free: number[] = []

  /** Number of slots ever allocated (an upper bound of every slot in `owners`). */
  get slotCount(): number {
    return this.#ids.length
  }

  /** The member id of `slot`. */
  idOf(slot: number): string {
    return this.#ids[slot]!
  }

  /** The slot of member `id`, if it is placed. */
  slotOf(id: string): number | undefined {
    return this.#slotOf.get(id)
  }

  /** Replaces everything with `members` (a full sort). */
  rebuild(members: readonly PlacedMember[]): void {
    this.#ids.length = 0
    this.#slotOf.clear()
    this.#free.length = 0
    const { packed, byId } = sortPacked(members)
    for (const m of byId) this.#allocate(m.id)
    const total = packed.length
    const points = new Uint32Array(total)
    const owners = new Uint32Array(total)
    for (let k = 0; k < total; k++) {
      const value = packed[k]!
      const point = Math.floor(value / RANK_SCALE)
      points[k] = point
      owners[k] = value - point * RANK_SCALE // rank = slot after a rebuild
    }
    this.points = points
    this.owners = owners
  }

  /**
   * Removes the points of every member in `removed` (ids not placed are ignored), then places `added` (ids not
   * placed; a member whose points changed is passed in both). Finds the removed points with one scan of the owner
   * array and the insertion places by binary search, then copies the untouched runs in between as blocks.
   */
  apply(removed: Iterable<string>, added: readonly PlacedMember[]): void {
    const oldPoints = this.points
    const oldOwners = this.owners
    const n = oldPoints.length
    const drop = new Uint8Array(this.#ids.length)
    let dropping = 0
    for (const id of removed) {
      const slot = this.#slotOf.get(id)
      if (slot === undefined) continue
      drop[slot] = 1
      dropping++
    }
    const gone: number[] = []
    if (dropping > 0) for (let i = 0; i < n; i++) if (drop[oldOwners[i]!] === 1) gone.push(i)
    const { packed, byId } = sortPacked(added)
    // Insertion place of each added point in the old arrays, before releasing slots (ids of old owners are read).
    const at = new Uint32Array(packed.length)
    for (let k = 0; k < packed.length; k++) {
      const value = packed[k]!
      const point = Math.floor(value / RANK_SCALE)
      const id = byId[value - point * RANK_SCALE]!.id
      let i = lowerBound(oldPoints, point)
      while (i < n && oldPoints[i] === point && this.#ids[oldOwners[i]!]! < id) i++
      at[k] = i
    }
    for (let slot = 0; slot < drop.length; slot++) if (drop[slot] === 1) this.#release(slot)
    const addedSlots = byId.map((m) => this.#allocate(m.id))

    const total = n - gone.length + packed.length
    const points = new Uint32Array(total)
    const owners = new Uint32Array(total)
    let src = 0
    let dst = 0
    let r = 0
    let a = 0
    for (;;) {
      const next = Math.min(r < gone.length ? gone[r]! : n, a < packed.length ? at[a]! : n)
      if (next > src) {
        points.set(oldPoints.subarray(src, next), dst)
        owners.set(oldOwners.subarray(src, next), dst)
        dst += next - src
        src = next
      }
      if (a < packed.length && at[a] === src) {
        const value = packed[a++]!
        const point = Math.floor(value / RANK_SCALE)
        points[dst] = point
        owners[dst++] = addedSlots[value - point * RANK_SCALE]!
      } else if (r < gone.length && gone[r] === src) {
        src++
        r++
      } else break
    }
    this.points = points
    this.owners = owners
  }

  #allocate(id: string): number {
    const slot = this.#free.pop() ?? this.#ids.length
    this.#ids[slot] = id
    this.#slotOf.set(id, slot)
    return slot
  }

  #release(slot: number): void {
    const id = this.#ids[slot]
    if (id === undefined) return
    this.#slotOf.delete(id)
    this.#ids[slot] = undefined
    this.#free.push(slot)
  }
}

/** Index of the first element of sorted `ids` that is not below `id`. */
function sortedIndex(ids: readonly string[], id: string): number {
  let lo = 0
  let hi = ids.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (ids[mid]! < id) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Inserts `id` into sorted `ids` (O(n) move, no re-sort). */
export function sortedInsert(ids: string[], id: string): void {
  ids.splice(sortedIndex(ids, id), 0, id)
}

/** Deletes `id` from sorted `ids` if present. */
export function sortedDelete(ids: string[], id: string): void {
  const at = sortedIndex(ids, id)
  if (ids[at] === id) ids.splice(at, 1)
}
