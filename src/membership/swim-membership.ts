/**
 * Membership by SWIM (the default): the sans-IO state machine of `swim/swim.ts` driven by the mesh's Clock and
 * Random seams, its messages carried by `swim-links.ts`, behind the same {@link Membership} view the heartbeat
 * membership offers, so the ring, leases, join sync, `/v1/status`, the peers listing and metrics do not change.
 *
 * Guarantees:
 * - Cost per peer does not grow with N: one probe per period (ping + ack, k indirect probes on no answer), updates
 *   piggybacked (each sent O(log N) times), a push-pull of the whole table with one random member every 30 s
 *   (scaled with N; below 32 members more often, with connected members). See docs/membership.md for the bounds.
 * - Every live member (alive or suspect) is in `peers()` with the weight, tags, addresses, readiness and start time it
 *   announced; a member declared down (or that left) is dropped with a `change` event; a new metadata is an
 *   `update` event. A crashed member is dropped everywhere within `detectionBoundMs` of `swim/config.ts` (stated in
 *   docs/membership.md as a function of N and the period).
 * - Records about a member's metadata can only come from that member: with a signer, this peer signs its own
 *   `alive` records (Ed25519, its peer key) and, when `requireSignatures`, refuses `alive` records about others that
 *   are not signed by them (see THREAT_MODEL.md 3.8). Messages themselves come over authenticated streams.
 * - Discovery (`swim-discovery.ts`): as the heartbeat membership, live members are dialled until this peer holds
 *   `targetConnections` connections; while alone it re-dials its seeds; it pushes its table to a lost seed every 4 s.
 * - Probes go over connections first (`#reachable`); see docs/membership.md, "Wiring (as built)", item 5.
 *
 * @module
 */
import { TypedEventEmitter } from 'main-event'
import { type Clock, type Random, systemClock, type TimerHandle, timeoutSignal } from '../clock.js'
import type { MeshLogger } from '../logger.js'
import type { Transport } from '../transport/transport.js'
import { type KnownPeer, KnownPeers } from './known-peers.js'
import type { Member, Membership, MembershipEvents } from './member-view.js'
import { SWIM_LIMITS } from './swim/codec.js'
import type { SwimConfig } from './swim/config.js'
import type { SwimEffects, SwimEvent, SwimTimer } from './swim/effects.js'
import { type AliveUpdate, type MemberMeta, sameMeta } from './swim/member.js'
import { Swim } from './swim/swim.js'
import { DEFAULT_TARGET_CONNECTIONS, SwimDiscovery } from './swim-discovery.js'
import { SwimLinks, type SwimTraffic } from './swim-links.js'

/**
 * How often a member that is neither connected nor lost may be probed (dialled): every 500 ms per live member, times
 * `live / 32` beyond 32 members, within 5 s..5 min (16 s at 32 members, 156 s at 100). Each such probe opens a
 * connection (TCP, Noise, Yamux, identify, gossipsub, a catch-up pull: ~70 ms of CPU for both ends, two full peers in
 * one process, 30 connect/hang-up cycles; bench/RESULTS.md, fleet section): at a fixed 5 s it was most of an idle
 * peer's CPU in a mesh of 40 (0.2 dials per peer per second), and at 50 s (the 500 ms rule at 100 members) a fifth of
 * it in the 100-peer fleet. Every peer explores, so a given member is still explored by someone about once per period;
 * small meshes (where a far member may have no connection to this side of a partition at all) explore often, large ones
 * mostly rely on the suspicions spread by the peers that lost a connection to it, and on wide push-pulls, which dial
 * random members anyway: one whose dial fails is probed next period (`#markLost`). A push-pull that dials a live
 * member counts as an exploration (the period restarts, `#perform`), so where wide push-pulls come more often than
 * explorations (at 100 members: every 90 s against 156 s) a peer dials only for those.
 */
const EXPLORE_MIN_MS = 5_000
const EXPLORE_MAX_MS = 300_000
const EXPLORE_PER_MEMBER_MS = 500
/** Members beyond which the explore period grows with the square of the mesh (see {@link EXPLORE_PER_MEMBER_MS}). */
const EXPLORE_LINEAR_MEMBERS = 32
/** A disconnect this soon (ms) after its peer sent a release (or this peer closed it) is not a loss (`#lost`). */
const LET_GO_MS = 5_000
/** A peer that held connections and has had none for this long (ms) probes every member by dialling. */
const ISOLATED_MS = 2_000
/** A lost member is probed (dialled) for at most this long (ms) unless heard from or declared down first. */
const LOST_PROBE_MS = 30_000
/** A connection opened only for SWIM is closed once this peer opened no stream on it for this long (ms). */
const PROBE_IDLE_MS = 4_000
/** A member declared down is hung up on if it is still down this long (ms) after (see `#hangUpIfStillDown`). */
const DOWN_HANG_UP_MS = 10_000
/** A verdict timer this late (ms) waits as long again before it acts (see `#schedule`). */
const LATE_MS = 30
/** Longest such wait (ms). */
const MAX_DEFER_MS = 5_000
/** Timers whose firing judges another member. */
const VERDICTS: ReadonlySet<SwimTimer['kind']> = new Set(['probe', 'probe-timeout', 'relay-timeout', 'suspicion'])
/** Refusals logged per minute at most (a flood must not flood the log). */
const MAX_REFUSALS_LOGGED = 10

/** Signs and checks `alive` records (the member's own key). */
export interface AliveSigner {
  /** Signs this peer's record bytes. */
  sign(bytes: Uint8Array): Uint8Array
  /** Whether `signature` is `peerId`'s over `bytes`. */
  verify(peerId: string, bytes: Uint8Array, signature: Uint8Array): boolean
}

/** Options of {@link createSwimMembership}. */
export interface SwimMembershipInit {
  transport: Transport
  clock?: Clock
  random?: Random
  /** Protocol prefix, e.g. `/confmesh/<mesh>`: streams `<base>/swim/1` and `<base>/swim-sync/1`. */
  base: string
  logger: MeshLogger
  weight: number
  tags: Record<string, string>
  ready?: () => boolean
  /** Bootstrap and remembered addresses: joined at start, re-dialled while alone. */
  seedAddresses: () => string[]
  /** SWIM settings (defaults: `DEFAULT_SWIM_CONFIG`, or {@link swimConfigForTiming}). */
  config?: Partial<SwimConfig>
  maxConnections: number
  /** Default 12. */
  targetConnections?: number
  /** Default 1024. */
  maxKnownPeers?: number
  /** Cap of connections opened only to probe (least recently used closed first). Default `targetConnections`. */
  maxProbeConnections?: number
  /** Signs own `alive` records and checks others'. Default: none (records unsigned, unsigned ones accepted). */
  signer?: AliveSigner
  /** Refuse `alive` records that are not signed by their member. Default `false`. Needs `signer`. */
  requireSignatures?: boolean
  /** Push the table to one known peer that is not a live member this often (ms). Default 4 s. */
  reconnectMs?: number
}

/**
 * SWIM settings for the mesh's `timing` (`heartbeatMs` P, `memberTimeoutMs` T): probe period P/2, probe timeout
 * P/4, gossip every P/5, and the suspicion sized so that at up to 10 members a crashed peer is dropped well within
 * T + P even when Lifeguard has slowed the probers down (first probe, suspected a period later, a suspicion of at
 * most T - 3P/2 without confirmations, then spread). At the defaults (1 s, 4 s) that is period 500 ms,
 * suspicion 1.25 s .. 2.5 s at up to 10 members (2.5 s .. 5 s at 100).
 */
export function swimConfigForTiming(timing: { heartbeatMs?: number; memberTimeoutMs?: number }): Partial<SwimConfig> {
  const heartbeatMs = timing.heartbeatMs ?? 1_000
  const timeoutMs = timing.memberTimeoutMs ?? 4_000
  const p = Math.max(10, Math.round(heartbeatMs / 2))
  // suspicion between min = (T - 3P/2) / 2 and max = 2 min at up to 10 members (both times log10 N beyond)
  const suspicionMaxMult = 2
  const suspicionMult = Math.max(0.5, (timeoutMs - 3 * p) / (2 * p))
  return {
    probeIntervalMs: p,
    probeTimeoutMs: Math.max(5, Math.round(p / 2)),
    gossipIntervalMs: Math.max(5, Math.round((2 * p) / 5)),
    suspicionMult,
    suspicionMaxMult,
    refusedSuspicionMs: 2 * p,
  }
}

/** Creates the SWIM membership. */
export function createSwimMembership(init: SwimMembershipInit): SwimMembership {
  return new SwimMembership(init)
}

interface LiveMember {
  meta: MemberMeta
  lastSeen: number
}

/** Membership by SWIM. */
export class SwimMembership extends TypedEventEmitter<MembershipEvents> implements Membership {
  readonly #init: SwimMembershipInit
  readonly #clock: Clock
  readonly #random: Random
  readonly #swim: Swim
  readonly #links: SwimLinks
  readonly #self: string
  readonly #startedAt: number
  readonly #live = new Map<string, LiveMember>()
  readonly #everSeen: KnownPeers
  readonly #timers = new Set<TimerHandle>()
  /** Membership events emitted by the state machine, by type (a member seen up, suspected, declared down, updated). */
  readonly #events: Record<SwimEvent['type'], number> = { up: 0, suspect: 0, down: 0, updated: 0 }
  readonly #discovery: SwimDiscovery
  /**
   * Lost members -> since when: a live member whose connection closed without it (or this peer) letting go first: it
   * crashed, or a partition. Each stays probed, by dialling it, until it is heard from (alive: unless connected, no
   * longer probed by this peer), declared down (the suspicion a failed probe starts), or for {@link LOST_PROBE_MS}.
   * A connection a live peer closed on purpose (it sent a release first: an idle probe connection, `swim-links.ts`)
   * does not make it lost: a probe's connection answered with a probe would bounce between peers.
   */
  readonly #lost = new Map<string, number>()
  /** Peers that sent a release (they are closing the probe connection they opened to this one) -> when. */
  readonly #letGo = new Map<string, number>()
  /** Peers whose probe connection this peer closed -> when. */
  readonly #hungUp = new Map<string, number>()
  /** Since when this peer holds no connection, having held some (cut off); `undefined` while connected. */
  #isolatedSince: number | undefined
  readonly #onConnect = (evt: CustomEvent<string>): void => {
    this.#lost.delete(evt.detail)
    this.#isolatedSince = undefined
  }
  readonly #onDisconnect = (evt: CustomEvent<string>): void => {
    const id = evt.detail
    const now = this.#clock.now()
    if (this.#init.transport.connections().length === 0) this.#isolatedSince ??= now
    const letGo = this.#letGo.get(id)
    this.#letGo.delete(id)
    const hungUp = this.#hungUp.get(id)
    this.#hungUp.delete(id)
    if (hungUp !== undefined && now - hungUp <= LET_GO_MS) return
    if (letGo !== undefined && now - letGo <= LET_GO_MS) return // released: a prober closing its idle connection
    // a crash closes its connections at once: probe it next period, not when the round-robin reaches it
    this.#markLost(id, now)
  }
  /**
   * Makes `id`, if it is a live member this peer holds no connection to, a lost one: probed (by dialling) in the next
   * period. Called when its connection closed without a release, and when a push-pull's dial to it failed: wide
   * push-pulls dial random members anyway, so their failures find the members no peer of this side is connected to
   * (the far side of a partition) at no extra cost, which exploring did by dialling on purpose.
   */
  #markLost(id: string, now: number): void {
    if (!this.#live.has(id) || this.#init.transport.isConnected(id)) return
    this.#lost.set(id, now)
    this.#swim.probeSoon(id)
  }
  readonly #maxProbe: number
  #exploredAt = -Infinity
  #weight: number
  #running = false
  #refusalsLogged = 0
  #refusalWindow = 0

  constructor(init: SwimMembershipInit) {
    super()
    this.#init = init
    this.#clock = init.clock ?? systemClock
    this.#random = init.random ?? Math.random
    this.#self = init.transport.peerId
    this.#startedAt = Math.max(0, Math.floor(this.#clock.now()))
    this.#weight = init.weight
    this.#everSeen = new KnownPeers(init.maxKnownPeers)
    this.#maxProbe = init.maxProbeConnections ?? init.targetConnections ?? DEFAULT_TARGET_CONNECTIONS
    const signer = init.signer
    this.#swim = new Swim({
      id: this.#self,
      meta: this.#selfMeta(),
      ...(init.config === undefined ? {} : { config: init.config }),
      random: this.#random,
      reachable: (id: string) => this.#reachable(id),
      connected: (id: string) => this.#init.transport.isConnected(id),
      ...(signer === undefined
        ? {}
        : {
            sign: (bytes: Uint8Array) => signer.sign(bytes),
            verify: (u: AliveUpdate, bytes: Uint8Array) =>
              u.signature === undefined
                ? init.requireSignatures !== true
                : safeVerify(signer, u.id, bytes, u.signature),
          }),
    })
    this.#links = new SwimLinks({
      transport: init.transport,
      protocol: `${init.base}/swim/1`,
      syncProtocol: `${init.base}/swim-sync/1`,
      logger: init.logger,
      addressesOf: (id) => this.#addressesOf(id),
      onMessage: (from, bytes) => this.#onMessage(from, bytes),
      now: () => this.#clock.now(),
      onEvict: (id) => this.#hungUp.set(id, this.#clock.now()),
      onRelease: (id) => this.#letGo.set(id, this.#clock.now()),
      onUnreachable: (id) => {
        if (this.#running) this.#markLost(id, this.#clock.now())
      },
      onRefused: (id) => {
        if (!this.#running) return
        this.#swim.refused(id, this.#clock.now())
        this.#perform()
      },
      maxProbeConnections: this.#maxProbe,
    })
    this.#discovery = new SwimDiscovery({
      transport: init.transport,
      clock: this.#clock,
      random: this.#random,
      logger: init.logger,
      seedAddresses: init.seedAddresses,
      maxConnections: init.maxConnections,
      ...(init.targetConnections === undefined ? {} : { targetConnections: init.targetConnections }),
      ...(init.reconnectMs === undefined ? {} : { reconnectMs: init.reconnectMs }),
      live: () => this.#live.keys(),
      isLive: (id) => this.#live.has(id),
      addressesOf: (id) => this.#addressesOf(id),
      isProbeConnection: (id) => this.#links.isProbeConnection(id),
      keep: (id) => this.#links.keep(id),
      join: (id) => this.#join(id),
      onRound: () => {
        this.announce() // addresses or readiness may have changed
        this.#links.closeIdle(PROBE_IDLE_MS)
        const now = this.#clock.now()
        for (const [id, at] of this.#letGo) if (now - at > LET_GO_MS) this.#letGo.delete(id)
        for (const [id, at] of this.#hungUp) if (now - at > LET_GO_MS) this.#hungUp.delete(id)
        for (const [id, at] of this.#lost) if (now - at >= LOST_PROBE_MS || !this.#live.has(id)) this.#lost.delete(id)
      },
    })
  }

  /** The SWIM settings in use. */
  get config(): SwimConfig {
    return this.#swim.config
  }

  /** Traffic counters of the SWIM streams (messages, bytes, dials, evictions). */
  get traffic(): Readonly<SwimTraffic> {
    return this.#links.traffic
  }

  hasFullView(): boolean {
    return this.#swim.hasTable
  }

  /**
   * Counters for diagnostics and metrics: `events.up`, `events.suspect`, `events.down`, `events.updated` (members
   * this peer saw join, suspected, declared down, saw change), `incarnation` (how often this peer refuted a suspicion
   * of itself, plus its metadata changes), `health` (Lifeguard local health score, 0 = healthy), `pushPulls.<reason>`
   * (whole-table exchanges by reason, see `PushPullCounts`), and the SWIM links'
   * traffic (`sent`, `received`, `dropped`, `dials`, `evictions`).
   */
  counters(): Record<string, number> {
    const t = this.#links.traffic
    return {
      'events.up': this.#events.up,
      'events.suspect': this.#events.suspect,
      'events.down': this.#events.down,
      'events.updated': this.#events.updated,
      incarnation: this.#swim.incarnation,
      ...Object.fromEntries(Object.entries(this.#swim.pushPulls).map(([why, n]) => [`pushPulls.${why}`, n])),
      health: this.#swim.healthScore,
      sent: t.sent,
      received: t.received,
      dropped: t.dropped,
      dials: t.dials,
      evictions: t.evictions,
    }
  }

  /** Lifeguard local health score (0 = healthy). */
  get healthScore(): number {
    return this.#swim.healthScore
  }

  /** Every member SWIM knows (suspects and down tombstones included), for diagnostics. */
  states(): Array<{ id: string; state: string; incarnation: number }> {
    return this.#swim.members().map((m) => ({ id: m.id, state: m.state, incarnation: m.incarnation }))
  }

  async start(): Promise<void> {
    if (this.#running) return
    this.#running = true
    this.#init.transport.addEventListener('peer:connect', this.#onConnect)
    this.#init.transport.addEventListener('peer:disconnect', this.#onDisconnect)
    await this.#links.start()
    const now = this.#clock.now()
    this.#exploredAt = now - this.#random() * EXPLORE_MIN_MS // peers started together do not explore together
    this.#swim.start(now)
    this.#swim.join([...this.#discovery.seeds().keys()], now)
    this.#perform()
    this.#discovery.start()
  }

  async stop(): Promise<void> {
    if (!this.#running) return
    this.#running = false
    this.#discovery.stop()
    const now = this.#clock.now()
    this.#swim.leave(now)
    // Spread the goodbye now: a few gossip rounds at once (each to `gossipFanout` members, while it is queued).
    for (let i = 0; i < 3; i++) this.#swim.handleTimer({ kind: 'gossip' }, now)
    this.#perform(true)
    for (const t of this.#timers) this.#clock.clearTimeout(t)
    this.#timers.clear()
    await this.#links.flush(timeoutSignal(this.#clock, 1_000))
    await this.#links.stop()
    this.#init.transport.removeEventListener('peer:connect', this.#onConnect)
    this.#init.transport.removeEventListener('peer:disconnect', this.#onDisconnect)
  }

  peers(): Member[] {
    return [...this.#live.keys()].sort().map((id) => this.#member(id)!)
  }

  memberIds(): string[] {
    return [this.#self, ...this.#live.keys()].sort()
  }

  get(peerId: string): Member | undefined {
    if (peerId === this.#self) {
      const meta = this.#swim.meta
      return { peerId, ...meta, lastSeen: this.#clock.now(), connected: true, meshSize: this.#swim.size }
    }
    return this.#member(peerId)
  }

  knownAddresses(): string[] {
    return this.#everSeen.addresses()
  }

  knownPeers(): KnownPeer[] {
    return this.#everSeen.peers()
  }

  setWeight(weight: number): void {
    if (weight === this.#weight) return
    this.#weight = weight
    this.safeDispatchEvent('update', { detail: { peerId: this.#self, changed: ['weight'] } })
    this.announce()
  }

  announce(): void {
    const meta = this.#selfMeta()
    if (sameMeta(meta, this.#swim.meta)) return
    this.#swim.setMeta(meta, this.#clock.now())
    if (this.#running) this.#perform()
  }

  /**
   * Whom the state machine may probe, use as a relay or gossip to: connected members, lost ones (see
   * {@link SwimMembership.#lost}), every member once this peer has been cut off from all for {@link ISOLATED_MS}
   * (members it was never connected to go down too), and one other member per explore period
   * ({@link EXPLORE_PER_MEMBER_MS}), so a member no peer of this side is connected to (the far side of a partition)
   * is still probed and declared down in the end. Members not yet
   * connected are not probed otherwise: the dial would count against the probe timeout (false suspicions while a
   * mesh forms on a loaded machine); discovery connects them.
   */
  #reachable(id: string): boolean {
    if (this.#init.transport.isConnected(id)) return true
    const now = this.#clock.now()
    const lostAt = this.#lost.get(id)
    if (lostAt !== undefined) {
      if (now - lostAt < LOST_PROBE_MS) return true
      this.#lost.delete(id)
    }
    // cut off from every peer: probe every member by dialling, so members it was never connected to go down too
    if (this.#isolatedSince !== undefined && now - this.#isolatedSince >= ISOLATED_MS) return true
    const live = this.#live.size
    const exploreMs = Math.min(
      EXPLORE_MAX_MS,
      Math.max(EXPLORE_MIN_MS, EXPLORE_PER_MEMBER_MS * live * Math.max(1, live / EXPLORE_LINEAR_MEMBERS)),
    )
    if (now - this.#exploredAt < exploreMs) return false
    this.#exploredAt = now
    return true
  }

  #member(id: string): Member | undefined {
    const m = this.#live.get(id)
    if (m === undefined) return undefined
    const { weight, tags, addresses, ready, startedAt } = m.meta
    return {
      peerId: id,
      weight,
      tags,
      addresses,
      ready,
      startedAt,
      lastSeen: m.lastSeen,
      connected: this.#init.transport.isConnected(id),
      meshSize: 0,
    }
  }

  /** This peer's metadata, within the codec's limits (longer tags and addresses are left out, not sent and refused). */
  #selfMeta(): MemberMeta {
    const L = SWIM_LIMITS
    const bytes = (s: string): number => Buffer.byteLength(s)
    const addresses = this.#init.transport
      .addresses()
      .filter((a) => bytes(a) <= L.maxAddressBytes)
      .slice(0, L.maxAddresses)
    const tags: Record<string, string> = {}
    for (const [k, v] of Object.entries(this.#init.tags).slice(0, L.maxTags)) {
      if (bytes(k) <= L.maxTagKeyBytes && bytes(v) <= L.maxTagValueBytes) tags[k] = v
    }
    return { weight: this.#weight, tags, addresses, ready: this.#init.ready?.() ?? true, startedAt: this.#startedAt }
  }

  #onMessage(from: string, bytes: Uint8Array): void {
    if (!this.#running) return
    const now = this.#clock.now()
    const m = this.#live.get(from)
    if (m !== undefined) m.lastSeen = now
    // heard from over a live connection: alive (a message read from a closed connection's buffer says nothing new)
    if (this.#lost.has(from) && this.#init.transport.isConnected(from)) this.#lost.delete(from)
    this.#swim.handleMessage(from, bytes, now)
    this.#perform()
  }

  #perform(stopping = false): void {
    const fx: SwimEffects = this.#swim.drain()
    for (const s of fx.sends) {
      // A push-pull that has to dial a live member reaches one no connection leads to, as an exploring probe would: it
      // counts as this period's exploration (one dial, not two; at 100 members wide push-pulls come every 90 s). Not
      // one to a down member (a reconnect attempt): during a partition those come every few seconds, and counting them
      // starved exploring (a 3/3 split of 6 real peers took up to 58 s to drop the other side instead of 2-7 s).
      if (s.stream && this.#live.has(s.to) && !this.#init.transport.isConnected(s.to))
        this.#exploredAt = this.#clock.now()
      this.#links.send(s.to, s.bytes, s.stream)
    }
    if (!stopping) for (const t of fx.timers) this.#schedule(t.at, t.timer)
    for (const e of fx.events) this.#onEvent(e)
    for (const r of fx.refused) this.#logRefusal(r.from, r.error.message)
  }

  /**
   * Schedules a timer of the machine. A verdict timer (probe timeout, the next period's probe, which ends the last one,
   * relay timeout, suspicion) that fires more than {@link LATE_MS} late means this peer's event loop was stalled, and
   * the answers that arrived meanwhile are still unread in its sockets: it waits as long again (once, at most
   * {@link MAX_DEFER_MS}) so they are read first (Lifeguard's point: a slow peer must not blame others for its own
   * slowness). Lateness counts from when the timer could first fire: a deadline already past when it is set (a
   * suspicion shortened by confirmations) is due at once, not late. Late timers also feed the local health
   * ({@link Swim.noteStall}).
   */
  #schedule(at: number, timer: SwimTimer, deferred = false): void {
    const due = Math.max(at, this.#clock.now())
    const handle = this.#clock.setTimeout(
      () => {
        this.#timers.delete(handle)
        if (!this.#running) return
        const now = this.#clock.now()
        const late = now - due
        if (late > LATE_MS) this.#swim.noteStall(late, now)
        if (!deferred && late > LATE_MS && VERDICTS.has(timer.kind)) {
          this.#schedule(now + Math.min(late, MAX_DEFER_MS), timer, true)
          return
        }
        // Node may fire a timer a millisecond before the wall clock reaches it: the machine gets at least `at`, or it
        // would find the timer not yet due (a suspicion not expired) and drop it.
        this.#swim.handleTimer(timer, Math.max(now, at))
        this.#perform()
      },
      Math.max(0, at - this.#clock.now()),
    )
    this.#timers.add(handle)
  }

  #onEvent(e: SwimEvent): void {
    this.#events[e.type]++
    const { id, meta } = e.member
    const now = this.#clock.now()
    if (meta.addresses.length > 0 && e.type !== 'down') this.#everSeen.see(id, meta.addresses, now)
    const known = this.#live.get(id)
    if (e.type === 'down') {
      this.#lost.delete(id)
      // its connection may be half-open (the host vanished): libp2p's connection monitor is off (libp2p-node.ts), so
      // the failure detector closes it, if the member is still down a while later: one declared down by mistake (a
      // loaded machine) refutes over that very connection meanwhile, instead of reconnecting under the same load.
      this.#hangUpIfStillDown(id)
      if (known === undefined) return
      this.#live.delete(id)
      this.#emitChange([], [id])
      return
    }
    if (known === undefined) {
      this.#live.set(id, { meta, lastSeen: now })
      this.#emitChange([id], [])
      return
    }
    const previous = known.meta
    known.meta = meta
    const changed: Array<'weight' | 'tags' | 'ready'> = []
    if (previous.weight !== meta.weight) changed.push('weight')
    if (previous.ready !== meta.ready) changed.push('ready')
    if (JSON.stringify(previous.tags) !== JSON.stringify(meta.tags)) changed.push('tags')
    if (changed.length > 0) this.safeDispatchEvent('update', { detail: { peerId: id, changed } })
  }

  #hangUpIfStillDown(id: string): void {
    if (!this.#init.transport.isConnected(id)) return
    const handle = this.#clock.setTimeout(() => {
      this.#timers.delete(handle)
      if (!this.#running || this.#live.has(id) || !this.#init.transport.isConnected(id)) return
      void this.#init.transport.hangUp(id).catch(() => {})
    }, DOWN_HANG_UP_MS)
    this.#timers.add(handle)
  }

  #emitChange(joined: string[], left: string[]): void {
    this.safeDispatchEvent('change', { detail: { joined, left, members: this.memberIds() } })
  }

  #logRefusal(from: string, why: string): void {
    const now = this.#clock.now()
    if (now - this.#refusalWindow > 60_000) {
      this.#refusalWindow = now
      this.#refusalsLogged = 0
    }
    if (this.#refusalsLogged++ < MAX_REFUSALS_LOGGED)
      this.#init.logger.warn(`swim: refused a message from ${from}: ${why}`)
  }

  #addressesOf(id: string): readonly string[] {
    const meta = this.#swim.member(id)?.meta
    if (meta !== undefined && meta.addresses.length > 0) return meta.addresses
    return this.#discovery.seeds().get(id) ?? []
  }

  #join(id: string): void {
    if (!this.#running) return
    this.#swim.join([id], this.#clock.now())
    this.#perform()
  }
}

function safeVerify(signer: AliveSigner, peerId: string, bytes: Uint8Array, signature: Uint8Array): boolean {
  try {
    return signer.verify(peerId, bytes, signature)
  } catch {
    return false
  }
}
