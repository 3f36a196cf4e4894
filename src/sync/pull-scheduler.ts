/**
 * The pull scheduler: the ONE owner of every reason to run a catch-up pull, and of how pulls are queued.
 *
 * Triggers (each one a call of {@link PullScheduler.requestPull}, by the wiring, from the event that causes it):
 * - a new connection to a peer that speaks the catch-up protocol (libp2p `peer:identify`, subscribed here);
 * - a gossip `announce` (a change too large for one message);
 * - a `gap` of the ingest pipeline (an applied gossip update left pending structs: an earlier one was lost);
 * - the catch-up protocol's `ahead` (a peer that pulled from us holds changes we lack);
 * - `syncNow()`;
 * - anti-entropy: one peer among `candidates()` every `antiEntropyMs` (±25 % jitter), so a peer that missed messages
 *   converges without depending on luck (subscribed here). The period is adaptive: it holds while this peer's document
 *   changed within the last {@link ACTIVE_ROUNDS} rounds ({@link PullScheduler.noteActivity}), then doubles every quiet
 *   round up to `maxAntiEntropyMs`, and drops back at the next change. A quiet mesh has nothing to repair, and a peer
 *   that missed a change is still reached at the base rate: every peer that did apply it pulls from random peers,
 *   and an exchange heals both sides (the catch-up protocol's `ahead`), so the peer that missed it is picked about
 *   once a period for {@link ACTIVE_ROUNDS} periods (missed by all with probability about e^-6), then at the slow rate.
 *   With a writer set nobody pulls from a peer that may not write, so such a peer keeps the base period
 *   (`mayBackOff`).
 *
 * Guarantees: pulls are de-duplicated per peer (a request while one is queued or running makes it run once more after,
 * never twice in parallel) and at most `concurrency` run at once, so a peer that connects to many others fetches the
 * full state once, then small diffs. While held (`hold(promise)`: a joiner taking its first state in parts,
 * `join-sync.ts`) queued pulls wait and anti-entropy skips its rounds; then they run, as diffs.
 *
 * Does NOT guarantee: that a pull succeeds (failures are logged; the next trigger tries again).
 *
 * @module
 */
import { type Clock, type Random, systemClock, type TimerHandle } from '../clock.js'
import type { MeshLogger } from '../logger.js'
import type { Transport } from '../transport/transport.js'

/** Default anti-entropy period (each round adds up to ±25 % jitter). */
export const DEFAULT_ANTI_ENTROPY_MS = 5_000
/** Default longest anti-entropy period of a quiet peer (the period doubles from `antiEntropyMs` up to this). */
export const DEFAULT_MAX_ANTI_ENTROPY_MS = 60_000
/** Anti-entropy rounds at the base period after this peer's document last changed. */
export const ACTIVE_ROUNDS = 6
/** Default number of pulls in flight at once. */
export const DEFAULT_PULL_CONCURRENCY = 2

/** Options of {@link createPullScheduler}. */
export interface PullSchedulerInit {
  /** The network whose new connections (identified peers) trigger a pull. */
  transport: Transport
  /** Time and timers. Default: the system clock. */
  clock?: Clock
  /** Anti-entropy jitter and the default peer choice. Default `Math.random`. */
  random?: Random
  /** The catch-up protocol id: a new connection triggers a pull when the peer speaks it. */
  protocol: string
  /** Runs one pull from `peerId` (the catch-up protocol's `pull`); rejects on failure. */
  pull: (peerId: string) => Promise<unknown>
  logger: MeshLogger
  /** Peers an anti-entropy round may pull from (mesh members that are connected). Default: every connected peer. */
  candidates?: () => string[]
  /** Chooses the peer of an anti-entropy round among the candidates. Default: uniform random. */
  choosePeer?: (candidates: string[]) => string | undefined
  /** Default {@link DEFAULT_ANTI_ENTROPY_MS}; 0 disables the periodic round. */
  antiEntropyMs?: number
  /**
   * Whether this peer's anti-entropy may slow down while quiet (see the module header): only while other peers pull
   * from it too, so those that applied a change it missed reach it (with a writer set nobody pulls from a peer that
   * may not write: it keeps the base period). Default: always.
   */
  mayBackOff?: () => boolean
  /**
   * Longest period of a quiet peer (see the module header). Default {@link DEFAULT_MAX_ANTI_ENTROPY_MS}, and never
   * below `antiEntropyMs` (equal to it: a fixed period).
   */
  maxAntiEntropyMs?: number
  /** Default {@link DEFAULT_PULL_CONCURRENCY}. */
  concurrency?: number
}

/** The pull scheduler of one mesh. */
export interface PullScheduler {
  start(): void
  stop(): void
  /** Queues a pull from `peerId` (de-duplicated); resolves when that pull finished (never rejects). */
  requestPull(peerId: string): Promise<void>
  /** Until `until` settles, queued pulls wait (and anti-entropy skips its rounds); then they run. */
  hold(until: Promise<void>): void
  /**
   * This peer's document changed (a local write or an applied remote update): anti-entropy runs at its base period
   * for the next {@link ACTIVE_ROUNDS} rounds (a round due later than one base period from now is brought forward).
   */
  noteActivity(): void
}

/** Creates the scheduler. */
export function createPullScheduler(init: PullSchedulerInit): PullScheduler {
  return new Scheduler(init)
}

interface QueuedPull {
  promise: Promise<void>
  again: boolean
}

class Scheduler implements PullScheduler {
  private readonly init: PullSchedulerInit
  private readonly antiEntropyMs: number
  private readonly maxAntiEntropyMs: number
  /** Anti-entropy rounds since the document last changed. */
  private quietRounds = 0
  /** When the next anti-entropy round is due (clock ms). */
  private dueAt = Number.POSITIVE_INFINITY
  private readonly concurrency: number
  private readonly queued = new Map<string, QueuedPull>()
  private active = 0
  private readonly waiting: Array<() => void> = []
  private timer: TimerHandle | undefined
  private readonly clock: Clock
  private readonly random: Random
  private running = false
  private held: Promise<void> | undefined
  private readonly onIdentify = (evt: CustomEvent<{ peerId: string; protocols: string[] }>): void => {
    if (evt.detail.protocols.includes(this.init.protocol)) void this.requestPull(evt.detail.peerId)
  }

  constructor(init: PullSchedulerInit) {
    this.init = init
    this.antiEntropyMs = init.antiEntropyMs ?? DEFAULT_ANTI_ENTROPY_MS
    this.maxAntiEntropyMs = Math.max(this.antiEntropyMs, init.maxAntiEntropyMs ?? DEFAULT_MAX_ANTI_ENTROPY_MS)
    this.concurrency = init.concurrency ?? DEFAULT_PULL_CONCURRENCY
    this.clock = init.clock ?? systemClock
    this.random = init.random ?? Math.random
  }

  start(): void {
    this.running = true
    this.init.transport.addEventListener('peer:identify', this.onIdentify)
    this.scheduleAntiEntropy()
  }

  stop(): void {
    this.running = false
    this.clock.clearTimeout(this.timer)
    this.init.transport.removeEventListener('peer:identify', this.onIdentify)
    for (const wake of this.waiting.splice(0)) wake()
  }

  requestPull(peerId: string): Promise<void> {
    const existing = this.queued.get(peerId)
    if (existing !== undefined) {
      existing.again = true
      return existing.promise
    }
    const entry: QueuedPull = { promise: Promise.resolve(), again: false }
    entry.promise = (async () => {
      try {
        do {
          entry.again = false
          while (this.held !== undefined && this.running) await this.held
          await this.acquire()
          try {
            if (!this.running) return
            await this.init.pull(peerId)
          } catch (err) {
            this.init.logger.debug(`catch-up with ${peerId} failed: ${(err as Error).message}`)
          } finally {
            this.release()
          }
        } while (entry.again && this.running)
      } finally {
        this.queued.delete(peerId)
      }
    })()
    this.queued.set(peerId, entry)
    return entry.promise
  }

  hold(until: Promise<void>): void {
    const held: Promise<void> = until.then(
      () => {},
      () => {},
    )
    this.held = held
    void held.then(() => {
      if (this.held === held) this.held = undefined
    })
  }

  noteActivity(): void {
    this.quietRounds = 0
    if (this.antiEntropyMs <= 0 || !this.running) return
    // a quiet peer's next round may be a minute away: bring it within one base period
    if (this.dueAt - this.clock.now() > this.antiEntropyMs * 1.25) {
      this.clock.clearTimeout(this.timer)
      this.scheduleAntiEntropy()
    }
  }

  /** The next round's period: the base while active, then doubling per quiet round up to the maximum. */
  private period(): number {
    if (this.init.mayBackOff?.() === false) return this.antiEntropyMs
    const doublings = Math.max(0, this.quietRounds - ACTIVE_ROUNDS + 1)
    return Math.min(this.maxAntiEntropyMs, this.antiEntropyMs * 2 ** Math.min(doublings, 30))
  }

  private scheduleAntiEntropy(): void {
    if (this.antiEntropyMs <= 0 || !this.running) return
    const delay = this.period() * (0.75 + this.random() * 0.5)
    this.dueAt = this.clock.now() + delay
    this.timer = this.clock.setTimeout(() => {
      this.dueAt = Number.POSITIVE_INFINITY
      if (this.held !== undefined) {
        this.scheduleAntiEntropy()
        return
      }
      this.quietRounds++
      const candidates = this.init.candidates?.() ?? this.connectedPeers()
      const choose = this.init.choosePeer ?? ((c: string[]) => c[Math.floor(this.random() * c.length)])
      const peer = candidates.length > 0 ? choose(candidates) : undefined
      if (peer !== undefined) void this.requestPull(peer)
      this.scheduleAntiEntropy()
    }, delay)
  }

  private connectedPeers(): string[] {
    return this.init.transport.connections()
  }

  private acquire(): Promise<void> {
    if (this.active < this.concurrency) {
      this.active++
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      this.waiting.push(() => {
        this.active++
        resolve()
      })
    })
  }

  private release(): void {
    this.active--
    this.waiting.shift()?.()
  }
}
