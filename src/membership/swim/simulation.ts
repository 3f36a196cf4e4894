/**
 * A deterministic simulation of many SWIM peers (the real state machine of `swim.ts`, real encoded bytes) on a
 * simulated network in virtual time: seeded PRNG, per-link latency (a fixed base per link plus exponential jitter),
 * message loss, crashes, partitions that heal, and CPU-starved members whose event loop stalls and then runs expired
 * timers before reading the messages that arrived meanwhile (as Node's event loop does), which is what makes a slow
 * member accuse healthy ones and what Lifeguard is for. The same seed gives the same run, message for message
 * (`traceHash` folds every delivery).
 *
 * Time and event order come from the transport's {@link VirtualScheduler} (`src/transport/virtual-scheduler.ts`),
 * run synchronously (`runUntilSync`): the SWIM machine never awaits, and a 10,000-peer run has tens of millions of
 * events. The network model stays here: SWIM exchanges datagrams between any two members, not libp2p streams over
 * a connection graph, so `simulated-network.ts` does not fit it as is.
 *
 * Memory: member tables share ids and metadata through the process's interner (`member-interner.ts`), about 45
 * bytes per (peer, member) pair, so 10,000 peers (10^8 pairs) fit in about 5 GB.
 *
 * @module
 */
import * as prng from 'lib0/prng'
import { createVirtualScheduler, type VirtualScheduler } from '../../transport/virtual-scheduler.js'
import type { SwimConfig } from './config.js'
import type { SwimEvent, SwimSend, SwimTimer } from './effects.js'
import type { AliveUpdate, MemberMeta } from './member.js'
import { Swim } from './swim.js'

/** Network model. */
export interface SimNetworkInit {
  /** Smallest per-link base latency (ms). Default 0.2. */
  baseMinMs?: number
  /** Largest per-link base latency (ms). Default 2. */
  baseMaxMs?: number
  /** Mean of the exponential jitter added to each message (ms). Default 0.5. */
  jitterMeanMs?: number
  /** Probability that a message is lost (0..1). Default 0. */
  loss?: number
}

/** Options of {@link SwimSimulation}. */
export interface SwimSimulationInit {
  /** PRNG seed: the same seed replays the same run. */
  seed: number
  /** SWIM settings of every peer. */
  config?: Partial<SwimConfig>
  /** Network model. */
  network?: SimNetworkInit
  /** Called for every membership event at every peer. */
  onEvent?: (observer: string, event: SwimEvent) => void
}

/** Per-peer traffic counters. */
export interface SimTraffic {
  sent: number
  sentBytes: number
  received: number
  receivedBytes: number
  streamBytes: number
}

interface SimNode {
  readonly id: string
  readonly swim: Swim
  readonly traffic: SimTraffic
  crashed: boolean
  group: number
  stall: { runMs: number; stallMs: number; phase: number } | undefined
  held: SimEvent[]
  resumeAt: number
}

interface SimEvent {
  /** Virtual time (ms). */
  readonly at: number
  readonly node: string
  readonly from: string
  readonly bytes: Uint8Array | undefined
  readonly timer: SwimTimer | undefined
  readonly resume: boolean
}

/** Metadata of simulated peer `id`. */
export function simMeta(index: number): MemberMeta {
  return {
    weight: 1,
    tags: { zone: `z${index % 3}` },
    addresses: [`/ip4/10.0.0.1/tcp/${4000 + index}`],
    ready: true,
    startedAt: 1,
  }
}

/** Many SWIM peers on one simulated network. */
export class SwimSimulation {
  /** FNV-1a fold of every delivery (time, from, to, size): equal for equal seeds. */
  traceHash = 0x811c9dc5
  readonly #nodes = new Map<string, SimNode>()
  readonly #scheduler: VirtualScheduler = createVirtualScheduler({ startTime: 0 })
  readonly #gen: prng.PRNG
  readonly #init: SwimSimulationInit
  readonly #net: Required<SimNetworkInit>
  #delivered = 0

  constructor(init: SwimSimulationInit) {
    this.#init = init
    this.#gen = prng.create(init.seed)
    this.#net = { baseMinMs: 0.2, baseMaxMs: 2, jitterMeanMs: 0.5, loss: 0, ...init.network }
  }

  /** Virtual time (ms). */
  get now(): number {
    return this.#scheduler.now()
  }

  /** Sets the loss probability from now on. */
  setLoss(loss: number): void {
    this.#net.loss = loss
  }

  /** Adds a peer and starts it; `seeds` join it through push-pull (none: it waits to be contacted). */
  add(id: string, meta: MemberMeta, seeds: readonly string[] = []): Swim {
    const seed = prng.uint32(this.#gen, 0, 0xffffffff)
    const gen = prng.create(seed)
    const swim = new Swim({ id, meta, config: this.#init.config, random: () => gen.next() })
    const node: SimNode = {
      id,
      swim,
      traffic: { sent: 0, sentBytes: 0, received: 0, receivedBytes: 0, streamBytes: 0 },
      crashed: false,
      group: 0,
      stall: undefined,
      held: [],
      resumeAt: -1,
    }
    this.#nodes.set(id, node)
    swim.start(this.now)
    if (seeds.length > 0) swim.join(seeds, this.now)
    this.#flush(node)
    return swim
  }

  /**
   * Forms a mesh of peers that already know each other (as after an earlier join, with nothing left to
   * disseminate), so steady-state costs can be measured without the join: one push-pull carrying every peer's
   * `alive` is handed to each, and the queues it fills are cleared.
   */
  formed(ids: readonly string[], meta: (i: number) => MemberMeta = simMeta): void {
    for (let i = 0; i < ids.length; i++) this.add(ids[i] as string, meta(i))
    const all = [...this.#nodes.values()]
    const table: AliveUpdate[] = all.map((n) => ({
      type: 'alive',
      id: n.id,
      incarnation: n.swim.incarnation,
      meta: n.swim.meta,
    }))
    for (const n of all) {
      n.swim.restore(table, this.now)
      this.#flush(n) // the push-pull timer restore() moved
      n.swim.clearBroadcasts()
    }
  }

  /** The peer `id`. */
  peer(id: string): Swim {
    return (this.#nodes.get(id) as SimNode).swim
  }

  /** Peer ids, crashed ones included. */
  ids(): string[] {
    return [...this.#nodes.keys()]
  }

  /** Whether `id` is crashed. */
  crashed(id: string): boolean {
    return this.#nodes.get(id)?.crashed === true
  }

  /** Traffic counters of `id`. */
  traffic(id: string): SimTraffic {
    return (this.#nodes.get(id) as SimNode).traffic
  }

  /** Performs the effects `id`'s state machine holds (after a test drove it directly). */
  reinject(id: string): void {
    this.#flush(this.#nodes.get(id) as SimNode)
  }

  /** Announces new metadata at `id` now. */
  setMeta(id: string, meta: MemberMeta): void {
    const n = this.#nodes.get(id) as SimNode
    n.swim.setMeta(meta, this.now)
    this.#flush(n)
  }

  /** Crashes `id`: it stops, and messages to it are lost. */
  crash(id: string): void {
    const n = this.#nodes.get(id) as SimNode
    n.crashed = true
    n.held = []
  }

  /** Puts `ids` in a partition of their own: nothing crosses between them and the rest until {@link heal}. */
  partition(ids: Iterable<string>): void {
    for (const id of ids) (this.#nodes.get(id) as SimNode).group = 1
  }

  /** Heals every partition. */
  heal(): void {
    for (const n of this.#nodes.values()) n.group = 0
  }

  /** Makes `id` CPU-starved: it runs `runMs`, then stalls `stallMs`, repeatedly. */
  slow(id: string, runMs: number, stallMs: number): void {
    const n = this.#nodes.get(id) as SimNode
    n.stall = { runMs, stallMs, phase: this.now }
  }

  /** Ends `id`'s stalls (it runs normally from its next event on). */
  recover(id: string): void {
    ;(this.#nodes.get(id) as SimNode).stall = undefined
  }

  /** Runs events until virtual time `until` (or until `stop()` returns true, checked after every event). */
  runUntil(until: number, stop?: () => boolean): void {
    this.#scheduler.runUntilSync(until, stop)
  }

  /** Runs for `ms` of virtual time. */
  runFor(ms: number, stop?: () => boolean): void {
    this.runUntil(this.now + ms, stop)
  }

  /** Messages delivered so far. */
  get delivered(): number {
    return this.#delivered
  }

  #dispatch(ev: SimEvent): void {
    const node = this.#nodes.get(ev.node) as SimNode
    if (node.crashed) return
    if (ev.resume) {
      node.resumeAt = -1
      const held = node.held
      node.held = []
      // Node's event loop after a stall: expired timers first, then the I/O that arrived meanwhile. The host sees
      // its timers fire late and tells the machine (as swim-membership.ts does on a real event loop).
      for (const h of held) {
        if (h.timer === undefined) continue
        node.swim.noteStall(this.now - h.at, this.now)
        this.#run(node, h)
      }
      for (const h of held) if (h.timer === undefined) this.#run(node, h)
      return
    }
    const s = node.stall
    if (s !== undefined) {
      const cycle = s.runMs + s.stallMs
      const pos = (this.now - s.phase) % cycle
      if (pos >= s.runMs) {
        node.held.push(ev)
        if (node.resumeAt < 0) {
          node.resumeAt = this.now + (cycle - pos)
          this.#push({
            at: node.resumeAt,
            node: node.id,
            from: '',
            bytes: undefined,
            timer: undefined,
            resume: true,
          })
        }
        return
      }
    }
    this.#run(node, ev)
  }

  #run(node: SimNode, ev: SimEvent): void {
    if (ev.timer !== undefined) node.swim.handleTimer(ev.timer, this.now)
    else if (ev.bytes !== undefined) {
      node.traffic.received++
      node.traffic.receivedBytes += ev.bytes.length
      this.#delivered++
      this.traceHash = fold(fold(fold(this.traceHash, Math.round(this.now * 1000)), hashId(ev.from)), ev.bytes.length)
      node.swim.handleMessage(ev.from, ev.bytes, this.now)
    }
    this.#flush(node)
  }

  #flush(node: SimNode): void {
    const fx = node.swim.drain()
    for (const t of fx.timers) {
      this.#push({ at: t.at, node: node.id, from: '', bytes: undefined, timer: t.timer, resume: false })
    }
    for (const send of fx.sends) this.#send(node, send)
    const onEvent = this.#init.onEvent
    if (onEvent !== undefined) for (const e of fx.events) onEvent(node.id, e)
  }

  #send(node: SimNode, send: SwimSend): void {
    node.traffic.sent++
    node.traffic.sentBytes += send.bytes.length
    if (send.stream) node.traffic.streamBytes += send.bytes.length
    const to = this.#nodes.get(send.to)
    // Streams (push-pull) are reliable once connected; datagrams are lost with the configured probability.
    const lost = !send.stream && this.#gen.next() < this.#net.loss
    if (to === undefined || to.crashed || to.group !== node.group || lost) return
    const net = this.#net
    const base =
      net.baseMinMs + (net.baseMaxMs - net.baseMinMs) * unit(hashId(node.id) ^ Math.imul(hashId(to.id), 0x9e3779b1))
    const jitter = -net.jitterMeanMs * Math.log(1 - this.#gen.next())
    const at = this.now + base + jitter
    this.#push({ at, node: to.id, from: node.id, bytes: send.bytes, timer: undefined, resume: false })
  }

  #push(ev: SimEvent): void {
    this.#scheduler.at(ev.at, () => this.#dispatch(ev), 'swim', ev.node)
  }
}

function hashId(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h >>> 0
}

function fold(h: number, v: number): number {
  return Math.imul(h ^ (v >>> 0), 0x01000193) >>> 0
}

function unit(h: number): number {
  return ((Math.imul(h ^ (h >>> 16), 0x45d9f3b) >>> 0) % 1_000_003) / 1_000_003
}
