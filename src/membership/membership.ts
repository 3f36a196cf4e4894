/**
 * Membership and discovery: who is alive in the mesh, with what weight and tags, and how to reach them.
 *
 * Every peer publishes a signed heartbeat (`member`: peer id, dialable addresses, weight, tags) on the mesh's
 * membership topic every `heartbeatMs`, and a `leave` when it stops. A member is live while its heartbeats keep
 * arriving; one silent for `timeoutMs` is dropped (a crashed peer disappears everywhere within `timeoutMs` plus one
 * check interval). A check that runs late (this peer's event loop stalled) allows its lateness on top, so a stalled
 * peer does not drop members whose heartbeats are waiting unread in its sockets. The gossipsub signature must match the heartbeat's peer id, so nobody can speak for another peer.
 *
 * A heartbeat also says whether the member is `ready` (has its first full state; see `sync/join-sync.ts`), so joiners
 * take their first state from ready members only, and how many members it sees (`meshSize`), so a joiner can tell
 * when it has heard of (nearly) everyone. Heartbeats without the field count as ready. A change of weight,
 * tags or readiness of a known member is an `update` event (the ring re-weights on it). A new member, and a new
 * subscriber to the topic, make a peer send its own heartbeat early (at most once per quarter period), so a joiner
 * learns the membership within a round trip instead of a heartbeat period.
 *
 * Discovery: a heartbeat from a member this peer is not connected to makes it dial that member (up to
 * `maxDialsPerRound` a round, until it holds `targetConnections`), so peers that only knew one bootstrap node meet each
 * other and the mesh survives the loss of that node. While this peer has no connection at all, it re-dials its
 * bootstrap and remembered addresses with exponential backoff (capped at 8 heartbeats, jittered).
 *
 * Why one file of ~530 lines: discovery dials from the member table and the tick that heartbeats run on, so the two
 * share all their state; they separate once failure detection moves to probes (SWIM), which replaces the tick.
 *
 * @module
 */
import { TypedEventEmitter } from 'main-event'
import { type Clock, type Random, systemClock, type TimerHandle } from '../clock.js'
import type { MeshLogger } from '../logger.js'
import type { TopicMessage, Transport, Verdict } from '../transport/transport.js'
import { decodeMessage, encodeMessage } from '../wire/codec.js'
import { type KnownPeer, KnownPeers } from './known-peers.js'
import type { Member, Membership, MembershipEvents } from './member-view.js'

export type { Member, Membership, MembershipChange, MembershipEvents, MemberUpdate } from './member-view.js'

/** Goodbyes remembered at most (each for twice the member timeout), against late heartbeats of a run that left. */
const MAX_DEPARTED = 1024

/** Default heartbeat period. */
export const DEFAULT_HEARTBEAT_MS = 1_000
/** Default time after which a silent member is dropped. */
export const DEFAULT_MEMBER_TIMEOUT_MS = 4_000
/** Default number of new members dialled per heartbeat round. */
export const DEFAULT_MAX_DIALS_PER_ROUND = 8
/**
 * Default connections discovery aims for. Meshes up to this size + 1 are fully connected (a write reaches every peer
 * in one hop); larger ones form a random graph of at least this degree, over which gossipsub (mesh degree 6) still
 * reaches everyone in about two hops. Connecting everyone to everyone costs N^2/2 handshakes at start: 30 peers on
 * one 2-core host spent so long in 435 Noise handshakes that dials timed out and some peers never joined.
 */
export const DEFAULT_TARGET_CONNECTIONS = 12
/** Members (id + addresses) a heartbeat may carry as dial hints for peers that know few members yet. */
const SAMPLE_SIZE = 6
/** Most dial hints remembered. */
const MAX_HINTS = 256
/** Every this many periodic heartbeats carries a sample (announces, sent when someone new appears, always do). */
const SAMPLE_EVERY = 4
/** Default of {@link MembershipInit.reconnectMs}, in heartbeats. */
export const DEFAULT_RECONNECT_HEARTBEATS = 8

/** Options of {@link createMembership}. */
export interface MembershipInit {
  /** The network: heartbeats on a topic, connections, dials. */
  transport: Transport
  /** Time and timers. Default: the system clock. */
  clock?: Clock
  /** Jitter and random choices. Default `Math.random`. */
  random?: Random
  /** The membership topic, e.g. `/confmesh/<mesh>/members/1`. */
  topic: string
  /** Where log lines go. */
  logger: MeshLogger
  /** This peer's weight at start (announced). */
  weight: number
  /** This peer's tags (announced). */
  tags: Record<string, string>
  /** Whether this peer is ready (holds its first full state), announced in heartbeats. Default: always. */
  ready?: () => boolean
  /** Addresses to re-dial while no connection is open (bootstrap + remembered). */
  seedAddresses: () => string[]
  /** Default {@link DEFAULT_HEARTBEAT_MS}. */
  heartbeatMs?: number
  /** Default {@link DEFAULT_MEMBER_TIMEOUT_MS}. */
  timeoutMs?: number
  /** Default {@link DEFAULT_MAX_DIALS_PER_ROUND}. */
  maxDialsPerRound?: number
  /**
   * While connected, dial one known peer that is not a live member this often (ms), so the two sides of a healed
   * partition find each other again (each side keeps its own connections, so nobody is alone to re-dial).
   * Default {@link DEFAULT_RECONNECT_HEARTBEATS} heartbeats.
   */
  reconnectMs?: number
  /** Connection cap for discovery dials. */
  maxConnections: number
  /** Discovery dials members until this peer holds this many connections. Default {@link DEFAULT_TARGET_CONNECTIONS}. */
  targetConnections?: number
  /** Peers whose addresses are kept for re-dials; the one heard from longest ago goes first. Default 1024. */
  maxKnownPeers?: number
}

/** Creates the membership service. */
export function createMembership(init: MembershipInit): Membership {
  return new HeartbeatMembership(init)
}

interface MemberRecord {
  peerId: string
  addresses: string[]
  weight: number
  tags: Record<string, string>
  startedAt: number
  ready: boolean
  meshSize: number
  lastSeen: number
}

function parseMember(body: unknown): Omit<MemberRecord, 'lastSeen'> | undefined {
  if (body === null || typeof body !== 'object') return undefined
  const b = body as Record<string, unknown>
  if (typeof b.peerId !== 'string' || b.peerId.length > 128) return undefined
  if (!Array.isArray(b.addresses) || b.addresses.length > 32) return undefined
  if (!b.addresses.every((a) => typeof a === 'string' && a.length < 512)) return undefined
  const weight = typeof b.weight === 'number' && Number.isFinite(b.weight) && b.weight > 0 ? b.weight : 1
  const tags: Record<string, string> = {}
  if (b.tags !== null && typeof b.tags === 'object') {
    for (const [k, v] of Object.entries(b.tags as Record<string, unknown>).slice(0, 64)) {
      if (typeof v === 'string' && k.length <= 256 && v.length <= 1024) tags[k] = v
    }
  }
  const startedAt = typeof b.startedAt === 'number' ? b.startedAt : 0
  const ready = b.ready !== false
  const meshSize = typeof b.meshSize === 'number' && Number.isSafeInteger(b.meshSize) && b.meshSize > 0 ? b.meshSize : 0
  return { peerId: b.peerId, addresses: b.addresses as string[], weight, tags, startedAt, ready, meshSize }
}

/** The validated dial hints of a heartbeat (`sample`): at most {@link SAMPLE_SIZE} members with their addresses. */
export function parseSample(body: unknown): Array<{ peerId: string; addresses: string[] }> {
  const sample = (body as { sample?: unknown } | null)?.sample
  if (!Array.isArray(sample)) return []
  const out: Array<{ peerId: string; addresses: string[] }> = []
  for (const h of sample.slice(0, SAMPLE_SIZE)) {
    if (h === null || typeof h !== 'object') continue
    const { peerId, addresses } = h as { peerId?: unknown; addresses?: unknown }
    if (typeof peerId !== 'string' || peerId.length > 128 || !Array.isArray(addresses)) continue
    const valid = addresses
      .slice(0, 8)
      .filter((a): a is string => typeof a === 'string' && a.length < 512 && a.endsWith(`/p2p/${peerId}`))
    if (valid.length > 0) out.push({ peerId, addresses: valid })
  }
  return out
}

class HeartbeatMembership extends TypedEventEmitter<MembershipEvents> implements Membership {
  private readonly init: MembershipInit
  private readonly self: string
  private readonly startedAt: number
  private readonly records = new Map<string, MemberRecord>()
  private readonly everSeen: KnownPeers
  /**
   * Members that said goodbye: peer id -> the `startedAt` of the run that left, and when. Gossip does not keep order
   * across paths, so a heartbeat of that run can arrive after its goodbye (relayed the long way round); it must not
   * bring the member back until the timeout. A restarted member has a new `startedAt` and is welcome at once.
   */
  private readonly departed = new Map<string, { startedAt: number; at: number }>()
  /** Members heard of in others' heartbeat samples but not (yet) from themselves: dial candidates only. */
  private readonly hints = new Map<string, { addresses: string[]; at: number }>()
  private heartbeats = 0
  private readonly heartbeatMs: number
  private readonly timeoutMs: number
  private readonly maxDials: number
  private readonly clock: Clock
  private readonly random: Random
  private timer: TimerHandle | undefined
  private running = false
  private lonelyRounds = 0
  private nextTickAt = 0
  private nextSeedDial = 0
  private nextReconnect = 0
  private reconnectCursor = 0
  private weight: number
  private lastAnnounce = 0
  private announceTimer: TimerHandle | undefined
  private readonly dialing = new Set<string>()
  /** A peer subscribed to the membership topic: it may be new, so tell it about us now. */
  private readonly onSubscription = (evt: CustomEvent<{ topic: string; subscribed: boolean }>): void => {
    if (evt.detail.topic === this.init.topic && evt.detail.subscribed) this.announce()
  }

  constructor(init: MembershipInit) {
    super()
    this.init = init
    this.clock = init.clock ?? systemClock
    this.random = init.random ?? Math.random
    this.startedAt = this.clock.now()
    this.self = init.transport.peerId
    this.heartbeatMs = init.heartbeatMs ?? DEFAULT_HEARTBEAT_MS
    this.timeoutMs = init.timeoutMs ?? DEFAULT_MEMBER_TIMEOUT_MS
    this.maxDials = init.maxDialsPerRound ?? DEFAULT_MAX_DIALS_PER_ROUND
    this.weight = init.weight
    this.everSeen = new KnownPeers(init.maxKnownPeers)
  }

  async start(): Promise<void> {
    this.running = true
    const { transport, topic } = this.init
    transport.addEventListener('subscription-change', this.onSubscription)
    transport.subscribe(topic, {
      validate: (msg) => this.validate(msg),
      onMessage: (msg) => this.handle(msg.from, msg.data),
    })
    this.nextTickAt = this.clock.now()
    this.tick()
  }

  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    this.clock.clearTimeout(this.timer)
    this.clock.clearTimeout(this.announceTimer)
    const { transport, topic } = this.init
    try {
      await transport.publish(topic, encodeMessage({ kind: 'leave', body: { peerId: this.self } }))
    } catch {
      // best effort: the others time us out
    }
    transport.removeEventListener('subscription-change', this.onSubscription)
    transport.unsubscribe(topic)
  }

  peers(): Member[] {
    const connected = new Set(this.init.transport.connections())
    return [...this.records.values()]
      .map((r) => ({ ...r, connected: connected.has(r.peerId) }))
      .sort((a, b) => (a.peerId < b.peerId ? -1 : 1))
  }

  memberIds(): string[] {
    return [this.self, ...this.records.keys()].sort()
  }

  get(peerId: string): Member | undefined {
    if (peerId === this.self) return { ...this.selfRecord(), lastSeen: this.clock.now(), connected: true }
    const r = this.records.get(peerId)
    if (r === undefined) return undefined
    return { ...r, connected: this.init.transport.isConnected(peerId) }
  }

  knownAddresses(): string[] {
    return this.everSeen.addresses()
  }

  knownPeers(): KnownPeer[] {
    return this.everSeen.peers()
  }

  setWeight(weight: number): void {
    if (weight === this.weight) return
    this.weight = weight
    this.safeDispatchEvent('update', { detail: { peerId: this.self, changed: ['weight'] } })
    this.lastAnnounce = 0
    this.announce()
  }

  announce(): void {
    if (!this.running || this.announceTimer !== undefined) return
    const wait = this.lastAnnounce + this.heartbeatMs / 4 - this.clock.now()
    if (wait <= 0) {
      this.publishHeartbeat(this.clock.now())
      return
    }
    // Too soon after the last one: send one more when the quarter period is over (requests coalesce meanwhile).
    this.announceTimer = this.clock.setTimeout(() => {
      this.announceTimer = undefined
      if (this.running) this.publishHeartbeat(this.clock.now())
    }, wait)
  }

  private publishHeartbeat(now: number, withSample = true): void {
    // A heartbeat nobody could receive (no subscriber known yet) does not count against the early-heartbeat limit.
    if (this.init.transport.subscribers(this.init.topic).length > 0) this.lastAnnounce = now
    const body = withSample ? { ...this.selfRecord(), sample: this.sample() } : this.selfRecord()
    void this.init.transport
      .publish(this.init.topic, encodeMessage({ kind: 'member', body }))
      .catch((err: Error) => this.init.logger.debug(`heartbeat publish failed: ${err.message}`))
  }

  /**
   * A few random live members with their addresses (peer exchange). A peer that knows only its bootstrap member
   * would otherwise learn the others only from their own heartbeats, relayed to it by gossip once it is in the
   * gossipsub mesh; with the sample it dials some of them at once and hears the rest directly.
   */
  private sample(): Array<{ peerId: string; addresses: string[] }> {
    const all = [...this.records.values()].filter((r) => r.addresses.length > 0)
    const out: Array<{ peerId: string; addresses: string[] }> = []
    while (out.length < SAMPLE_SIZE && all.length > 0) {
      const [r] = all.splice(Math.floor(this.random() * all.length), 1)
      out.push({ peerId: r!.peerId, addresses: r!.addresses.slice(0, 4) })
    }
    return out
  }

  private selfRecord(): Omit<MemberRecord, 'lastSeen'> {
    return {
      peerId: this.self,
      addresses: this.init.transport.addresses(),
      weight: this.weight,
      tags: this.init.tags,
      startedAt: this.startedAt,
      ready: this.init.ready?.() ?? true,
      meshSize: this.records.size + 1,
    }
  }

  private validate(msg: TopicMessage): Verdict {
    try {
      const decoded = decodeMessage(msg.data)
      if (decoded.kind !== 'member' && decoded.kind !== 'leave') return 'reject'
      const body = decoded.body as { peerId?: unknown }
      // A heartbeat speaks only for its signer.
      if (body?.peerId !== msg.from) return 'reject'
      if (decoded.kind === 'member' && parseMember(decoded.body) === undefined) return 'reject'
      return 'accept'
    } catch {
      return 'reject'
    }
  }

  private handle(from: string, data: Uint8Array): void {
    let decoded: ReturnType<typeof decodeMessage>
    try {
      decoded = decodeMessage(data)
    } catch {
      return
    }
    if (from === this.self) return
    if (decoded.kind === 'leave') {
      const record = this.records.get(from)
      if (record === undefined) return
      if (this.departed.size >= MAX_DEPARTED) this.departed.delete(this.departed.keys().next().value!)
      this.departed.set(from, { startedAt: record.startedAt, at: this.clock.now() })
      this.records.delete(from)
      this.emitChange([], [from])
      return
    }
    if (decoded.kind !== 'member') return
    const parsed = parseMember(decoded.body)
    if (parsed === undefined || parsed.peerId !== from) return
    if (this.departed.get(from)?.startedAt === parsed.startedAt) return // a late heartbeat of a run that said goodbye
    this.departed.delete(from)
    const previous = this.records.get(from)
    const now = this.clock.now()
    this.hints.delete(from)
    for (const h of parseSample(decoded.body)) {
      if (h.peerId === this.self || this.records.has(h.peerId)) continue
      if (this.hints.size >= MAX_HINTS && !this.hints.has(h.peerId)) this.hints.delete(this.hints.keys().next().value!)
      this.hints.set(h.peerId, { addresses: h.addresses, at: now })
    }
    this.records.set(from, { ...parsed, lastSeen: now })
    if (parsed.addresses.length > 0) this.everSeen.see(from, parsed.addresses, now)
    if (previous === undefined) {
      this.emitChange([from], [])
      this.discover()
      // Tell the newcomer (and everyone) about us now rather than at our next tick.
      this.announce()
      return
    }
    const changed: Array<'weight' | 'tags' | 'ready'> = []
    if (previous.weight !== parsed.weight) changed.push('weight')
    if (previous.ready !== parsed.ready) changed.push('ready')
    if (JSON.stringify(previous.tags) !== JSON.stringify(parsed.tags)) changed.push('tags')
    if (changed.length > 0) this.safeDispatchEvent('update', { detail: { peerId: from, changed } })
  }

  private tick(): void {
    if (!this.running) return
    const now = this.clock.now()
    // Local health (Lifeguard's awareness): a tick that runs late means this peer's own event loop stalled, and the
    // heartbeats that arrived meanwhile are still unread in its sockets. Silence is measured against the timeout plus
    // this tick's lateness, so a stalled peer does not drop members that kept talking (the next, punctual tick drops
    // those that really went silent). Without it, a loaded machine made members flap and forget each other.
    const lateness = Math.max(0, now - this.nextTickAt)
    this.publishHeartbeat(now, this.heartbeats++ % SAMPLE_EVERY === 0)
    for (const [id, d] of this.departed) if (now - d.at > 2 * this.timeoutMs) this.departed.delete(id)
    const left: string[] = []
    for (const [id, r] of this.records) {
      if (now - r.lastSeen > this.timeoutMs + lateness) {
        this.records.delete(id)
        left.push(id)
        // a silent member's connection may be half-open (its host vanished): libp2p's connection monitor is off
        // (libp2p-node.ts), so membership closes it; a live peer reconnects through discovery.
        if (this.init.transport.isConnected(id)) void this.init.transport.hangUp(id).catch(() => {})
      }
    }
    if (left.length > 0) this.emitChange([], left)
    for (const [id, h] of this.hints) if (now - h.at > this.timeoutMs || this.records.has(id)) this.hints.delete(id)
    this.discover()
    this.redialSeeds(now)
    // Fixed rate, not fixed delay: a late tick (a busy event loop) does not push every later one back, so a silent
    // member is dropped within `timeoutMs + heartbeatMs` of its last heartbeat plus one tick's lateness, not more.
    this.nextTickAt += this.heartbeatMs
    if (this.nextTickAt <= now)
      this.nextTickAt += Math.ceil((now - this.nextTickAt + 1) / this.heartbeatMs) * this.heartbeatMs
    this.timer = this.clock.setTimeout(() => this.tick(), this.nextTickAt - now)
  }

  /**
   * Dials live members this peer is not connected to, a few per round, until it holds `targetConnections`
   * connections (bounded by the cap). Members are taken in random order, so the graph is random rather than
   * everyone piling onto the members heard of first.
   */
  private discover(): void {
    const connections = this.init.transport.connections()
    const target = Math.min(this.init.targetConnections ?? DEFAULT_TARGET_CONNECTIONS, this.init.maxConnections)
    if (connections.length >= target) return
    const connected = new Set(connections)
    let budget = Math.min(this.maxDials, target - connections.length - this.dialing.size)
    // Both members of a new pair dial at once (a second connection between them is cheaper than a mesh that forms a
    // few heartbeats later: a bootstrap peer that dies early must not leave the others unconnected).
    const candidates: Array<{ peerId: string; addresses: string[] }> = [...this.records.values()].filter(
      (r) => !connected.has(r.peerId) && !this.dialing.has(r.peerId) && r.addresses.length > 0,
    )
    // Hinted members (from others' samples) next: they have not heard of this peer, so they will not dial it first.
    for (const [peerId, h] of this.hints) {
      if (peerId !== this.self && !connected.has(peerId) && !this.dialing.has(peerId) && !this.records.has(peerId)) {
        candidates.push({ peerId, addresses: h.addresses })
      }
    }
    while (budget > 0 && candidates.length > 0) {
      const [r] = candidates.splice(Math.floor(this.random() * candidates.length), 1)
      budget--
      this.dial(r!.peerId, r!.addresses)
    }
  }

  /**
   * While alone, re-dial seed addresses with exponential backoff (1 heartbeat, 2, 4, then every 8; jittered). A peer
   * with no connection at all is useless to its application, and one dial per 8 heartbeats costs nothing.
   */
  private redialSeeds(now: number): void {
    if (this.init.transport.connections().length > 0) {
      this.lonelyRounds = 0
      this.nextSeedDial = 0
      this.reconnectLost(now)
      return
    }
    if (now < this.nextSeedDial) return
    this.lonelyRounds++
    // ±50 % jitter: peers refused together (e.g. by the remote's inbound rate limit) must not retry together.
    const backoff = 2 ** Math.min(this.lonelyRounds - 1, 3) * this.heartbeatMs
    this.nextSeedDial = now + backoff * (0.5 + this.random())
    const byPeer = new Map<string, string[]>()
    for (const addr of this.init.seedAddresses()) {
      const id = addr.split('/p2p/')[1]
      if (id === undefined || id === this.self) continue
      byPeer.set(id, [...(byPeer.get(id) ?? []), addr])
    }
    for (const [id, addrs] of byPeer) this.dial(id, addrs)
  }

  /** Partition healing: one known peer that is not a live member (round-robin) every `reconnectMs`. */
  private reconnectLost(now: number): void {
    if (now < this.nextReconnect) return
    this.nextReconnect = now + (this.init.reconnectMs ?? DEFAULT_RECONNECT_HEARTBEATS * this.heartbeatMs)
    const byPeer = new Map<string, string[]>()
    for (const addr of this.init.seedAddresses()) {
      const id = addr.split('/p2p/')[1]
      if (id === undefined || id === this.self || this.records.has(id) || this.dialing.has(id)) continue
      byPeer.set(id, [...(byPeer.get(id) ?? []), addr])
    }
    const lost = [...byPeer]
    if (lost.length === 0) return
    const [id, addrs] = lost[this.reconnectCursor++ % lost.length]!
    this.dial(id, addrs)
  }

  private dial(peerId: string, addresses: readonly string[]): void {
    if (!this.running || this.dialing.has(peerId)) return
    this.dialing.add(peerId)
    this.init.transport
      .dial(addresses)
      .catch((err: Error) => this.init.logger.debug(`dial ${peerId} failed: ${err.message}`))
      .finally(() => this.dialing.delete(peerId))
  }

  private emitChange(joined: string[], left: string[]): void {
    this.safeDispatchEvent('change', { detail: { joined, left, members: this.memberIds() } })
  }
}
