/**
 * Yamux as confmesh runs it: `@chainsafe/libp2p-yamux`, with receive-window updates sent the way hashicorp/yamux and
 * go-yamux send them.
 *
 * The JS implementation answers every data frame it receives with a window-update frame (its check skips the update
 * only while the window is untouched), so each small message costs a second frame in the other direction: one more
 * Noise encryption, one more socket write and one more wake-up of the remote's event loop. SWIM's probes and acks and
 * gossipsub's RPCs are all small, so this was about a third of the CPU a small message costs (`bench/small-message.ts`:
 * a 60-byte message each way every 100 ms on 10 pairs over real TCP, 189 µs against 133 µs per message sent and
 * received, median of 5 alternating rounds). hashicorp/yamux (`stream.go`, `sendWindowUpdate`) and go-yamux send an
 * update only once the consumed part reaches half the window (and always when a flag must go out); this muxer does the
 * same: a stream that is established and still has at least half of its receive window skips the update, everything
 * else (the first ACK, pauses, window growth on fast streams) is the library's own code.
 *
 * Guarantees: the wire format is Yamux's; a peer on any Yamux (older confmesh, libp2p 2, Go, Rust) sees a stream
 * whose window is refilled in half-window steps, which the spec allows and Go does. A sender gets its window back
 * once it has used half of it, so small messages never wait for an update.
 *
 * @module
 */
import { yamux } from '@chainsafe/libp2p-yamux'
import { StreamState, type YamuxStream } from '@chainsafe/libp2p-yamux/stream'
import type { StreamMuxer, StreamMuxerFactory } from '@libp2p/interface'

/** Options of {@link halfWindowYamux}: `@chainsafe/libp2p-yamux`'s own. */
export type HalfWindowYamuxInit = Parameters<typeof yamux>[0]

/** The parts of a Yamux stream the update rule reads (private in the library's types, plain fields in its code). */
interface StreamWindow {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
}

/** The muxer's stream constructor (a method of `YamuxMuxer`, private in its types). */
interface StreamFactory {
  _newStream(streamId: number, state: StreamState, direction: string): YamuxStream
}

/** Whether `stream` needs no window update now: established, no flag to send, at least half its window left. */
export function windowUpdateSkippable(stream: StreamWindow): boolean {
  return stream.state === StreamState.Established && stream.recvWindowCapacity * 2 >= stream.recvWindow
}

/** Makes `stream` send window updates only once it has consumed half of its receive window. */
function halveUpdates(stream: YamuxStream): YamuxStream {
  const send = stream.sendWindowUpdate.bind(stream)
  const window = stream as unknown as StreamWindow
  stream.sendWindowUpdate = () => {
    if (!windowUpdateSkippable(window)) send()
  }
  return stream
}

/**
 * The Yamux stream muxer with half-window updates; a drop-in for `yamux(init)` in libp2p's `streamMuxers`.
 *
 * @throws {TypeError} at connection time, should a future `@chainsafe/libp2p-yamux` no longer create its streams
 *   through `_newStream` (then this file needs updating; the tests in `test/unit/yamux-window.test.ts` fail first)
 */
export function halfWindowYamux(init?: HalfWindowYamuxInit): () => StreamMuxerFactory {
  const inner = yamux(init)
  return () => {
    const factory: StreamMuxerFactory = inner()
    const createStreamMuxer = factory.createStreamMuxer.bind(factory)
    factory.createStreamMuxer = (maConn): StreamMuxer => {
      const muxer = createStreamMuxer(maConn)
      const streams = muxer as unknown as StreamFactory
      if (typeof streams._newStream !== 'function') {
        throw new TypeError('@chainsafe/libp2p-yamux no longer creates streams through _newStream')
      }
      const newStream = streams._newStream.bind(muxer)
      streams._newStream = (streamId, state, direction) => halveUpdates(newStream(streamId, state, direction))
      return muxer
    }
    return factory
  }
}
