/**
 * One end of a simulated stream (`simulated-network.ts`): whole messages, in order, with half-close and reset, as
 * the seam's stream contract (`transport.ts`) says. Frames travel through a {@link StreamWire} the network provides,
 * which applies the link's latency, keeps them in order and drops them once their connection is gone.
 *
 * @module
 */
import { MessageTooLargeError, StreamResetError, TransportAbortedError } from './errors.js'
import type { TransportStream } from './transport.js'

/** A frame between the two ends of a stream. */
export type StreamFrame = { kind: 'data'; data: Uint8Array } | { kind: 'fin' } | { kind: 'rst'; reason: string }

/** How frames reach the other end. */
export interface StreamWire {
  /** Delivers `frame` to `to` after the link's latency, in order; dropped if the connection closed meanwhile. */
  send(to: SimulatedStreamEnd, frame: StreamFrame): void
}

interface Waiter {
  resolve(value: Uint8Array | undefined): void
  reject(err: Error): void
}

/** One end of a simulated stream. */
export class SimulatedStreamEnd implements TransportStream {
  /** The other end (set right after both are made). */
  other!: SimulatedStreamEnd
  /** Called once when this end is finished (both sides closed, or reset). */
  onDone: (() => void) | undefined
  private readonly inbox: Uint8Array[] = []
  private remoteFin = false
  private localFin = false
  private resetError: Error | undefined
  private waiter: Waiter | undefined
  private done = false

  constructor(
    readonly remotePeer: string,
    readonly protocol: string,
    private readonly wire: StreamWire,
    /** Largest message this end reads; may be set once the handler is known. */
    public maxMessageBytes: number,
  ) {}

  /** Whether the stream was reset on this side. */
  get isReset(): boolean {
    return this.resetError !== undefined
  }

  async write(message: Uint8Array, options?: { signal?: AbortSignal }): Promise<void> {
    if (options?.signal?.aborted === true) throw new TransportAbortedError('write aborted')
    if (this.resetError !== undefined) throw this.resetError
    if (this.localFin) throw new StreamResetError(`write after close on ${this.protocol}`)
    this.wire.send(this.other, { kind: 'data', data: message.slice() })
  }

  read(options?: { signal?: AbortSignal }): Promise<Uint8Array | undefined> {
    const next = this.inbox.shift()
    if (next !== undefined) return Promise.resolve(next)
    if (this.resetError !== undefined) return Promise.reject(this.resetError)
    if (this.remoteFin) {
      this.maybeDone()
      return Promise.resolve(undefined)
    }
    const signal = options?.signal
    if (signal?.aborted === true) return Promise.reject(new TransportAbortedError('read aborted'))
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.waiter = undefined
        reject(new TransportAbortedError('read aborted'))
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.waiter = {
        resolve: (v) => {
          signal?.removeEventListener('abort', onAbort)
          resolve(v)
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort)
          reject(e)
        },
      }
    })
  }

  async close(): Promise<void> {
    if (this.localFin || this.resetError !== undefined) return
    this.localFin = true
    this.wire.send(this.other, { kind: 'fin' })
    this.maybeDone()
  }

  abort(reason?: Error): void {
    if (this.resetError !== undefined) return
    this.reset(new StreamResetError(`stream ${this.protocol} aborted: ${reason?.message ?? 'no reason'}`))
    this.wire.send(this.other, { kind: 'rst', reason: reason?.message ?? 'aborted' })
  }

  /** A frame from the other end arrived. */
  receive(frame: StreamFrame): void {
    if (this.resetError !== undefined) return
    switch (frame.kind) {
      case 'data':
        if (frame.data.byteLength > this.maxMessageBytes) {
          this.reset(
            new MessageTooLargeError(
              `${this.remotePeer} sent a ${frame.data.byteLength}-byte message on ${this.protocol} (limit ${this.maxMessageBytes})`,
            ),
          )
          this.wire.send(this.other, { kind: 'rst', reason: 'message too large' })
          return
        }
        if (this.waiter !== undefined) this.takeWaiter().resolve(frame.data)
        else this.inbox.push(frame.data)
        return
      case 'fin':
        this.remoteFin = true
        if (this.waiter !== undefined && this.inbox.length === 0) this.takeWaiter().resolve(undefined)
        this.maybeDone()
        return
      case 'rst':
        this.reset(new StreamResetError(`stream ${this.protocol} reset by ${this.remotePeer}: ${frame.reason}`))
    }
  }

  /** Resets this end locally (its connection closed, its peer stopped, or a frame was refused). */
  reset(err: Error): void {
    if (this.resetError !== undefined) return
    this.resetError = err
    this.inbox.length = 0
    if (this.waiter !== undefined) this.takeWaiter().reject(err)
    this.finish()
  }

  private takeWaiter(): Waiter {
    const w = this.waiter!
    this.waiter = undefined
    return w
  }

  private maybeDone(): void {
    if (this.localFin && this.remoteFin && this.inbox.length === 0) this.finish()
  }

  private finish(): void {
    if (this.done) return
    this.done = true
    this.onDone?.()
  }
}
