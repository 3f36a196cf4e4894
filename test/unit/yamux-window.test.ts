/**
 * Yamux with half-window updates (src/transport/yamux-window.ts) against the library's stock muxer, both over one
 * in-memory connection pair: small messages no longer cost a window-update frame each, and a transfer larger than
 * the window still completes (the updates it needs still go out).
 */
import { yamux } from '@chainsafe/libp2p-yamux'
import { StreamState } from '@chainsafe/libp2p-yamux/stream'
import type { Stream, StreamMuxer, StreamMuxerFactory } from '@libp2p/interface'
import { byteStream, multiaddrConnectionPair } from '@libp2p/utils'
import { afterEach, describe, expect, it } from 'vitest'
import { halfWindowYamux, windowUpdateSkippable } from '../../src/transport/yamux-window.js'
import { waitFor } from '../helpers/wait-for.js'

/** Yamux's frame type of a window update (spec: 0x1). */
const WINDOW_UPDATE = 1

interface Pair {
  writer: Stream
  /** Bytes the reading side received so far. */
  received(): number
  /** Window-update frames the reading side sent so far. */
  updates(): number
}

const muxers: StreamMuxer[] = []
afterEach(() => {
  for (const m of muxers.splice(0)) m.abort(new Error('test over'))
})

/** Two muxers of `factory` over an in-memory connection, one stream from the first to the second. */
async function pair(factory: () => StreamMuxerFactory): Promise<Pair> {
  const [outbound, inbound] = multiaddrConnectionPair()
  const dialer = factory().createStreamMuxer(outbound)
  const listener = factory().createStreamMuxer(inbound)
  muxers.push(dialer, listener)
  let updates = 0
  const frames = listener as unknown as { sendFrame(header: { type: number }, data?: unknown): boolean }
  const sendFrame = frames.sendFrame.bind(listener)
  frames.sendFrame = (header, data) => {
    if (header.type === WINDOW_UPDATE) updates++
    return sendFrame(header, data)
  }
  let received = 0
  listener.addEventListener('stream', (evt) => {
    evt.detail.addEventListener('message', (msg) => {
      received += msg.data.byteLength
    })
  })
  const writer = await dialer.createStream()
  return { writer, received: () => received, updates: () => updates }
}

/** Writes `count` messages of `size` bytes on `p`, then waits until all arrived. */
async function send(p: Pair, count: number, size: number): Promise<void> {
  const bytes = byteStream(p.writer)
  for (let i = 0; i < count; i++) await bytes.write(new Uint8Array(size).fill(i & 0xff))
  await waitFor(() => p.received() === count * size, { timeoutMs: 10_000, message: `${count * size} bytes received` })
}

describe('yamux with half-window updates', () => {
  it('answers 300 small messages with at most one window update (the stream ACK); stock yamux sends one each', async () => {
    const ours = await pair(halfWindowYamux())
    await send(ours, 300, 100)
    const stock = await pair(yamux())
    await send(stock, 300, 100)
    expect(ours.updates()).toBeLessThanOrEqual(1)
    expect(stock.updates()).toBeGreaterThanOrEqual(300)
  })

  it('delivers 4 MiB (16 initial windows) whole: the updates it needs still go out', async () => {
    const ours = await pair(halfWindowYamux())
    await send(ours, 64, 64 * 1024)
    expect(ours.received()).toBe(4 * 1024 * 1024)
    expect(ours.updates()).toBeGreaterThanOrEqual(2)
  })

  it('skips an update only on an established stream with half its window or more left', () => {
    const window = 256 * 1024
    expect(
      windowUpdateSkippable({ state: StreamState.Established, recvWindow: window, recvWindowCapacity: window }),
    ).toBe(true)
    expect(
      windowUpdateSkippable({ state: StreamState.Established, recvWindow: window, recvWindowCapacity: window / 2 }),
    ).toBe(true)
    expect(
      windowUpdateSkippable({ state: StreamState.Established, recvWindow: window, recvWindowCapacity: window / 2 - 1 }),
    ).toBe(false)
    for (const state of [StreamState.Init, StreamState.SYNReceived, StreamState.SYNSent, StreamState.Paused]) {
      expect(windowUpdateSkippable({ state, recvWindow: window, recvWindowCapacity: window })).toBe(false)
    }
  })
})
