/**
 * Catch-up: a direct stream protocol (`/confmesh/<name>/sync/1.0.0`) that exchanges Yjs state vectors.
 *
 * Guarantees: the requester sends its state vector; the responder answers with exactly what the requester lacks
 * (`Y.encodeStateAsUpdate(doc, sv)`), in chunks of at most `chunkBytes`, then its own state vector; the requester
 * validates the whole update and applies it. If the request shows the requester holds changes the responder lacks,
 * the responder pulls them back, so one exchange heals both sides. Large state never travels as gossip.
 *
 * WHEN a pull runs is not decided here: the pull scheduler (`pull-scheduler.ts`) owns every trigger (new connections,
 * announces, gaps, this protocol's `ahead` event, anti-entropy, `syncNow`, the join's hold). Joiners (ring-served
 * first sync, `sync/join-sync.ts`) fetch their first state in parts (`fetchPart`, over `partsProtocol`,
 * `sync/parts.ts`) from their ring owners instead of from whichever neighbours they met first.
 *
 * Does NOT guarantee: progress while no peer is reachable (the replica keeps working alone and merges later).
 *
 * @module
 */
import { TypedEventEmitter } from 'main-event'
import * as Y from 'yjs'
import { type Clock, systemClock, timeoutSignal } from '../clock.js'
import type { Ingest } from '../doc/ingest.js'
import { MAX_CATCH_UP_REPLY_BYTES, MAX_SYNC_REQUEST_BYTES } from '../doc/limits.js'
import { SyncError } from '../errors.js'
import type { MeshLogger } from '../logger.js'
import type { Transport, TransportStream } from '../transport/transport.js'
import { decodeMessage, encodeMessage } from '../wire/codec.js'
import { hasMissing } from './gossip.js'
import { decodePartRequest, encodePartRequest, encodeUpdatePartCached, MAX_SYNC_PARTS, type SyncPart } from './parts.js'

/** Default slice size of a catch-up reply. */
export const DEFAULT_CHUNK_BYTES = 256 * 1024
/** Default largest catch-up reply accepted (the table of `doc/limits.ts`). */
export const DEFAULT_MAX_CATCH_UP_BYTES = MAX_CATCH_UP_REPLY_BYTES
/** Default time limit of one exchange. */
export const DEFAULT_CATCH_UP_TIMEOUT_MS = 30_000

/** Options of {@link createCatchUp}. */
export interface CatchUpInit {
  /** The network: streams by protocol id. */
  transport: Transport
  /** Time, for the exchange's time limit. Default: the system clock. */
  clock?: Clock
  protocol: string
  doc: Y.Doc
  /** The ingest pipeline every reply and part goes through. */
  ingest: Ingest
  logger: MeshLogger
  /** Default {@link DEFAULT_CHUNK_BYTES}. */
  chunkBytes?: number
  /** Default {@link DEFAULT_MAX_CATCH_UP_BYTES}. */
  maxBytes?: number
  /** Default {@link DEFAULT_CATCH_UP_TIMEOUT_MS}. */
  timeoutMs?: number
  /** Whether this peer may answer `from`'s catch-up request; default: everyone. */
  mayServe?: (from: string) => boolean
  /** Whether this peer asks `from` for catch-up at all (its replies could not be accepted); default: everyone. */
  mayAccept?: (from: string) => boolean
  /**
   * Awaited after a reply is encoded and before it is sent: resolves once everything in it is durable, so nothing of
   * ours leaves the process before it is on disk (see `src/persistence`). A rejection aborts the reply. Default: none.
   */
  whenDurable?: () => Promise<void>
  /** Protocol id of part requests (`sync/parts.ts`); served and used by `fetchPart` when set. Default: none. */
  partsProtocol?: string
}

/** Counters of the catch-up protocol. */
export interface CatchUpCounters {
  pulls: number
  failedPulls: number
  served: number
  bytesReceived: number
  bytesServed: number
}

/** Events of the catch-up protocol. */
export interface CatchUpEvents {
  /** A requester (`detail`, its peer id) holds changes this peer lacks: pull them back. */
  ahead: CustomEvent<string>
}

/** The catch-up protocol of one mesh. */
export interface CatchUp extends TypedEventEmitter<CatchUpEvents> {
  start(): Promise<void>
  stop(): Promise<void>
  /** Pulls from `peerId` now and resolves with the bytes received; rejects with {@link SyncError}. */
  pull(peerId: string): Promise<number>
  /**
   * Fetches (does not apply) one part of what this peer lacks from `peerId`; rejects with {@link SyncError}. Parts
   * are cut against `stateVector` (default: the current one); all parts of one split must use the same.
   */
  fetchPart(peerId: string, part: SyncPart, stateVector?: Uint8Array): Promise<Uint8Array>
  readonly counters: CatchUpCounters
}

/** Creates the catch-up protocol. */
export function createCatchUp(init: CatchUpInit): CatchUp {
  return new CatchUpProtocol(init)
}

class CatchUpProtocol extends TypedEventEmitter<CatchUpEvents> implements CatchUp {
  readonly counters: CatchUpCounters = { pulls: 0, failedPulls: 0, served: 0, bytesReceived: 0, bytesServed: 0 }
  private readonly init: CatchUpInit
  private readonly chunkBytes: number
  private readonly maxBytes: number
  private readonly timeoutMs: number
  private readonly controller = new AbortController()
  private readonly clock: Clock

  constructor(init: CatchUpInit) {
    super()
    this.init = init
    this.chunkBytes = init.chunkBytes ?? DEFAULT_CHUNK_BYTES
    this.maxBytes = init.maxBytes ?? DEFAULT_MAX_CATCH_UP_BYTES
    this.timeoutMs = init.timeoutMs ?? DEFAULT_CATCH_UP_TIMEOUT_MS
    this.clock = init.clock ?? systemClock
  }

  async start(): Promise<void> {
    const { transport } = this.init
    await transport.handle(this.init.protocol, (stream) => this.serve(stream), {
      maxInboundStreams: 32,
      maxMessageBytes: MAX_SYNC_REQUEST_BYTES,
    })
    const parts = this.init.partsProtocol
    if (parts !== undefined) {
      await transport.handle(parts, (stream) => this.serve(stream, true), {
        maxInboundStreams: 32,
        maxMessageBytes: MAX_SYNC_REQUEST_BYTES,
      })
    }
  }

  async stop(): Promise<void> {
    this.controller.abort()
    try {
      await this.init.transport.unhandle(this.init.protocol)
      if (this.init.partsProtocol !== undefined) await this.init.transport.unhandle(this.init.partsProtocol)
    } catch {
      // node already stopped
    }
  }

  async pull(peerId: string): Promise<number> {
    const sv = Y.encodeStateVector(this.init.doc)
    const update = await this.fetch(peerId, this.init.protocol, sv)
    if (update.length > 0) {
      const refused = this.init.ingest.apply(update, { from: peerId, via: 'sync' })
      if (refused !== undefined) {
        // The merge after a long partition, over the conflict-cost bound as ONE update, no longer lands here: the
        // ingest pipeline applies it in causal slices from the bytes received (`yjs-guard/planned-apply.ts`). A reply
        // still too large (more structs or bytes than one reply may hold) is fetched again in parts, each checked
        // and applied on its own, so the mesh converges instead of refusing forever.
        if ((refused as { code?: string }).code === 'ERR_UPDATE_TOO_LARGE' && this.init.partsProtocol !== undefined) {
          const bytes = await this.pullInParts(peerId, sv)
          if (bytes !== undefined) return bytes
        }
        this.counters.failedPulls++
        throw new SyncError(`catch-up reply from ${peerId} refused`, { cause: refused })
      }
    }
    return update.length
  }

  /**
   * Fetches what `stateVector` lacks from `peerId` in {@link MAX_SYNC_PARTS} slices and applies them in order;
   * returns the bytes received, or `undefined` if a slice was refused too (the caller then reports the refusal).
   */
  private async pullInParts(peerId: string, stateVector: Uint8Array): Promise<number | undefined> {
    let bytes = 0
    for (let index = 0; index < MAX_SYNC_PARTS; index++) {
      const part = await this.fetchPart(peerId, { index, count: MAX_SYNC_PARTS }, stateVector)
      bytes += part.length
      if (part.length === 0) continue
      const refused = this.init.ingest.apply(part, { from: peerId, via: 'sync' })
      if (refused !== undefined) return undefined
    }
    this.init.logger.info(`catch-up with ${peerId}: a reply over the per-update limits arrived in slices instead`)
    return bytes
  }

  fetchPart(peerId: string, part: SyncPart, stateVector?: Uint8Array): Promise<Uint8Array> {
    const protocol = this.init.partsProtocol
    if (protocol === undefined) return Promise.reject(new SyncError('no parts protocol configured'))
    return this.fetch(peerId, protocol, encodePartRequest(stateVector ?? Y.encodeStateVector(this.init.doc), part))
  }

  /** One request/reply exchange: sends `request` as the sync-request payload, returns the (unapplied) reply. */
  private async fetch(peerId: string, protocol: string, request: Uint8Array): Promise<Uint8Array> {
    if (this.init.mayAccept?.(peerId) === false) throw new SyncError(`catch-up replies from ${peerId} are not accepted`)
    this.counters.pulls++
    const signal = AbortSignal.any([this.controller.signal, timeoutSignal(this.clock, this.timeoutMs)])
    let stream: TransportStream | undefined
    try {
      stream = await this.init.transport.openStream(peerId, protocol, {
        signal,
        maxMessageBytes: this.chunkBytes + 1024,
      })
      await stream.write(encodeMessage({ kind: 'sync-request', stateVector: request }), { signal })
      const chunks: Uint8Array[] = []
      let received = 0
      for (;;) {
        const msg = decodeMessage(await readMessage(stream, signal))
        if (msg.kind === 'sync-chunk') {
          received += msg.chunk.length
          if (received > this.maxBytes) throw new SyncError(`catch-up reply exceeds ${this.maxBytes} bytes`)
          chunks.push(msg.chunk.slice())
        } else if (msg.kind === 'sync-end') {
          if (msg.totalBytes !== received) {
            throw new SyncError(`catch-up reply truncated: ${received} of ${msg.totalBytes} bytes`)
          }
          break
        } else {
          throw new SyncError(`unexpected ${msg.kind} in a catch-up reply`)
        }
      }
      await stream.close({ signal }).catch(() => {})
      this.counters.bytesReceived += received
      return chunks.length === 1 ? chunks[0]! : concat(chunks, received)
    } catch (err) {
      this.counters.failedPulls++
      stream?.abort(err as Error)
      throw err instanceof SyncError ? err : new SyncError(`catch-up with ${peerId} failed`, { cause: err })
    }
  }

  private async serve(stream: TransportStream, parts = false): Promise<void> {
    const from = stream.remotePeer
    const signal = AbortSignal.any([this.controller.signal, timeoutSignal(this.clock, this.timeoutMs)])
    try {
      if (this.init.mayServe?.(from) === false) throw new SyncError(`not serving catch-up to ${from}`)
      const req = decodeMessage(await readMessage(stream, signal))
      if (req.kind !== 'sync-request') throw new SyncError(`expected sync-request, got ${req.kind}`)
      const partRequest = parts ? decodePartRequest(req.stateVector) : undefined
      const theirs = Y.decodeStateVector(partRequest?.stateVector ?? req.stateVector)
      // Always the full diff: it carries the whole delete set, which state vectors do not describe, so lost
      // deletion-only updates heal too (the delete set is compact: ranges of ids). A part request gets its slice.
      const payload =
        partRequest === undefined
          ? Y.encodeStateAsUpdate(this.init.doc, req.stateVector)
          : encodeUpdatePartCached(this.init.doc, partRequest.stateVector, partRequest.part)
      await this.init.whenDurable?.()
      for (let off = 0; off < payload.length; off += this.chunkBytes) {
        await stream.write(encodeMessage({ kind: 'sync-chunk', chunk: payload.subarray(off, off + this.chunkBytes) }), {
          signal,
        })
      }
      await stream.write(
        encodeMessage({
          kind: 'sync-end',
          totalBytes: payload.length,
          stateVector: Y.encodeStateVector(this.init.doc),
        }),
        { signal },
      )
      await stream.close({ signal })
      this.counters.served++
      this.counters.bytesServed += payload.length
      // They hold changes we lack: pull them back so one exchange heals both sides.
      if (partRequest === undefined && hasMissing(theirs, Y.decodeStateVector(Y.encodeStateVector(this.init.doc))))
        this.safeDispatchEvent('ahead', { detail: from })
    } catch (err) {
      this.init.logger.debug(`serving catch-up to ${from} failed: ${(err as Error).message}`)
      stream.abort(err as Error)
    }
  }
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total)
  let off = 0
  for (const c of chunks) {
    out.set(c, off)
    off += c.length
  }
  return out
}

/** The next message of a catch-up stream; a stream that ends first is an error. */
async function readMessage(stream: TransportStream, signal: AbortSignal): Promise<Uint8Array> {
  const message = await stream.read({ signal })
  if (message === undefined) throw new SyncError(`catch-up stream with ${stream.remotePeer} ended early`)
  return message
}
