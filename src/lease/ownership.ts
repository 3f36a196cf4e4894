/**
 * Since when has this peer owned a lease name? The takeover guard of the lease owner needs it: a peer that became
 * the owner of a name recently must not grant it until any lease granted by a previous owner must have expired.
 *
 * Keeps the ring's member sets of the last `windowMs` (plus the one in force at the start of the window) with the
 * time each took effect here. `ownedSince(name)` walks back from the newest set while this peer is the name's
 * primary owner; a run that reaches back past the window counts as "long enough". A peer's first set is recorded at
 * start, so a restarted peer waits too (it may have granted leases before it crashed).
 *
 * @module
 */
import { createHashRing, type HashRing } from '../ring/hash-ring.js'

/** Options of {@link createOwnershipHistory}. */
export interface OwnershipHistoryInit {
  self: string
  /** How far back ownership matters (the takeover guard), in ms. */
  windowMs: number
  /** Virtual nodes of the mesh ring (must match it). Default: the ring default. */
  vnodes?: number
  /** Monotonic clock in ms. Default `performance.now`. */
  now?: () => number
}

/** Ownership history of one peer. */
export interface OwnershipHistory {
  /** Records the ring's members (with weights) as in force from now on. */
  record(members: ReadonlyArray<readonly [string, number]>): void
  /**
   * The (monotonic) time since which this peer has continuously been the primary owner of `name`, or
   * `Number.NEGATIVE_INFINITY` if that is longer than the window. `undefined` if it is not the owner now.
   */
  ownedSince(name: string): Promise<number | undefined>
}

/** Creates an ownership history. Record the first member set right away. */
export function createOwnershipHistory(init: OwnershipHistoryInit): OwnershipHistory {
  return new History(init)
}

interface Entry {
  at: number
  members: ReadonlyArray<readonly [string, number]>
  ring?: Promise<HashRing>
}

class History implements OwnershipHistory {
  readonly #init: OwnershipHistoryInit
  readonly #now: () => number
  #entries: Entry[] = []

  constructor(init: OwnershipHistoryInit) {
    this.#init = init
    this.#now = init.now ?? (() => performance.now())
  }

  record(members: ReadonlyArray<readonly [string, number]>): void {
    const now = this.#now()
    this.#entries.push({ at: now, members: [...members] })
    // Keep the entries of the window plus the newest one older than it (the set in force when the window opened).
    const cutoff = now - this.#init.windowMs
    let firstInWindow = this.#entries.findIndex((e) => e.at >= cutoff)
    if (firstInWindow < 0) firstInWindow = this.#entries.length
    if (firstInWindow > 1) this.#entries = this.#entries.slice(firstInWindow - 1)
  }

  async ownedSince(name: string): Promise<number | undefined> {
    const entries = this.#entries
    let since: number | undefined
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]!
      entry.ring ??= createHashRing({
        members: entry.members,
        ...(this.#init.vnodes === undefined ? {} : { vnodes: this.#init.vnodes }),
      })
      if ((await entry.ring).primaryOf(name) !== this.#init.self) break
      since = entry.at
      // Owned at the start of the window already: long enough. (The very first entry is this peer's start.)
      if (i === 0 && entry.at < this.#now() - this.#init.windowMs) return Number.NEGATIVE_INFINITY
    }
    return since
  }
}
