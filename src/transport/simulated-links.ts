/**
 * The links of the simulated network (`simulated-network.ts`): connections between peers, the frames on them, and
 * the faults of each link (`link-model.ts`). This is the fabric every peer's transport (`simulated-transport.ts`)
 * sends through.
 *
 * Guarantees: control and stream frames of one connection and direction arrive in the order sent (TCP); gossip hops
 * may be lost, duplicated or (with `reorder`) overtake each other; a frame whose connection closed, whose receiver
 * crashed or restarted, or that crosses a partition when it is sent or when it arrives, is lost (and counted); a close
 * reaches the initiator at once and the other side one latency later (a crash: only the other side); when a side
 * learns of the close, its streams reset and its stream opens not yet answered fail (as libp2p's `newStream` on a
 * closing connection), instead of waiting for their own deadline.
 *
 * @module
 */
import {
  DialError,
  DialRefusedError,
  StreamResetError,
  TransportAbortedError,
  TransportStoppedError,
  UnsupportedProtocolError,
} from './errors.js'
import { type LinkModel, sampleLatency } from './link-model.js'
import type { SeededRandom } from './seeded-random.js'
import { SimulatedStreamEnd, type StreamFrame } from './simulated-stream.js'
import type { ControlFrame, GossipFrame, SimulatedFabric, SimulatedPeer } from './simulated-transport.js'
import type { SimulationTrace } from './simulation-trace.js'
import type { VirtualScheduler } from './virtual-scheduler.js'

/** Counters of the whole network. */
export interface SimulatedNetworkCounters {
  /** Frames sent (gossip hops, control and stream frames). */
  frames: number
  lostToLoss: number
  lostToPartition: number
  lostOverSize: number
  lostToClosed: number
  duplicated: number
}

/** A peer as the links see it. */
export interface LinkedPeer {
  readonly id: string
  readonly address: string
  readonly incarnation: number
  readonly transport: SimulatedPeer
}

/** What the links need from the network. */
export interface SimulatedLinksInit {
  scheduler: VirtualScheduler
  trace: SimulationTrace
  /** The stream of every link decision (latency, loss, duplication). */
  random: SeededRandom
  /** The model of the link between two peers. */
  modelOf(a: string, b: string): LinkModel
  /** A peer by id (throws if unknown). */
  peer(id: string): LinkedPeer
  /** Whether `id` exists. */
  exists(id: string): boolean
  maxMessageBytes: number
  seenTtlMs: number
  relayDegree: number
  dialTimeoutMs: number
}

interface Link {
  readonly id: number
  readonly a: string
  readonly b: string
  /** Both sides may send. */
  open: boolean
  /** Sides that still consider it open (a side learns of a remote close one latency later). */
  readonly sides: Set<string>
  /** Latest arrival per direction (`from>to`), for in-order delivery. */
  readonly last: Map<string, number>
  readonly ends: Array<{ owner: string; end: SimulatedStreamEnd }>
  /**
   * Stream opens still waiting for their answer, by the side that opens: when that side learns of the close they
   * fail at once, as libp2p's `newStream` does on a closing connection. (Their request or answer may be lost with
   * the connection; without this the opener would wait for its own deadline, e.g. a 30 s catch-up timeout.)
   */
  readonly opening: Array<{ owner: string; fail: (err: Error) => void }>
  readonly inbound: Map<string, number>
}

/** The connections of a simulated network and the frames on them. */
export class SimulatedLinks implements SimulatedFabric {
  readonly errors: Error[] = []
  readonly counters: SimulatedNetworkCounters = {
    frames: 0,
    lostToLoss: 0,
    lostToPartition: 0,
    lostOverSize: 0,
    lostToClosed: 0,
    duplicated: 0,
  }
  readonly maxMessageBytes: number
  readonly seenTtlMs: number
  readonly relayDegree: number
  private readonly init: SimulatedLinksInit
  private readonly scheduler: VirtualScheduler
  private readonly linkRandom: SeededRandom
  private readonly links = new Map<string, Link>()
  private readonly dials = new Map<string, Promise<void>>()
  private groups = new Map<string, number>()
  private nextLink = 0

  constructor(init: SimulatedLinksInit) {
    this.init = init
    this.scheduler = init.scheduler
    this.linkRandom = init.random
    this.maxMessageBytes = init.maxMessageBytes
    this.seenTtlMs = init.seenTtlMs
    this.relayDegree = init.relayDegree
  }

  /** Sets the partition: peer id -> group (empty: none). */
  setGroups(groups: Map<string, number>): void {
    this.groups = groups
  }

  /** Whether a partition separates `a` and `b`. */
  isCut(a: string, b: string): boolean {
    if (this.groups.size === 0) return false
    return (this.groups.get(a) ?? -1) !== (this.groups.get(b) ?? -1)
  }

  /** Closes every connection across the partition, after `detectAfterMs` (if it still stands then). */
  closeCut(detectAfterMs: number): void {
    for (const link of [...this.links.values()]) {
      if (!this.isCut(link.a, link.b)) continue
      if (detectAfterMs <= 0) this.closeLink(link, undefined)
      else {
        this.scheduler.at(
          this.scheduler.now() + detectAfterMs,
          () => {
            if (link.open && this.isCut(link.a, link.b)) this.closeLink(link, undefined)
          },
          'partition-detect',
        )
      }
    }
  }

  record(line: string, data?: Uint8Array): void {
    this.init.trace.record(this.scheduler.now(), line, data)
  }

  exists(peerId: string): boolean {
    return this.init.exists(peerId)
  }

  addressOf(peerId: string): string {
    return this.init.peer(peerId).address
  }

  reportError(peerId: string, err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err))
    this.record(`error ${peerId} ${error.name}: ${error.message}`)
    this.errors.push(error)
  }

  neighbours(peerId: string): string[] {
    const out: string[] = []
    for (const link of this.links.values()) {
      if (!link.sides.has(peerId)) continue
      out.push(link.a === peerId ? link.b : link.a)
    }
    return out.sort()
  }

  isConnected(a: string, b: string): boolean {
    return this.links.get(pairKey(a, b))?.sides.has(a) === true
  }

  dial(from: string, to: string, signal?: AbortSignal): Promise<void> {
    if (this.isConnected(from, to)) return Promise.resolve()
    const key = `${from}>${to}`
    const pending = this.dials.get(key)
    if (pending !== undefined) return pending
    const fromInc = this.init.peer(from).incarnation
    const startedAt = this.scheduler.now()
    const promise = new Promise<void>((resolve, reject) => {
      let done = false
      const finish = (err?: Error): void => {
        if (done) return
        done = true
        this.dials.delete(key)
        signal?.removeEventListener('abort', onAbort)
        if (err === undefined) resolve()
        else reject(err)
      }
      const onAbort = (): void => finish(new TransportAbortedError(`dial ${to} aborted`))
      if (signal?.aborted === true) {
        onAbort()
        return
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.record(`dial ${from}>${to}`)
      const rtt = 2 * sampleLatency(this.init.modelOf(from, to).latency, this.linkRandom)
      this.scheduler.at(
        startedAt + rtt,
        () => {
          if (done) return
          const source = this.init.peer(from)
          if (source.incarnation !== fromInc || !source.transport.running) {
            finish(new TransportStoppedError(`${from} stopped while dialling`))
            return
          }
          if (this.isConnected(from, to)) {
            finish()
            return
          }
          if (this.isCut(from, to)) {
            this.scheduler.at(
              startedAt + this.init.dialTimeoutMs,
              () => finish(new DialError(`dial ${to} timed out (partition)`)),
              'dial-timeout',
            )
            return
          }
          if (!this.init.peer(to).transport.running) {
            finish(new DialRefusedError(`dial ${to}: connection refused`))
            return
          }
          this.openLink(from, to)
          finish()
        },
        'dial',
      )
    })
    this.dials.set(key, promise)
    return promise
  }

  hangUp(from: string, to: string): void {
    const link = this.links.get(pairKey(from, to))
    if (link !== undefined) this.closeLink(link, from)
  }

  stopped(peerId: string): void {
    for (const link of [...this.links.values()])
      if (link.a === peerId || link.b === peerId) this.closeLink(link, peerId)
  }

  sendGossip(from: string, to: string, frame: GossipFrame): void {
    const link = this.links.get(pairKey(from, to))
    if (link === undefined || !link.open) {
      this.lost('closed', from, to, frame.id)
      return
    }
    if (frame.data.byteLength > this.maxMessageBytes) {
      this.lost('size', from, to, frame.id)
      return
    }
    this.transmit(link, from, to, true, `gossip ${frame.id}`, frame.data, () =>
      this.init.peer(to).transport.onGossip(from, frame),
    )
  }

  sendControl(from: string, to: string, frame: ControlFrame): void {
    const link = this.links.get(pairKey(from, to))
    if (link === undefined || !link.open) return
    const what =
      frame.kind === 'identify' ? `identify ${frame.protocols.join(',')}` : `sub ${frame.topic} ${frame.subscribed}`
    this.transmit(link, from, to, false, what, undefined, () => this.init.peer(to).transport.onControl(from, frame))
  }

  openStream(
    from: string,
    to: string,
    protocol: string,
    maxMessageBytes: number,
    signal?: AbortSignal,
  ): Promise<SimulatedStreamEnd> {
    const link = this.links.get(pairKey(from, to))
    if (link === undefined || !link.open) return Promise.reject(new DialError(`not connected to ${to}`))
    return new Promise<SimulatedStreamEnd>((resolve, reject) => {
      let settled = false
      const pending = { owner: from, fail: (err: Error): void => fail(err) }
      const done = (): void => {
        settled = true
        const at = link.opening.indexOf(pending)
        if (at >= 0) link.opening.splice(at, 1)
      }
      const fail = (err: Error): void => {
        if (settled) return
        done()
        reject(err)
      }
      link.opening.push(pending)
      signal?.addEventListener('abort', () => fail(new TransportAbortedError(`open ${protocol} aborted`)), {
        once: true,
      })
      const request = (): void => {
        const handler = this.init.peer(to).transport.handlerFor(protocol)
        const reply = (fn: () => void, what: string): void => this.transmit(link, to, from, false, what, undefined, fn)
        if (handler === undefined) {
          reply(() => fail(new UnsupportedProtocolError(`${to} does not handle ${protocol}`)), 'unsupported')
          return
        }
        const slot = `${to} ${protocol}`
        const open = link.inbound.get(slot) ?? 0
        if (open >= handler.maxInboundStreams) {
          reply(() => fail(new StreamResetError(`${to} refused a stream: too many ${protocol}`)), 'refused')
          return
        }
        link.inbound.set(slot, open + 1)
        const mine = new SimulatedStreamEnd(to, protocol, this.wire(link, from, to), maxMessageBytes)
        const theirs = new SimulatedStreamEnd(from, protocol, this.wire(link, to, from), handler.maxMessageBytes)
        mine.other = theirs
        theirs.other = mine
        theirs.onDone = () => link.inbound.set(slot, (link.inbound.get(slot) ?? 1) - 1)
        link.ends.push({ owner: from, end: mine }, { owner: to, end: theirs })
        this.record(`stream ${from}>${to} ${protocol}`)
        Promise.resolve()
          .then(() => handler.handler(theirs))
          .catch((err: unknown) => theirs.abort(err as Error))
        reply(() => {
          if (settled || mine.isReset) {
            mine.abort(new TransportAbortedError('opener gave up'))
            fail(new StreamResetError(`stream ${protocol} to ${to} reset while opening`))
            return
          }
          done()
          resolve(mine)
        }, `stream-ok ${protocol}`)
      }
      this.transmit(link, from, to, false, `open ${protocol}`, undefined, request)
    })
  }

  // --- internals ----------------------------------------------------------------------------------------------------

  private openLink(from: string, to: string): void {
    const [a, b] = from < to ? [from, to] : [to, from]
    const stale = this.links.get(pairKey(a, b))
    // a side that has not noticed the old connection's close yet notices now, before the new one opens
    if (stale !== undefined) for (const side of [...stale.sides]) this.closeSide(stale, side, true)
    const link: Link = {
      id: this.nextLink++,
      a,
      b,
      open: true,
      sides: new Set([a, b]),
      last: new Map(),
      ends: [],
      opening: [],
      inbound: new Map(),
    }
    this.links.set(pairKey(a, b), link)
    this.record(`connect ${from}>${to} #${link.id}`)
    this.init.peer(from).transport.onConnect(to)
    this.init.peer(to).transport.onConnect(from)
  }

  /** Closes `link`: `initiator`'s side at once, the other after one latency; no initiator: both at once. */
  private closeLink(link: Link, initiator: string | undefined): void {
    if (!link.open) return
    link.open = false
    this.record(`disconnect ${link.a}-${link.b} #${link.id} by ${initiator ?? 'network'}`)
    if (initiator === undefined) {
      this.closeSide(link, link.a, true)
      this.closeSide(link, link.b, true)
      return
    }
    this.closeSide(link, initiator, true)
    const other = initiator === link.a ? link.b : link.a
    const otherInc = this.init.peer(other).incarnation
    const delay = sampleLatency(this.init.modelOf(link.a, link.b).latency, this.linkRandom)
    this.scheduler.at(
      this.scheduler.now() + delay,
      // a restarted peer never knew this connection: its side goes without an event
      () => this.closeSide(link, other, this.init.peer(other).incarnation === otherInc),
      'disconnect',
    )
  }

  /** One side of a closed link learns of the close: its streams reset, it sees `peer:disconnect` (if `notify`). */
  private closeSide(link: Link, side: string, notify: boolean): void {
    if (!link.sides.delete(side)) return
    if (link.sides.size === 0 && this.links.get(pairKey(link.a, link.b)) === link) {
      this.links.delete(pairKey(link.a, link.b))
    }
    for (const { owner: o, end } of link.ends) if (o === side) end.reset(new StreamResetError('connection closed'))
    for (const { owner: o, fail } of [...link.opening]) {
      if (o === side) fail(new StreamResetError('connection closed while a stream was opening'))
    }
    if (notify) this.init.peer(side).transport.onDisconnect(side === link.a ? link.b : link.a)
  }

  private wire(link: Link, from: string, to: string): { send(end: SimulatedStreamEnd, frame: StreamFrame): void } {
    return {
      send: (end, frame) => {
        if (!link.open) return
        const data = frame.kind === 'data' ? frame.data : undefined
        this.transmit(link, from, to, false, `stream-${frame.kind}`, data, () => end.receive(frame))
      },
    }
  }

  /** Sends one frame over `link` after its latency; lossy frames may be lost, duplicated and (if set) reordered. */
  private transmit(
    link: Link,
    from: string,
    to: string,
    lossy: boolean,
    what: string,
    data: Uint8Array | undefined,
    deliver: () => void,
  ): void {
    this.counters.frames++
    if (this.isCut(from, to)) {
      this.lost('partition', from, to, what)
      return
    }
    const model = this.init.modelOf(from, to)
    if (lossy && this.linkRandom.chance(model.loss)) {
      this.lost('loss', from, to, what)
      return
    }
    const direction = `${from}>${to}`
    let arrival = this.scheduler.now() + sampleLatency(model.latency, this.linkRandom)
    if (!lossy || !model.reorder) {
      arrival = Math.max(arrival, link.last.get(direction) ?? 0)
      link.last.set(direction, arrival)
    }
    const toInc = this.init.peer(to).incarnation
    const arrive = (copy: string): void => {
      if (!link.open || this.init.peer(to).incarnation !== toInc) {
        this.lost('closed', from, to, what)
        return
      }
      if (this.isCut(from, to)) {
        this.lost('partition', from, to, what)
        return
      }
      this.record(`recv${copy} ${direction} ${what}`, data)
      deliver()
    }
    this.scheduler.at(arrival, () => arrive(''), 'frame')
    if (lossy && this.linkRandom.chance(model.duplicate)) {
      this.counters.duplicated++
      this.scheduler.at(arrival + sampleLatency(model.latency, this.linkRandom), () => arrive(' (copy)'), 'frame')
    }
  }

  private lost(reason: 'loss' | 'partition' | 'size' | 'closed', from: string, to: string, what: string): void {
    if (reason === 'loss') this.counters.lostToLoss++
    else if (reason === 'partition') this.counters.lostToPartition++
    else if (reason === 'size') this.counters.lostOverSize++
    else this.counters.lostToClosed++
    this.record(`lost:${reason} ${from}>${to} ${what}`)
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`
}
