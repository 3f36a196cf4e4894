/**
 * Discovery for the SWIM membership: keeps this peer in the connection graph that gossip, catch-up and SWIM's probes
 * run over. Guarantees, checked once per {@link DISCOVERY_MS} ({@link SETTLED_DISCOVERY_MS} while settled: the target
 * held and members known):
 * - live members are dialled (random order, at most 8 a round) until `targetConnections` connections are held that
 *   were not opened only for a probe (a probe connection discovery wants is kept instead of dialled again);
 * - while this peer holds no connection at all, its seed addresses (bootstrap, remembered) are re-dialled with
 *   backoff (1, 2, 4, then every 8 rounds, jittered ±50 %) and each seed reached is asked to join (a push-pull);
 * - while connected but knowing no member, every seed is asked to join each round (the first join was lost);
 * - while connected, one seed that is not a live member is asked to join every `reconnectMs` (round-robin), so two
 *   sides of a partition healed after their tombstones expired still meet.
 *
 * @module
 */
import type { Clock, Random, TimerHandle } from '../clock.js'
import type { MeshLogger } from '../logger.js'
import { peerIdOfAddress, type Transport } from '../transport/transport.js'

/** Period of a discovery round (ms). */
export const DISCOVERY_MS = 1_000
/**
 * Period of a discovery round while settled (ms): at least the target of kept connections and a member known. An
 * idle peer of the 100-peer fleet spent 0.017 % of a core in 1 s rounds (a CPU profile of every host), about a
 * twentieth of its idle CPU; a settled round only notices a lost connection or a changed address a second later.
 */
export const SETTLED_DISCOVERY_MS = 2_000
/** How long the seed list parsed for partition healing is reused (its addresses change when members are met). */
const SEEDS_REUSE_MS = 30_000
/** Default connections discovery aims for (as the heartbeat membership). */
export const DEFAULT_TARGET_CONNECTIONS = 12
/** Members dialled per round. */
const MAX_DIALS_PER_ROUND = 8

/** What discovery needs from the membership. */
export interface SwimDiscoveryInit {
  transport: Transport
  clock: Clock
  random: Random
  logger: MeshLogger
  /** Bootstrap and remembered addresses. */
  seedAddresses: () => string[]
  maxConnections: number
  /** Default {@link DEFAULT_TARGET_CONNECTIONS}. */
  targetConnections?: number
  /** Default 4 rounds. */
  reconnectMs?: number
  /** Live member ids (this peer excluded). */
  live(): Iterable<string>
  isLive(id: string): boolean
  addressesOf(id: string): readonly string[]
  /** Whether the connection to `id` was opened only for a probe (it does not count towards the target). */
  isProbeConnection(id: string): boolean
  /** Keeps a connection (no longer a probe connection). */
  keep(id: string): void
  /** Pushes this peer's table to `id` (a SWIM join). */
  join(id: string): void
  /** Runs at the start of every round. */
  onRound(): void
}

/** The discovery rounds of one peer. */
export class SwimDiscovery {
  readonly #init: SwimDiscoveryInit
  readonly #self: string
  readonly #dialing = new Set<string>()
  #timer: TimerHandle | undefined
  #running = false
  #lonelyRounds = 0
  #nextSeedDial = 0
  #nextReconnect = 0
  #reconnectCursor = 0
  #seeds: { at: number; ids: string[] } | undefined

  constructor(init: SwimDiscoveryInit) {
    this.#init = init
    this.#self = init.transport.peerId
  }

  /** Seed and remembered addresses by peer id (this peer left out). */
  seeds(): Map<string, string[]> {
    const byPeer = new Map<string, string[]>()
    for (const addr of this.#init.seedAddresses()) {
      const id = peerIdOfAddress(addr)
      if (id === undefined || id === this.#self) continue
      byPeer.set(id, [...(byPeer.get(id) ?? []), addr])
    }
    return byPeer
  }

  /** Runs the first round now, then every {@link DISCOVERY_MS}. */
  start(): void {
    this.#running = true
    this.#round()
  }

  stop(): void {
    this.#running = false
    this.#init.clock.clearTimeout(this.#timer)
  }

  #round(): void {
    if (!this.#running) return
    const now = this.#init.clock.now()
    this.#init.onRound()
    const connections = this.#init.transport.connections()
    let settled = false
    if (connections.length === 0) this.#redialSeeds(now)
    else {
      this.#lonelyRounds = 0
      this.#nextSeedDial = 0
      const full = this.#grow(connections)
      // connected (e.g. libp2p dialled the bootstrap) but no member known yet: the join push-pull was lost; again
      if (this.#init.live()[Symbol.iterator]().next().done === true)
        for (const id of this.seeds().keys()) this.#init.join(id)
      else {
        settled = full
        this.#reconnectLost(now)
      }
    }
    this.#timer = this.#init.clock.setTimeout(() => this.#round(), settled ? SETTLED_DISCOVERY_MS : DISCOVERY_MS)
  }

  /** Dials towards the target; whether it is held already. */
  #grow(connections: string[]): boolean {
    const init = this.#init
    const target = Math.min(init.targetConnections ?? DEFAULT_TARGET_CONNECTIONS, init.maxConnections)
    const kept = connections.filter((id) => !init.isProbeConnection(id))
    if (kept.length >= target) return true
    const keptSet = new Set(kept)
    const candidates = [...init.live()].filter((id) => !keptSet.has(id) && !this.#dialing.has(id))
    let budget = Math.min(MAX_DIALS_PER_ROUND, target - kept.length - this.#dialing.size)
    while (budget-- > 0 && candidates.length > 0) {
      const id = candidates.splice(Math.floor(init.random() * candidates.length), 1)[0]!
      if (init.isProbeConnection(id)) init.keep(id)
      else this.#dial(id, init.addressesOf(id))
    }
    return false
  }

  #redialSeeds(now: number): void {
    if (now < this.#nextSeedDial) return
    this.#lonelyRounds++
    const backoff = 2 ** Math.min(this.#lonelyRounds - 1, 3) * DISCOVERY_MS
    this.#nextSeedDial = now + backoff * (0.5 + this.#init.random())
    for (const [id, addrs] of this.seeds()) this.#dial(id, addrs, true)
  }

  #reconnectLost(now: number): void {
    if (now < this.#nextReconnect) return
    this.#nextReconnect = now + (this.#init.reconnectMs ?? 4 * DISCOVERY_MS)
    if (this.#seeds === undefined || now - this.#seeds.at >= SEEDS_REUSE_MS)
      this.#seeds = { at: now, ids: [...this.seeds().keys()] }
    const lost = this.#seeds.ids.filter((id) => !this.#init.isLive(id))
    if (lost.length === 0) return
    this.#init.join(lost[this.#reconnectCursor++ % lost.length]!)
  }

  #dial(id: string, addresses: readonly string[], join = false): void {
    if (!this.#running || this.#dialing.has(id) || addresses.length === 0) return
    this.#dialing.add(id)
    this.#init.transport
      .dial(addresses)
      .then(() => {
        this.#init.keep(id)
        if (join && this.#running) this.#init.join(id)
      })
      .catch((err: Error) => this.#init.logger.debug(`dial ${id} failed: ${err.message}`))
      .finally(() => this.#dialing.delete(id))
  }
}
