/**
 * Counts one peer's traffic at its transport seam: topic messages validated and published, stream frames read and
 * written, with payload bytes. It wraps a {@link Transport} without changing what it does (every call and event
 * goes to the real one), so any membership protocol, gossip or sync code above the seam is counted the same way.
 *
 * What the seam cannot see: gossipsub's control traffic (IHAVE/IWANT/GRAFT) and the duplicate copies it drops
 * before validation, Noise and Yamux framing. The host's `/proc/self/io` byte counters include those.
 *
 * @module
 */
import type { TopicMessage, Transport, TransportStream } from '../../../src/transport/transport.js'
import type { TrafficCounters } from './protocol.js'

/** Fresh zeroed counters. */
export function zeroTraffic(): TrafficCounters {
  return {
    topicIn: 0,
    topicBytesIn: 0,
    streamIn: 0,
    streamBytesIn: 0,
    topicOut: 0,
    topicBytesOut: 0,
    streamOut: 0,
    streamBytesOut: 0,
    streamsOpened: 0,
  }
}

function countStream(stream: TransportStream, c: TrafficCounters): TransportStream {
  c.streamsOpened++
  return new Proxy(stream, {
    get(target, prop) {
      if (prop === 'read') {
        return async (options?: { signal?: AbortSignal }) => {
          const m = await target.read(options)
          if (m !== undefined) {
            c.streamIn++
            c.streamBytesIn += m.byteLength
          }
          return m
        }
      }
      if (prop === 'write') {
        return (message: Uint8Array, options?: { signal?: AbortSignal }) => {
          c.streamOut++
          c.streamBytesOut += message.byteLength
          return target.write(message, options)
        }
      }
      const v = Reflect.get(target, prop, target)
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
}

/**
 * Wraps `transport` so that `counters` counts its traffic.
 *
 * @param transport - the real transport
 * @param counters - updated in place
 */
export function countingTransport(transport: Transport, counters: TrafficCounters): Transport {
  const seen = (message: TopicMessage) => {
    counters.topicIn++
    counters.topicBytesIn += message.data.byteLength
  }
  return new Proxy(transport, {
    get(target, prop) {
      switch (prop) {
        case 'subscribe':
          return (topic: string, subscriber: Parameters<Transport['subscribe']>[1]) => {
            const validate = subscriber.validate?.bind(subscriber)
            target.subscribe(topic, {
              ...(validate === undefined
                ? {}
                : {
                    validate: (m: TopicMessage) => {
                      seen(m)
                      return validate(m)
                    },
                  }),
              onMessage: (m) => {
                if (validate === undefined) seen(m)
                subscriber.onMessage(m)
              },
            })
          }
        case 'publish':
          return (topic: string, data: Uint8Array) => {
            counters.topicOut++
            counters.topicBytesOut += data.byteLength
            return target.publish(topic, data)
          }
        case 'handle':
          return (protocol: string, handler: Parameters<Transport['handle']>[1], options?: object) =>
            target.handle(protocol, (stream) => handler(countStream(stream, counters)), options)
        case 'openStream':
          return async (...args: Parameters<Transport['openStream']>) =>
            countStream(await target.openStream(...args), counters)
        default: {
          const v = Reflect.get(target, prop, target)
          return typeof v === 'function' ? v.bind(target) : v
        }
      }
    },
  })
}
