/**
 * Ring-served first sync: a joining peer takes its first full state from its ring owners, in parts, instead of
 * from whichever neighbours it happened to meet first.
 *
 * Without this, every joiner pulls the whole document from the first peers it connects to (usually its bootstrap
 * peer), so ten peers joining at once cost that one peer ten full copies. With it:
 *
 * 1. The joiner holds every catch-up pull (`CatchUp.hold`) until its first state is complete.
 * 1a. As soon as a ready member is connected (its bootstrap peer, usually), it fetches from it the first of
 *    {@link PROBE_PARTS} slices. Parts of a small reply are not split (`sync/parts.ts`: under two `minPartWeight`
 *    of weight, slice 0 holds everything), so if what it holds now weighs less than one `minPartWeight`, the slice
 *    was the whole document and the join is complete after one fetch: no waiting for the view, no dial to the other
 *    owners. (Without it, an empty mesh of 40 peers forming on a loaded machine made each joiner dial ~20 members
 *    for empty slices: 317 of those dials timed out, and formation took a third more CPU than with the probe; a
 *    peer restarted with an empty data dir in the churn suite waited for the slowest of its 7 slices.) Should the
 *    weights disagree, nothing is lost: the catch-up pulls released at the end fill any gap. A larger document keeps
 *    that 1/64th (the slices below are cut against the state vector after it) and goes on:
 * 2. It waits until it knows the mesh: at least one *ready* member (one that has its first state; heartbeats carry
 *    the flag) and as many members as the ready members say they see (`meshSize` in their heartbeats), or 90 % of
 *    them and no membership change for `settleMs`; or `timeoutMs` after its first connection at the latest.
 * 3. It splits its first state into `parts` slices (`sync/parts.ts`) and places them, together with the slices
 *    of every other joiner it can see, on the ready members with a bounded-load hash ring ({@link HashRing.assign},
 *    member weights, `epsilon`). Joiners that see the same membership compute the same placement, so no ready
 *    member gets more than `ceil((1 + epsilon) * its fair share)` slices; a single joiner spreads over `parts`
 *    owners.
 * 4. It fetches the slices concurrently (a failed owner is replaced by the next one clockwise), applies them in
 *    order, and falls back to one whole pull from any connected member if a slice cannot be fetched at all.
 * 5. It becomes ready, says so in its next heartbeat (sent at once), and releases the held pulls: one per
 *    connected peer, each now a small diff that also fills any gap between slices.
 *
 * What it costs: the first state arrives once the joiner knows the membership (a round trip of early heartbeats,
 * see `membership.ts`) plus `settleMs`, rather than right after the first connection. What it does not guarantee: balance when joiners' views differ (they then
 * compute slightly different placements; every slice is still fetched exactly once).
 *
 * @module
 */

import { type Clock, systemClock } from '../clock.js'
import type { Membership } from '../membership/membership.js'
import { createHashRing, type HashRing } from '../ring/hash-ring.js'
import { clampWeight } from '../ring/weight.js'
import { DialRefusedError } from '../transport/errors.js'
import { DEFAULT_MIN_PART_WEIGHT, MAX_SYNC_PARTS, type SyncPart } from './parts.js'

/**
 * Default most slices a joiner's first state is split into (fewer when fewer members are ready; the responders also
 * send fewer non-empty slices for a small document, see `sync/parts.ts`).
 */
export const DEFAULT_JOIN_PARTS = 32
/** Default bounded-load slack of the slice placement. */
export const DEFAULT_JOIN_EPSILON = 0.1
/** Fraction of the members a ready member sees that a joiner must know before it plans its slices. */
const KNOWN_FRACTION = 0.9
/** Attempts at a slice's chosen member before trying others. */
const PREFERRED_ATTEMPTS = 3
/** Passes over a slice's other candidate owners before falling back to a whole pull. */
const FETCH_PASSES = 3
/** Slices of the split whose first slice the joiner fetches from a connected ready member first (step 1a). */
export const PROBE_PARTS = MAX_SYNC_PARTS

/** Options of the join sync, as given to `createMesh({ ring: { joinSync } })`. */
export interface JoinSyncOptions {
  /** Slices of the first state (1..64). Default {@link DEFAULT_JOIN_PARTS}. */
  parts?: number
  /** Bounded-load slack of the slice placement. Default {@link DEFAULT_JOIN_EPSILON}. */
  epsilon?: number
  /** Quiet time of the membership before planning, in ms. Default: a quarter of the heartbeat period. */
  settleMs?: number
  /** Longest wait for a settled view with a ready member after the first connection, in ms. Default 6 heartbeats. */
  timeoutMs?: number
  /**
   * Fetch the first of {@link PROBE_PARTS} slices from a connected ready member before planning, and stop there when
   * the document fits in it (see the module documentation, step 1a). Default `true`.
   */
  probe?: boolean
}

/** Options of {@link createJoinSync}. */
export interface JoinSyncInit extends JoinSyncOptions {
  /** This peer's id. */
  self: string
  /** Live membership (readiness, weights, `meshSize`, connectivity). */
  membership: Membership
  /** Whether this peer must join; `false` for a peer that starts a mesh (it is ready at once). */
  joining: boolean
  /** Time and timers of every wait and deadline (virtual time in simulations). Default: the system clock. */
  clock?: Clock
  /** Heartbeat period, for the defaults of `settleMs` and `timeoutMs`. */
  heartbeatMs: number
  /** Virtual nodes of the placement ring. Default: the ring's default. */
  vnodes?: number
  /** Connects to a member (no-op if connected); rejects if it cannot, with `DialRefusedError` when nothing listens. */
  connect(peerId: string): Promise<void>
  /** This peer's document state vector now (the slices of one plan are all cut against the one taken at planning). */
  stateVector(): Uint8Array
  /** Fetches one slice, cut against `stateVector`, from a member; rejects on failure. */
  fetchPart(peerId: string, part: SyncPart, stateVector: Uint8Array): Promise<Uint8Array>
  /** Applies a fetched slice; returns `false` if it was refused. */
  apply(update: Uint8Array, from: string): boolean
  /**
   * Weight of this peer's document as the responders weigh parts (`documentWeight` of `sync/parts.ts`), counted up to
   * `stopAt` at least. Without it, the probe (step 1a) is skipped.
   */
  weight?(stopAt: number): number
  /** Pulls (and applies) everything missing from one member; rejects on failure. */
  pullWhole(peerId: string): Promise<void>
  /** Called once this peer is ready. */
  onReady?(): void
  /** Where progress lines go. */
  logger: { debug(msg: string): void; info(msg: string): void }
}

/** Counters of the join sync. */
export interface JoinSyncCounters {
  /** Slices fetched and applied. */
  parts: number
  /** Slice fetches that failed (each then tried on the next owner). */
  partFailures: number
  /** Whole pulls made because slices could not be fetched or no member was ready. */
  fallbacks: number
  /** First slices fetched from a connected ready member before planning (step 1a; 0 or 1). */
  probes: number
  /** Whether that first slice held the whole document (the join ended there). */
  probeComplete: boolean
  /** Time from start to ready, in ms (0 until ready, or when this peer did not join). */
  joinMs: number
}

/** The join sync of one mesh peer. */
export interface JoinSync {
  /** Whether this peer holds its first full state. */
  readonly ready: boolean
  /** Resolves once ready (or stopped); never rejects. */
  readonly done: Promise<void>
  /** Slices, failures, fallbacks, time to ready. */
  readonly counters: JoinSyncCounters
  /** Starts joining (no-op for a peer that is ready at once). */
  start(): void
  /** Stops; `done` resolves (with `ready` still false if the join did not finish). */
  stop(): void
}

/** Creates the join sync; call `start()` after the catch-up protocol and membership run. */
export function createJoinSync(init: JoinSyncInit): JoinSync {
  return new JoinSyncImpl(init)
}

class JoinSyncImpl implements JoinSync {
  readonly counters: JoinSyncCounters = {
    parts: 0,
    partFailures: 0,
    fallbacks: 0,
    probes: 0,
    probeComplete: false,
    joinMs: 0,
  }
  readonly done: Promise<void>
  #ready: boolean
  #running = false
  #resolve!: () => void
  #lastChange = 0
  #wake: (() => void) | undefined
  readonly #clock: Clock
  #started: number
  readonly #init: JoinSyncInit
  readonly #parts: number
  readonly #epsilon: number
  readonly #settleMs: number
  readonly #timeoutMs: number
  /** Whether the probe (step 1a) is still to be made. */
  #probePending: boolean
  readonly #onMembership = (): void => {
    this.#lastChange = this.#clock.now()
    this.#wake?.()
  }

  constructor(init: JoinSyncInit) {
    this.#init = init
    this.#clock = init.clock ?? systemClock
    this.#started = this.#clock.now()
    this.#ready = !init.joining
    this.#parts = init.parts ?? DEFAULT_JOIN_PARTS
    this.#epsilon = init.epsilon ?? DEFAULT_JOIN_EPSILON
    this.#settleMs = init.settleMs ?? init.heartbeatMs / 4
    this.#timeoutMs = init.timeoutMs ?? 6 * init.heartbeatMs
    this.#probePending = (init.probe ?? true) && init.weight !== undefined
    this.done = new Promise<void>((resolve) => {
      this.#resolve = resolve
    })
    if (this.#ready) this.#resolve()
  }

  get ready(): boolean {
    return this.#ready
  }

  start(): void {
    if (this.#ready || this.#running) return
    this.#running = true
    this.#init.membership.addEventListener('change', this.#onMembership)
    this.#init.membership.addEventListener('update', this.#onMembership)
    void this.#run()
  }

  stop(): void {
    this.#running = false
    this.#init.membership.removeEventListener('change', this.#onMembership)
    this.#init.membership.removeEventListener('update', this.#onMembership)
    this.#wake?.()
    this.#resolve()
  }

  /** Sleeps up to `ms`, or until the membership changes or the join sync stops. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const clock = this.#clock
      const timer = clock.setTimeout(done, ms)
      function done(): void {
        clock.clearTimeout(timer)
        resolve()
      }
      this.#wake = done
    })
  }

  async #run(): Promise<void> {
    const started = this.#clock.now()
    this.#started = started
    while (this.#running && !this.#ready) {
      try {
        if (await this.#attempt()) break
      } catch (err) {
        this.#init.logger.debug(`join sync attempt failed: ${(err as Error).message}`)
      }
      await this.#sleep(this.#settleMs)
    }
    if (!this.#running) return
    this.#ready = true
    this.counters.joinMs = this.#clock.now() - started
    this.#init.membership.removeEventListener('change', this.#onMembership)
    this.#init.membership.removeEventListener('update', this.#onMembership)
    this.#init.logger.info(`first state complete in ${this.counters.joinMs} ms`)
    this.#init.onReady?.()
    this.#resolve()
  }

  /** One try: wait for a settled view, fetch the slices. Returns `true` when the first state is complete. */
  async #attempt(): Promise<boolean> {
    const { membership } = this.#init
    const connected = () => membership.peers().filter((p) => p.connected)
    while (this.#running && connected().length === 0) await this.#sleep(this.#settleMs)
    const firstContact = this.#clock.now()
    this.#lastChange = Math.max(this.#lastChange, firstContact)
    const servers = () => membership.peers().filter((p) => p.ready)
    for (;;) {
      if (!this.#running) return false
      if (this.#probePending) {
        const host = membership.peers().find((p) => p.connected && p.ready)
        if (host !== undefined && (await this.#probe(host.peerId))) return true
      }
      const now = this.#clock.now()
      if (now - firstContact >= this.#timeoutMs) break
      const knows = this.#knowsMesh(servers())
      if (knows === 'all' || (knows === 'most' && now - this.#lastChange >= this.#settleMs)) break
      await this.#sleep(Math.max(5, Math.min(this.#settleMs - (now - this.#lastChange), 50)))
    }
    const ready = servers()
    this.#init.logger.debug(
      `joining: first contact after ${firstContact - this.#started} ms, planning after ${this.#clock.now() - firstContact} ms ` +
        `more (${membership.memberIds().length} members known, ${ready.length} ready)`,
    )
    if (ready.length === 0) return this.#fallback(connected().map((p) => p.peerId))
    return this.#fetchSlices(
      ready.map((p) => [p.peerId, clampWeight(p.weight)] as const),
      membership.peers().filter((p) => !p.ready),
    )
  }

  /**
   * Step 1a: the first of {@link PROBE_PARTS} slices from `peerId`, applied. Returns `true` when it held the whole
   * document (what this peer holds now weighs less than one `minPartWeight`: slice 0 of a larger reply would weigh at
   * least that much). A failure only skips the step. Made once.
   */
  async #probe(peerId: string): Promise<boolean> {
    this.#probePending = false
    const part = { index: 0, count: PROBE_PARTS }
    try {
      const t0 = this.#clock.now()
      const update = await this.#init.fetchPart(peerId, part, this.#init.stateVector())
      if (!this.#running || !this.#init.apply(update, peerId)) return false
      this.counters.probes++
      const weight = this.#init.weight!(DEFAULT_MIN_PART_WEIGHT)
      const complete = weight < DEFAULT_MIN_PART_WEIGHT
      this.counters.probeComplete = complete
      this.#init.logger.debug(
        `joining: first slice of ${PROBE_PARTS} from ${peerId}: ${update.length} bytes in ${this.#clock.now() - t0} ms` +
          (complete ? ', the whole document' : ', more to fetch'),
      )
      return complete
    } catch (err) {
      this.#init.logger.debug(`joining: first slice from ${peerId} failed: ${(err as Error).message}`)
      return false
    }
  }

  /**
   * How much of the mesh this joiner knows, compared with what its ready members say they see: `'all'` (at least as
   * many members), `'most'` ({@link KNOWN_FRACTION} of them), or `'not yet'` (also with no ready member).
   */
  #knowsMesh(ready: ReadonlyArray<{ meshSize: number }>): 'all' | 'most' | 'not yet' {
    if (ready.length === 0) return 'not yet'
    // SWIM announces no mesh size, but a merged table holds every member its sender knew: no need to wait for quiet
    if (this.#init.membership.hasFullView?.() === true) return 'all'
    const seen = Math.max(...ready.map((p) => p.meshSize))
    const known = this.#init.membership.memberIds().length
    if (seen > 0 && known >= seen) return 'all'
    return known >= Math.floor(KNOWN_FRACTION * seen) ? 'most' : 'not yet'
  }

  async #fetchSlices(
    servers: ReadonlyArray<readonly [string, number]>,
    otherJoiners: ReadonlyArray<{ peerId: string }>,
  ): Promise<boolean> {
    const count = Math.max(1, Math.min(this.#parts, servers.length))
    const ring = await createHashRing({
      ...(this.#init.vnodes === undefined ? {} : { vnodes: this.#init.vnodes }),
      boundedLoad: { epsilon: this.#epsilon },
      members: servers,
    })
    const candidates = this.#placeSlices(ring, servers, otherJoiners, count)
    // Every slice, retries included, is cut against this one state vector: slices are applied as they arrive, and
    // a retry cut against the grown vector would cover a different range (leaving gaps for the final diffs to fill).
    const sv = this.#init.stateVector()
    const fetches = candidates.map((owners, index) => this.#fetchOne(owners, { index, count }, sv))
    this.#init.logger.debug(
      `joining: ${count} slices from ${new Set(candidates.map((c) => c[0])).size} of ${servers.length} ready ` +
        `members (${otherJoiners.length + 1} joiners in view)`,
    )
    let complete = true
    for (const fetch of fetches) {
      const got = await fetch
      if (got === undefined || !this.#init.apply(got.update, got.from)) {
        complete = false
        continue
      }
      this.counters.parts++
    }
    if (complete) return true
    return this.#fallback(
      this.#init.membership
        .peers()
        .filter((p) => p.connected)
        .map((p) => p.peerId),
    )
  }

  /**
   * Candidate owners of each slice, preferred first. One slice per ready member when there are no more members than
   * slices and their weights are equal: slice `i` goes to the `i`-th member clockwise from this joiner's position,
   * so every member serves exactly one slice of every joiner whatever the joiners know of each other. Otherwise the
   * slices of every joiner in view are placed with bounded loads (member weights count), which balances as well as
   * the joiners' views agree.
   */
  #placeSlices(
    ring: HashRing,
    servers: ReadonlyArray<readonly [string, number]>,
    otherJoiners: ReadonlyArray<{ peerId: string }>,
    count: number,
  ): string[][] {
    const { self } = this.#init
    // Backups of a slice: every other ready member, clockwise from the chosen one (a slice is only given up, for a
    // whole pull, when no ready member serves it).
    const clockwiseFrom = (id: string): string[] => {
      const all = ring.ownerOf(id, servers.length)
      const at = all.indexOf(id)
      return [...all.slice(at), ...all.slice(0, at)]
    }
    if (count === servers.length && servers.every(([, w]) => w === servers[0]![1])) {
      const clockwise = ring.ownerOf(self, count)
      return clockwise.map((_, i) => [...clockwise.slice(i), ...clockwise.slice(0, i)])
    }
    const sliceKey = (joiner: string, index: number) => `${joiner}/join/${index}`
    const joiners = [self, ...otherJoiners.map((p) => p.peerId)]
    const placement = ring.assign(joiners.flatMap((j) => Array.from({ length: count }, (_, i) => sliceKey(j, i))))
    return Array.from({ length: count }, (_, index) => clockwiseFrom(placement.get(sliceKey(self, index))!))
  }

  async #fetchOne(
    candidates: string[],
    part: SyncPart,
    sv: Uint8Array,
  ): Promise<{ update: Uint8Array; from: string } | undefined> {
    // The chosen member first, a few times: dials fail transiently (a busy peer, a remote's inbound rate limit), and
    // moving on at once would pile slices onto whichever members happen to be connected already.
    // A refused connection (nothing listens at its address: the member died or is restarting, and membership has not
    // noticed yet) is not transient: the slice moves on at once.
    const [preferred, ...others] = candidates
    for (let attempt = 0; preferred !== undefined && attempt < PREFERRED_ATTEMPTS; attempt++) {
      if (attempt > 0) await this.#sleep(2 * this.#settleMs)
      const got = await this.#fetchPass([preferred], part, sv)
      if (got === 'refused') break
      if (got !== undefined || !this.#running) return got
    }
    // Then every other ready member, clockwise, a few passes; a whole pull is the last resort.
    for (let pass = 0; pass < FETCH_PASSES; pass++) {
      if (pass > 0) await this.#sleep(this.#settleMs)
      const got = await this.#fetchPass(others, part, sv)
      if (got === 'refused') continue
      if (got !== undefined || !this.#running) return got
    }
    return undefined
  }

  async #fetchPass(
    candidates: string[],
    part: SyncPart,
    sv: Uint8Array,
  ): Promise<{ update: Uint8Array; from: string } | 'refused' | undefined> {
    let refused = 0
    for (const peerId of candidates) {
      if (!this.#running) return undefined
      try {
        const t0 = this.#clock.now()
        try {
          await this.#init.connect(peerId)
        } catch (err) {
          if (err instanceof DialRefusedError) refused++
          throw err
        }
        const t1 = this.#clock.now()
        const update = await this.#init.fetchPart(peerId, part, sv)
        this.#init.logger.debug(
          `slice ${part.index}/${part.count} from ${peerId}: ${update.length} bytes (connect ${t1 - t0} ms, ` +
            `fetch ${this.#clock.now() - t1} ms)`,
        )
        return { update, from: peerId }
      } catch (err) {
        this.counters.partFailures++
        this.#init.logger.debug(`slice ${part.index}/${part.count} from ${peerId} failed: ${(err as Error).message}`)
      }
    }
    return refused > 0 && refused === candidates.length ? 'refused' : undefined
  }

  /** Whole pull from the first member that answers; `false` if none did. */
  async #fallback(peers: string[]): Promise<boolean> {
    for (const peerId of peers) {
      if (!this.#running) return false
      try {
        this.counters.fallbacks++
        await this.#init.pullWhole(peerId)
        return true
      } catch (err) {
        this.#init.logger.debug(`whole pull from ${peerId} failed: ${(err as Error).message}`)
      }
    }
    return false
  }
}
