/**
 * A libp2p stream as a {@link TransportStream}: length-prefixed messages (unsigned LEB128 length, then the bytes:
 * the framing `@libp2p/utils`' `lpStream` writes, so peers running older code read it unchanged).
 *
 * Unlike `lpStream`, a clean end of the stream at a message boundary reads as `undefined` (not an EOF error), an end
 * inside a message and a reset read as {@link StreamResetError}, and a length over the limit is refused before its
 * bytes are buffered ({@link MessageTooLargeError}, and the stream is reset).
 *
 * @module
 */
import type { Stream } from '@libp2p/interface'
import { byteStream } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { MessageTooLargeError, StreamResetError, TransportAbortedError } from './errors.js'
import type { TransportStream } from './transport.js'

/** Bytes of the longest length prefix read (a LEB128 varint up to 2^53). */
const MAX_LENGTH_BYTES = 8

/** Wraps `stream` (opened for `protocol` with `remotePeer`); reads refuse messages over `maxMessageBytes`. */
export function libp2pTransportStream(
  stream: Stream,
  remotePeer: string,
  protocol: string,
  maxMessageBytes: number,
): TransportStream {
  return new Libp2pStream(stream, remotePeer, protocol, maxMessageBytes)
}

/** The unsigned LEB128 encoding of `n`. */
export function encodeLength(n: number): Uint8Array {
  const out: number[] = []
  let v = n
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80)
    v = Math.floor(v / 0x80)
  }
  out.push(v)
  return Uint8Array.from(out)
}

class Libp2pStream implements TransportStream {
  private readonly bytes: ReturnType<typeof byteStream<Stream>>
  private readonly buffer = new Uint8ArrayList()
  private ended = false

  constructor(
    private readonly stream: Stream,
    readonly remotePeer: string,
    readonly protocol: string,
    private readonly maxMessageBytes: number,
  ) {
    this.bytes = byteStream(stream, { maxBufferSize: Math.max(4 * 1024 * 1024, maxMessageBytes + 64) })
  }

  async write(message: Uint8Array, options?: { signal?: AbortSignal }): Promise<void> {
    try {
      await this.bytes.write(new Uint8ArrayList(encodeLength(message.byteLength), message), options)
    } catch (err) {
      throw mapError(err, options?.signal)
    }
  }

  async read(options?: { signal?: AbortSignal }): Promise<Uint8Array | undefined> {
    try {
      for (;;) {
        const frame = this.takeFrame()
        if (frame !== undefined) return frame
        if (this.ended) {
          if (this.buffer.byteLength > 0) throw new StreamResetError('stream ended inside a message')
          return undefined
        }
        const chunk = await this.bytes.read(options)
        if (chunk === null) {
          if (this.stream.status === 'reset' || this.stream.status === 'aborted') {
            throw new StreamResetError(`stream ${this.protocol} with ${this.remotePeer} was reset`)
          }
          this.ended = true
        } else {
          this.buffer.append(chunk)
        }
      }
    } catch (err) {
      throw mapError(err, options?.signal)
    }
  }

  async close(options?: { signal?: AbortSignal }): Promise<void> {
    try {
      await this.stream.close(options)
    } catch (err) {
      throw mapError(err, options?.signal)
    }
  }

  abort(reason?: Error): void {
    this.stream.abort(reason ?? new StreamResetError('aborted'))
  }

  /** The next whole message in the buffer, or `undefined` if it has not fully arrived. */
  private takeFrame(): Uint8Array | undefined {
    let length = 0
    let scale = 1
    let prefix = 0
    for (;;) {
      if (prefix >= this.buffer.byteLength) return undefined
      const byte = this.buffer.get(prefix++)
      length += (byte & 0x7f) * scale
      scale *= 0x80
      if ((byte & 0x80) === 0) break
      if (prefix >= MAX_LENGTH_BYTES) this.refuse(`a message length prefix over ${MAX_LENGTH_BYTES} bytes`)
    }
    if (length > this.maxMessageBytes) this.refuse(`a ${length}-byte message (limit ${this.maxMessageBytes})`)
    if (this.buffer.byteLength < prefix + length) return undefined
    const frame = this.buffer.subarray(prefix, prefix + length)
    this.buffer.consume(prefix + length)
    return frame
  }

  private refuse(what: string): never {
    const err = new MessageTooLargeError(`${this.remotePeer} sent ${what} on ${this.protocol}`)
    this.stream.abort(err)
    throw err
  }
}

/** Maps libp2p's stream errors onto the seam's. */
function mapError(err: unknown, signal: AbortSignal | undefined): Error {
  if (err instanceof MessageTooLargeError || err instanceof StreamResetError) return err
  if (signal?.aborted === true) return new TransportAbortedError('aborted', { cause: err })
  return new StreamResetError((err as Error).message ?? String(err), { cause: err })
}
