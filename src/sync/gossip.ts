/**
 * Push: local changes go out on the mesh's gossipsub topic; remote ones come in through the ingest pipeline
 * (`doc/ingest.ts`), parsed once: the topic validator's parse is the one delivery applies.
 *
 * Guarantees: the local updates of one event-loop tick are merged (`Y.mergeUpdates`) into ONE signed gossip message;
 * remote updates are never echoed back (only transactions with a local origin are published); a message that fails
 * validation is rejected in the topic validator, so it is neither delivered nor forwarded and gossipsub's peer
 * scoring punishes the sender. A change too large for one gossip message is announced instead (`announce` carries
 * the state vector) and peers pull it over the catch-up stream.
 *
 * Does NOT guarantee delivery: gossip is lossy by nature. Missed messages are healed by the catch-up protocol
 * (on connect, on a detected gap, and by periodic anti-entropy).
 *
 * @module
 */
import * as Y from 'yjs'
import type { Ingest, ParsedUpdate } from '../doc/ingest.js'
import { ConfmeshError, InvalidMessageError } from '../errors.js'
import type { MeshLogger } from '../logger.js'
import type { TopicMessage, Transport, Verdict } from '../transport/transport.js'
import { decodeMessage, encodeMessage } from '../wire/codec.js'

/** Up to this many updates of one tick are merged; more are replaced by a diff of the document. */
const MAX_MERGE = 16

/** Options of {@link createGossip}. */
export interface GossipInit {
  /** The network (publish/subscribe with validation). */
  transport: Transport
  topic: string
  doc: Y.Doc
  /** The ingest pipeline: the topic validator parses and authorises, delivery applies that same parse. */
  ingest: Ingest
  logger: MeshLogger
  /** Whether a transaction origin is a local change that must be published. */
  isLocalOrigin: (origin: unknown) => boolean
  /** Largest update sent as one gossip message; larger ones are announced. */
  maxMessageBytes: number
  /** Asked to pull from a peer (after an `announce`). */
  requestPull: (peerId: string) => void
  /**
   * Awaited before local updates are published: resolves once they are durable, so nothing of ours leaves the process
   * before it is on disk (what makes reusing the writer id after a crash safe; see `src/persistence`). A rejection
   * skips the publish (peers catch up later). Default: publish at once.
   */
  whenDurable?: () => Promise<void>
  /**
   * This peer's writer epoch, sent with every update so receivers can check that its Yjs client id is
   * `clientIdFor(peerId, epoch)` (security, `security/writers.ts`). Default: none (plain `update` messages).
   */
  epoch?: () => number | undefined
  /** Whether `publisher` may publish on the document topic at all (security: writers). Default: everyone. */
  mayPublish?: (publisher: string) => boolean
}

/** The gossip channel of one mesh. */
export interface Gossip {
  start(): void
  stop(): void
  /** Resolves once every local change made so far has been handed to gossipsub. */
  flush(): Promise<void>
  /** Counters. */
  readonly counters: { published: number; announced: number; received: number; rejected: number }
}

/** Creates the gossip channel. */
export function createGossip(init: GossipInit): Gossip {
  return new GossipChannel(init)
}

class GossipChannel implements Gossip {
  readonly counters = { published: 0, announced: 0, received: 0, rejected: 0 }
  private readonly init: GossipInit
  private buffer: Uint8Array[] = []
  /** The document's state vector at the last flush: the base of a burst's diff. */
  private flushedStateVector: Uint8Array = new Uint8Array([0])
  private scheduled: Promise<void> | undefined
  /** Parses made by the topic validator, by message: the transport hands the same message object to `validate` and
   * then to `onMessage`, so delivery applies the validator's parse instead of parsing again. */
  private readonly parsed = new WeakMap<TopicMessage, ParsedUpdate>()
  private running = false
  private readonly onUpdate = (update: Uint8Array, origin: unknown): void => {
    if (!this.running || !this.init.isLocalOrigin(origin)) return
    this.buffer.push(update)
    this.scheduled ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.publishBuffered())
  }
  /**
   * Whether `onUpdate` listens. Yjs encodes every transaction's update whenever anyone listens to `update`, which
   * for a remote transaction (a 12 MB join, a gossip apply) is a full re-encode nobody here needs: the listener is
   * attached when a local transaction starts and detached when a remote one starts while no local transaction is
   * still being cleaned up (a transaction an observer opens runs inside the cleanup of the one before, whose
   * `update` comes after it; `afterAllTransactions` ends them all).
   */
  private listening = false
  private localInFlight = false
  private readonly onBeforeTransaction = (transaction: Y.Transaction): void => {
    if (this.init.isLocalOrigin(transaction.origin)) {
      this.localInFlight = true
      if (!this.listening) {
        this.listening = true
        this.init.doc.on('update', this.onUpdate)
      }
    } else if (this.listening && !this.localInFlight) {
      this.listening = false
      this.init.doc.off('update', this.onUpdate)
    }
  }
  private readonly onAfterAll = (): void => {
    this.localInFlight = false
  }

  constructor(init: GossipInit) {
    this.init = init
  }

  start(): void {
    if (this.running) return
    this.running = true
    this.init.transport.subscribe(this.init.topic, {
      validate: (msg) => this.validate(msg),
      onMessage: (msg) => this.handle(msg.from, msg.data, this.parsed.get(msg)),
    })
    this.flushedStateVector = Y.encodeStateVector(this.init.doc)
    this.init.doc.on('beforeTransaction', this.onBeforeTransaction)
    this.init.doc.on('afterAllTransactions', this.onAfterAll)
  }

  stop(): void {
    if (!this.running) return
    this.running = false
    this.init.doc.off('beforeTransaction', this.onBeforeTransaction)
    this.init.doc.off('afterAllTransactions', this.onAfterAll)
    if (this.listening) this.init.doc.off('update', this.onUpdate)
    this.listening = false
    this.init.transport.unsubscribe(this.init.topic)
  }

  async flush(): Promise<void> {
    while (this.scheduled !== undefined) await this.scheduled
  }

  private validate(msg: TopicMessage): Verdict {
    if (this.init.mayPublish?.(msg.from) === false) {
      this.counters.rejected++
      this.init.logger.warn(`rejected gossip from ${msg.from}: NotAuthorized: not a writer`)
      return 'reject'
    }
    try {
      const decoded = decodeMessage(msg.data)
      if (decoded.kind === 'update') {
        const parsed = this.init.ingest.parse(decoded.update, {
          from: msg.from,
          via: 'gossip',
          ...(decoded.epoch === undefined ? {} : { epoch: decoded.epoch }),
        })
        if (parsed instanceof ConfmeshError) {
          this.counters.rejected++
          return 'reject'
        }
        this.parsed.set(msg, parsed)
      } else if (decoded.kind !== 'announce') {
        throw new InvalidMessageError(`unexpected ${decoded.kind} message on the document topic`)
      }
      return 'accept'
    } catch (err) {
      this.counters.rejected++
      this.init.logger.warn(`rejected gossip from ${msg.from}: ${(err as Error).name}: ${(err as Error).message}`)
      return 'reject'
    }
  }

  private handle(from: string, data: Uint8Array, parsed: ParsedUpdate | undefined): void {
    this.counters.received++
    try {
      if (parsed !== undefined) {
        // The topic validator parsed and authorised it: apply that parse (the authorisation runs again, cheaply).
        this.init.ingest.applyParsed(parsed)
        return
      }
      const msg = decodeMessage(data)
      if (msg.kind === 'update') {
        this.init.ingest.apply(msg.update, {
          from,
          via: 'gossip',
          ...(msg.epoch === undefined ? {} : { epoch: msg.epoch }),
        })
      } else if (msg.kind === 'announce') {
        const theirs = Y.decodeStateVector(msg.stateVector)
        const ours = Y.encodeStateVector(this.init.doc)
        if (hasMissing(theirs, Y.decodeStateVector(ours))) this.init.requestPull(from)
      }
    } catch (err) {
      const msg = err instanceof ConfmeshError ? `${err.name}: ${err.message}` : String(err)
      this.init.logger.warn(`dropped gossip from ${from}: ${msg}`)
    }
  }

  private async publishBuffered(): Promise<void> {
    const updates = this.buffer
    this.buffer = []
    this.scheduled = undefined
    if (updates.length === 0 || !this.running) return
    const { transport, topic, doc } = this.init
    // Few updates: merge them. Many (a burst): Y.mergeUpdates grows superlinearly (10,000 small updates take seconds),
    // so send the document's diff since the last flush instead: the same structs (already garbage-collected where
    // deleted) plus the delete set, which is compact.
    const update =
      updates.length === 1
        ? updates[0]!
        : updates.length <= MAX_MERGE
          ? Y.mergeUpdates(updates)
          : Y.encodeStateAsUpdate(doc, ownOnly(doc, this.flushedStateVector))
    this.flushedStateVector = Y.encodeStateVector(doc)
    try {
      await this.init.whenDurable?.()
      if (update.length + 2 <= this.init.maxMessageBytes) {
        const epoch = this.init.epoch?.()
        await transport.publish(
          topic,
          encodeMessage({ kind: 'update', update, ...(epoch === undefined ? {} : { epoch }) }),
        )
        this.counters.published++
      } else {
        await transport.publish(topic, encodeMessage({ kind: 'announce', stateVector: Y.encodeStateVector(doc) }))
        this.counters.announced++
      }
    } catch (err) {
      // Not fatal: peers heal by catch-up (anti-entropy). Logged so operators see it.
      if (this.running) this.init.logger.warn(`publish failed: ${(err as Error).message}`)
    }
  }
}

/**
 * The state vector to diff a burst against: `flushed` for this peer's own client, the document's current state for
 * every other one, so a burst carries only this peer's structs (plus the delete set), never remote structs that
 * arrived in between (receivers check that a publisher's update holds only its own client's structs).
 */
function ownOnly(doc: Y.Doc, flushed: Uint8Array): Uint8Array {
  const sv = Y.decodeStateVector(Y.encodeStateVector(doc))
  sv.set(doc.clientID, Y.decodeStateVector(flushed).get(doc.clientID) ?? 0)
  return Y.encodeStateVector(sv)
}

/** Whether `theirs` has any client clock ahead of `ours`. */
export function hasMissing(theirs: Map<number, number>, ours: Map<number, number>): boolean {
  for (const [client, clock] of theirs) if ((ours.get(client) ?? 0) < clock) return true
  return false
}
