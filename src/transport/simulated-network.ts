/**
 * A deterministic simulated network for the transport seam: peers, links and faults on virtual time, driven by one
 * seed. Learned from Yjs's `tests/testHelper.js` (seeded random networks that reorder, drop and reconnect) and from
 * deterministic simulation testing (FoundationDB, TigerBeetle's VOPR, Corrosion's post-mortems).
 *
 * Guarantees: the same seed and the same test code give the same run, event for event, and the same
 * {@link SimulatedNetwork.traceHash}; nothing happens between `runUntil`/`runFor`/`settle` calls (time only moves
 * when the test advances it). Faults:
 * - latency: per link, a distribution (`LinkModel.latency`); a dial takes one round trip, opening a stream one more;
 * - loss, duplication, reordering: of gossip hops only (streams model TCP: reliable, ordered);
 * - size limit: a gossip message over `maxMessageBytes` is dropped silently, like gossipsub drops an RPC over its limit;
 * - partitions: `partition(groups)` cuts every link between groups (frames in flight across the cut are lost, dials
 *   across it time out); connections across it close after `detectAfterMs` (default at once); `heal()` ends it, and
 *   peers reconnect only when they dial again;
 * - crash: `crash(id)` kills a peer without goodbye (its timers never fire again, its neighbours see the
 *   disconnect one latency later, frames to it are lost); `restart(id)` gives it a fresh transport with the same id.
 *
 * Gossip relays go to at most `relayDegree` random subscribed neighbours (gossipsub's mesh degree; publishing floods).
 * Not simulated: bandwidth and queueing, gossipsub's mesh maintenance and IHAVE/IWANT repair, connection limits, Noise
 * and signatures (a frame's `from` simply cannot be forged here).
 *
 * @module
 */
import type { Clock } from '../clock.js'
import { MAX_GOSSIP_MESSAGE_BYTES } from '../doc/limits.js'
import { checkLinkModel, DEFAULT_LINK_MODEL, type LinkModel } from './link-model.js'
import { createSeededRandom, type SeededRandom } from './seeded-random.js'
import { SimulatedLinks, type SimulatedNetworkCounters } from './simulated-links.js'
import { createSimulatedPeer, type SimulatedPeer, type SimulatedTransport } from './simulated-transport.js'
import { createSimulationTrace, type SimulationTrace } from './simulation-trace.js'
import { createVirtualScheduler, type RunOptions, type VirtualScheduler } from './virtual-scheduler.js'

/** Default size limit of a gossip message: confmesh's `MAX_GOSSIP_MESSAGE_BYTES` (1 MiB). */
export const DEFAULT_SIMULATED_MAX_MESSAGE_BYTES = MAX_GOSSIP_MESSAGE_BYTES
/** Default time a message id stays in a peer's seen-cache: gossipsub's 120 s. */
export const DEFAULT_SEEN_TTL_MS = 120_000
/** Default number of neighbours a received gossip message is relayed to: confmesh's gossipsub mesh degree (3). */
export const DEFAULT_RELAY_DEGREE = 3
/** Default time after which a dial into a partition fails: confmesh's libp2p dial timeout (5 s). */
export const DEFAULT_DIAL_TIMEOUT_MS = 5_000

/** Options of {@link createSimulatedNetwork}. */
export interface SimulatedNetworkInit {
  /** The seed of every random choice (an unsigned 32-bit integer). Print it: it replays the run. */
  seed: number
  /** Faults of every link (see {@link LinkModel}); `setLink` overrides per pair. Default {@link DEFAULT_LINK_MODEL}. */
  link?: Partial<LinkModel>
  /** Largest gossip message delivered. Default {@link DEFAULT_SIMULATED_MAX_MESSAGE_BYTES}. */
  maxMessageBytes?: number
  /** Default {@link DEFAULT_SEEN_TTL_MS}. */
  seenTtlMs?: number
  /** Most neighbours a peer relays a received gossip message to (`Infinity`: flooding). Default {@link DEFAULT_RELAY_DEGREE}. */
  relayDegree?: number
  /** Default {@link DEFAULT_DIAL_TIMEOUT_MS}. */
  dialTimeoutMs?: number
  /** Virtual time at the start (ms since the epoch). Default 2026-01-01T00:00:00Z. */
  startTime?: number
  /** Trace lines kept for failure messages. Default 200. */
  traceLines?: number
}

/** Options of {@link SimulatedNetwork.partition}. */
export interface PartitionOptions {
  /** Connections across the cut close this long after it (meanwhile frames across it are lost). Default 0. */
  detectAfterMs?: number
}

export type { SimulatedNetworkCounters } from './simulated-links.js'

/** The simulated network. */
export interface SimulatedNetwork {
  /** The seed (print it with a failure). */
  readonly seed: number
  /** Virtual time. */
  readonly scheduler: VirtualScheduler
  /** The network's root random stream (tests draw their own choices from forks of it). */
  readonly random: SeededRandom
  /** The run's trace. */
  readonly trace: SimulationTrace
  readonly counters: SimulatedNetworkCounters
  /** Errors thrown by application code (subscribers, handlers); a healthy run leaves it empty. */
  readonly errors: Error[]
  /** Adds a peer (id default `p<n>`; letters, digits, `.`, `_`, `-`) and returns its transport, not started. */
  addPeer(id?: string): SimulatedTransport
  /** The current transport of a peer. */
  peer(id: string): SimulatedTransport
  /** Every peer id, in order of creation. */
  peers(): string[]
  /** Connects `a` to `b` (a dial from `a`), advancing virtual time until the connection is open. */
  connect(a: string, b: string): Promise<void>
  /** Overrides the faults of the link between `a` and `b` (both directions). */
  setLink(a: string, b: string, model: Partial<LinkModel>): void
  /** Makes `peer`'s clock read `skewMs` ahead (negative: behind); its timers still fire on virtual time. */
  setClockSkew(peer: string, skewMs: number): void
  /** Cuts every link between the groups; peers in no group form one more group together. */
  partition(groups: ReadonlyArray<readonly string[]>, options?: PartitionOptions): void
  /** Ends the partition. */
  heal(): void
  /** Whether a partition separates `a` and `b`. */
  isCut(a: string, b: string): boolean
  /** Kills a peer: no goodbye, its timers die, its neighbours see a disconnect after one latency. */
  crash(id: string): void
  /** A fresh transport for a crashed or stopped peer (same id, next incarnation), not started. */
  restart(id: string): SimulatedTransport
  /** See {@link VirtualScheduler.runUntil}; a failure message carries the seed and the last trace lines. */
  runUntil(condition: (() => boolean) | number, options?: RunOptions): Promise<void>
  /** See {@link VirtualScheduler.runFor}. */
  runFor(ms: number): Promise<void>
  /** See {@link VirtualScheduler.settle}. */
  settle<T>(promise: Promise<T>, options?: RunOptions): Promise<T>
  /** The hash of every event so far. */
  traceHash(): string
}

/** Creates a simulated network. */
export function createSimulatedNetwork(init: SimulatedNetworkInit): SimulatedNetwork {
  return new Network(init)
}

interface PeerEntry {
  readonly id: string
  readonly address: string
  incarnation: number
  transport: SimulatedPeer
  skewMs: number
}

const ID = /^[A-Za-z0-9._-]{1,64}$/

class Network implements SimulatedNetwork {
  readonly seed: number
  readonly scheduler: VirtualScheduler
  readonly random: SeededRandom
  readonly trace: SimulationTrace
  private readonly links: SimulatedLinks
  private readonly defaults: LinkModel
  private readonly linkModels = new Map<string, Partial<LinkModel>>()
  private readonly entries = new Map<string, PeerEntry>()

  constructor(init: SimulatedNetworkInit) {
    checkLinkModel(init.link ?? {})
    this.random = createSeededRandom(init.seed)
    this.seed = this.random.seed
    this.defaults = { ...DEFAULT_LINK_MODEL, ...init.link }
    this.trace = createSimulationTrace(init.traceLines)
    this.scheduler = createVirtualScheduler({
      ...(init.startTime === undefined ? {} : { startTime: init.startTime }),
      onEvent: (e) => {
        if (e.label === 'timer' || e.label === 'interval') this.trace.record(e.time, `${e.label} ${e.owner ?? '-'}`)
      },
    })
    this.links = new SimulatedLinks({
      scheduler: this.scheduler,
      trace: this.trace,
      random: this.random.fork('links'),
      modelOf: (a, b) => {
        const override = this.linkModels.get(pairKey(a, b))
        return override === undefined ? this.defaults : { ...this.defaults, ...override }
      },
      peer: (id) => this.entry(id),
      exists: (id) => this.entries.has(id),
      maxMessageBytes: init.maxMessageBytes ?? DEFAULT_SIMULATED_MAX_MESSAGE_BYTES,
      seenTtlMs: init.seenTtlMs ?? DEFAULT_SEEN_TTL_MS,
      relayDegree: init.relayDegree ?? DEFAULT_RELAY_DEGREE,
      dialTimeoutMs: init.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS,
    })
    this.record(`seed ${this.seed}`)
  }

  get counters(): SimulatedNetworkCounters {
    return this.links.counters
  }

  get errors(): Error[] {
    return this.links.errors
  }

  // --- peers -------------------------------------------------------------------------------------------------------

  addPeer(id?: string): SimulatedTransport {
    const peerId = id ?? `p${this.entries.size}`
    if (!ID.test(peerId)) throw new RangeError(`peer id must match ${ID}, got ${JSON.stringify(peerId)}`)
    if (this.entries.has(peerId)) throw new RangeError(`peer ${peerId} exists`)
    const entry: PeerEntry = {
      id: peerId,
      address: `/memory/${peerId}/p2p/${peerId}`,
      incarnation: 0,
      transport: undefined as unknown as SimulatedPeer,
      skewMs: 0,
    }
    this.entries.set(peerId, entry)
    entry.transport = this.makeTransport(entry)
    this.record(`add ${peerId}`)
    return entry.transport
  }

  peer(id: string): SimulatedTransport {
    return this.entry(id).transport
  }

  peers(): string[] {
    return [...this.entries.keys()]
  }

  connect(a: string, b: string): Promise<void> {
    return this.settle(this.links.dial(a, b))
  }

  setLink(a: string, b: string, model: Partial<LinkModel>): void {
    checkLinkModel(model)
    this.linkModels.set(pairKey(a, b), { ...this.linkModels.get(pairKey(a, b)), ...model })
  }

  setClockSkew(peer: string, skewMs: number): void {
    this.entry(peer).skewMs = skewMs
  }

  crash(id: string): void {
    const entry = this.entry(id)
    this.record(`crash ${id}#${entry.incarnation}`)
    entry.transport.kill()
    this.scheduler.cancelOwner(owner(entry))
    this.links.stopped(id)
  }

  restart(id: string): SimulatedTransport {
    const entry = this.entry(id)
    if (entry.transport.running) throw new RangeError(`peer ${id} is running: crash or stop it first`)
    entry.transport.kill()
    this.scheduler.cancelOwner(owner(entry))
    entry.incarnation++
    entry.transport = this.makeTransport(entry)
    this.record(`restart ${id}#${entry.incarnation}`)
    return entry.transport
  }

  // --- partitions ---------------------------------------------------------------------------------------------------

  partition(groups: ReadonlyArray<readonly string[]>, options: PartitionOptions = {}): void {
    const next = new Map<string, number>()
    groups.forEach((group, i) => {
      for (const id of group) {
        this.entry(id)
        if (next.has(id)) throw new RangeError(`peer ${id} is in two partition groups`)
        next.set(id, i)
      }
    })
    this.links.setGroups(next)
    this.record(`partition ${groups.map((g) => `[${g.join(',')}]`).join(' ')}`)
    this.links.closeCut(options.detectAfterMs ?? 0)
  }

  heal(): void {
    this.links.setGroups(new Map())
    this.record('heal')
  }

  isCut(a: string, b: string): boolean {
    return this.links.isCut(a, b)
  }

  // --- running ------------------------------------------------------------------------------------------------------

  async runUntil(condition: (() => boolean) | number, options?: RunOptions): Promise<void> {
    try {
      await this.scheduler.runUntil(condition, options)
    } catch (err) {
      throw this.withContext(err)
    }
  }

  runFor(ms: number): Promise<void> {
    return this.runUntil(this.scheduler.now() + ms)
  }

  async settle<T>(promise: Promise<T>, options?: RunOptions): Promise<T> {
    try {
      return await this.scheduler.settle(promise, options)
    } catch (err) {
      throw this.withContext(err)
    }
  }

  traceHash(): string {
    return this.trace.hash()
  }

  // --- internals ----------------------------------------------------------------------------------------------------

  private record(line: string): void {
    this.trace.record(this.scheduler.now(), line)
  }

  private makeTransport(entry: PeerEntry): SimulatedPeer {
    const clock: Clock = this.scheduler.clock(owner(entry), () => entry.skewMs)
    const random = this.random.fork(`peer:${entry.id}#${entry.incarnation}`)
    return createSimulatedPeer(entry.id, entry.incarnation, this.links, clock, random)
  }

  private entry(id: string): PeerEntry {
    const entry = this.entries.get(id)
    if (entry === undefined) throw new RangeError(`no peer ${id}`)
    return entry
  }

  /** Adds the seed and the last trace lines to a failure (only for errors of the run, not of the code under test). */
  private withContext(err: unknown): Error {
    if (!(err instanceof Error)) return new Error(String(err))
    const lines = this.trace.lines().slice(-40).join('\n    ')
    err.message += `\n  seed ${this.seed} (replay: CONFMESH_SEED=${this.seed}), trace ${this.traceHash()}, last events:\n    ${lines}`
    return err
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`
}

function owner(entry: PeerEntry): string {
  return `${entry.id}#${entry.incarnation}`
}
