/**
 * The acceptance suite of the transport seam (`src/transport/transport.ts`): every implementation runs it, the
 * libp2p one over real TCP on 127.0.0.1 and the simulated network on virtual time
 * (`test/integration/transport-acceptance.test.ts`). It is the executable form of the seam's contract: gossip reaches
 * every subscriber once (relayed through peers in between), never its publisher, and stops at a peer whose validator
 * rejects or ignores it; oversized gossip is dropped without harming what follows; streams carry whole messages in
 * order with half-close, reset and a per-reader size limit; connection, identify and subscription events fire.
 *
 * A suite never sleeps: it waits for conditions through the harness, which polls with a deadline on real time and
 * advances virtual time on the simulated network. Gossip may be lost by design, so where a test needs one message
 * through, it republishes until it arrives (`until`'s `retry`).
 *
 * @module
 */
import {
  DialRefusedError,
  MessageTooLargeError,
  StreamResetError,
  TopicInUseError,
  TransportStoppedError,
  UnsupportedProtocolError,
} from '../transport/errors.js'
import type { TopicMessage, Transport, TransportStream } from '../transport/transport.js'
import type { TestApi } from './test-api.js'

/** Options of {@link TransportHarness.until}. */
export interface UntilOptions {
  /** Called at once and then every `everyMs` while the condition does not hold (e.g. publish again). */
  retry?: () => void | Promise<void>
  /** Default 250. */
  everyMs?: number
}

/** N started transports, each connected to every other, and a way to wait on them. */
export interface TransportHarness {
  readonly transports: Transport[]
  /** Resolves once `condition` holds; rejects (naming `what`) if it does not within the harness's deadline. */
  until(condition: () => boolean, what: string, options?: UntilOptions): Promise<void>
  /** Resolves or rejects as `promise` does (on virtual time: advances time until it settles). */
  settle<T>(promise: Promise<T>): Promise<T>
  /** Stops every transport and releases what the harness holds. */
  teardown(): Promise<void>
}

/** Builds a harness of `peers` connected transports. */
export type TransportHarnessFactory = (peers: number) => Promise<TransportHarness>

const TOPIC = '/acceptance/topic/1'
const ECHO = '/acceptance/echo/1.0.0'

/** A subscriber that records what it got. */
function collect(t: Transport, topic = TOPIC, validate?: (m: TopicMessage) => 'accept' | 'reject' | 'ignore') {
  const got: TopicMessage[] = []
  t.subscribe(topic, { ...(validate === undefined ? {} : { validate }), onMessage: (m) => got.push(m) })
  return got
}

const text = (m: TopicMessage): string => new TextDecoder().decode(m.data)
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)

/** Serves {@link ECHO}: every message back, then closes. */
async function serveEcho(t: Transport, maxMessageBytes?: number): Promise<void> {
  await t.handle(
    ECHO,
    async (stream) => {
      for (let m = await stream.read(); m !== undefined; m = await stream.read()) await stream.write(m)
      await stream.close()
    },
    maxMessageBytes === undefined ? {} : { maxMessageBytes },
  )
}

/** Registers the suite for the implementation `factory` builds, with the caller's test functions. */
export function runTransportAcceptance(name: string, factory: TransportHarnessFactory, api: TestApi): void {
  const { describe, it, expect, afterEach } = api
  let harness: TransportHarness | undefined
  const build = async (n: number): Promise<TransportHarness> => {
    harness = await factory(n)
    return harness
  }
  /** Every transport but `t` knows all the others subscribe {@link TOPIC}. */
  const meshed = (h: TransportHarness) => (): boolean =>
    h.transports.every((t) => t.subscribers(TOPIC).length === h.transports.length - 1)

  describe(`Transport acceptance: ${name}`, () => {
    afterEach(async () => {
      await harness?.teardown()
      harness = undefined
    })

    it('connects every transport to every other, with distinct peer ids and addresses', async () => {
      const h = await build(3)
      const ids = h.transports.map((t) => t.peerId)
      expect(new Set(ids).size).toBe(3)
      for (const t of h.transports) {
        expect(t.connections()).toEqual(ids.filter((id) => id !== t.peerId).sort())
        for (const id of ids) if (id !== t.peerId) expect(t.isConnected(id)).toBe(true)
        expect(t.addresses().length).toBeGreaterThan(0)
        for (const a of t.addresses()) expect(a.endsWith(`/p2p/${t.peerId}`)).toBe(true)
      }
    })

    it('delivers a publish to every subscriber once, authenticated, never to the publisher', async () => {
      const h = await build(3)
      const [a, b, c] = h.transports as [Transport, Transport, Transport]
      const got = h.transports.map((t) => collect(t))
      await h.until(meshed(h), 'everyone sees the others subscribed')
      // With everyone's subscription known, one publish reaches each neighbour directly (flood publish).
      await h.settle(a.publish(TOPIC, bytes('hello')))
      await h.until(() => got[1]!.length > 0 && got[2]!.length > 0, 'hello at b and c')
      // Then a closing message from b that a and c must see: by then, relayed copies of a's hello have arrived too.
      await h.settle(b.publish(TOPIC, bytes('end')))
      await h.until(() => got[0]!.some((m) => text(m) === 'end') && got[2]!.some((m) => text(m) === 'end'), 'end')
      const seen = got.map((g) =>
        g.map((m) => `${m.from === a.peerId ? 'a' : m.from === b.peerId ? 'b' : 'c'}:${text(m)}`),
      )
      expect(seen).toEqual([['b:end'], ['a:hello'], ['a:hello', 'b:end']])
      expect(got[1]![0]!.topic).toBe(TOPIC)
      expect(c.peerId).not.toBe(a.peerId)
    })

    it('relays through a peer in between, and stops at a peer whose validator rejects or ignores', async () => {
      const h = await build(3)
      const [a, b, c] = h.transports as [Transport, Transport, Transport]
      const judged: string[] = []
      const gotA = collect(a)
      const gotB = collect(b, TOPIC, (m) => {
        judged.push(text(m))
        return text(m).startsWith('bad') ? 'reject' : text(m).startsWith('meh') ? 'ignore' : 'accept'
      })
      const validated = new WeakSet<TopicMessage>()
      const gotC: TopicMessage[] = []
      c.subscribe(TOPIC, {
        validate: (m) => {
          validated.add(m)
          return 'accept'
        },
        onMessage: (m) => gotC.push(m),
      })
      await h.settle(a.hangUp(c.peerId))
      await h.until(() => !a.isConnected(c.peerId) && !c.isConnected(a.peerId), 'a and c disconnected')
      await h.until(() => a.subscribers(TOPIC).length === 1 && c.subscribers(TOPIC).length === 1, 'line a-b-c')
      await h.settle(a.publish(TOPIC, bytes('bad 1')))
      await h.settle(a.publish(TOPIC, bytes('meh 1')))
      // (gossip may arrive out of order: wait for b to have judged all three)
      const done = () => gotC.some((m) => text(m) === 'good') && judged.includes('bad 1') && judged.includes('meh 1')
      await h.until(done, 'good relayed to c, bad and meh judged at b', {
        retry: () => a.publish(TOPIC, bytes('good')),
      })
      expect(gotB.map(text).filter((t) => t !== 'good')).toEqual([])
      expect(gotC.map(text).filter((t) => t !== 'good')).toEqual([])
      expect(gotC.every((m) => m.from === a.peerId)).toBe(true)
      // delivery hands over the object validation saw (parse once)
      expect(gotC.every((m) => validated.has(m))).toBe(true)
      expect(gotA).toEqual([])
    })

    it('tells peers about subscriptions, and stops delivering after unsubscribe', async () => {
      const h = await build(2)
      const [a, b] = h.transports as [Transport, Transport]
      const changes: Array<{ peerId: string; topic: string; subscribed: boolean }> = []
      a.addEventListener('subscription-change', (e) => changes.push(e.detail))
      const gotB = collect(b)
      await h.until(() => a.subscribers(TOPIC).includes(b.peerId), 'a sees b subscribed')
      expect(changes).toContainEqual({ peerId: b.peerId, topic: TOPIC, subscribed: true })
      expect(() => b.subscribe(TOPIC, { onMessage: () => {} })).toThrow(TopicInUseError)
      b.unsubscribe(TOPIC)
      await h.until(() => !a.subscribers(TOPIC).includes(b.peerId), 'a sees b unsubscribed')
      expect(changes).toContainEqual({ peerId: b.peerId, topic: TOPIC, subscribed: false })
      await h.settle(a.publish(TOPIC, bytes('after')))
      // b subscribes a second topic and gets a message there: the first one would have arrived before it
      const other = `${TOPIC}/other`
      const gotOther = collect(b, other)
      await h.until(() => gotOther.length > 0, 'b gets a message on another topic', {
        retry: () => a.publish(other, bytes('other')),
      })
      expect(gotB).toEqual([])
    })

    it('drops gossip over maxMessageBytes without harming later messages', async () => {
      const h = await build(2)
      const [a, b] = h.transports as [Transport, Transport]
      collect(a)
      const gotB = collect(b)
      await h.until(meshed(h), 'b subscribed')
      await h.settle(a.publish(TOPIC, new Uint8Array(a.maxMessageBytes + 1)))
      await h.until(() => gotB.some((m) => text(m) === 'small'), 'a small message after the big one', {
        retry: () => a.publish(TOPIC, bytes('small')),
      })
      expect(gotB.every((m) => m.data.byteLength < 100)).toBe(true)
    })

    it('carries stream messages in order, both ways, until a half-close', async () => {
      const h = await build(2)
      const [a, b] = h.transports as [Transport, Transport]
      await serveEcho(b)
      const stream = await h.settle(a.openStream(b.peerId, ECHO))
      expect(stream.remotePeer).toBe(b.peerId)
      const big = new Uint8Array(200 * 1024).map((_, i) => i % 251)
      const sent = [bytes('one'), new Uint8Array(0), big, bytes('three')]
      for (const m of sent) await h.settle(stream.write(m))
      await h.settle(stream.close())
      const back: Uint8Array[] = []
      for (let m = await h.settle(stream.read()); m !== undefined; m = await h.settle(stream.read())) back.push(m)
      expect(back.map((m) => Buffer.from(m).toString('hex'))).toEqual(sent.map((m) => Buffer.from(m).toString('hex')))
    })

    it('resets a stream whose message exceeds the reader limit', async () => {
      const h = await build(2)
      const [a, b] = h.transports as [Transport, Transport]
      const errors: Error[] = []
      await b.handle(
        ECHO,
        async (stream) => {
          try {
            await stream.read()
          } catch (err) {
            errors.push(err as Error)
          }
        },
        { maxMessageBytes: 1000 },
      )
      const stream = await h.settle(a.openStream(b.peerId, ECHO))
      await h.settle(stream.write(new Uint8Array(2000)))
      await h.until(() => errors.length > 0, 'the reader refused')
      expect(errors[0]).toBeInstanceOf(MessageTooLargeError)
      await expect(h.settle(stream.read())).rejects.toBeInstanceOf(StreamResetError)
    })

    it('refuses a protocol the remote does not handle, and resets the remote on abort', async () => {
      const h = await build(2)
      const [a, b] = h.transports as [Transport, Transport]
      await expect(h.settle(a.openStream(b.peerId, '/acceptance/none/1'))).rejects.toBeInstanceOf(
        UnsupportedProtocolError,
      )
      const outcome: Array<Uint8Array | undefined | Error> = []
      await b.handle(ECHO, async (stream: TransportStream) => {
        for (;;) {
          try {
            const m = await stream.read()
            outcome.push(m)
            if (m === undefined) return
          } catch (err) {
            outcome.push(err as Error)
            return
          }
        }
      })
      const stream = await h.settle(a.openStream(b.peerId, ECHO))
      await h.settle(stream.write(bytes('x')))
      await h.until(() => outcome.length === 1, 'b read the first message')
      stream.abort(new Error('test abort'))
      await h.until(() => outcome.length === 2, 'b saw the reset')
      expect(outcome[1]).toBeInstanceOf(StreamResetError)
    })

    it('fires disconnect on hang-up, and connect and identify on a new dial', async () => {
      const h = await build(2)
      const [a, b] = h.transports as [Transport, Transport]
      await serveEcho(b)
      const events: string[] = []
      let identified: string[] | undefined
      for (const t of [a, b]) {
        t.addEventListener('peer:connect', (e) => events.push(`${t === a ? 'a' : 'b'} connect ${e.detail}`))
        t.addEventListener('peer:disconnect', (e) => events.push(`${t === a ? 'a' : 'b'} disconnect ${e.detail}`))
      }
      a.addEventListener('peer:identify', (e) => {
        if (e.detail.peerId === b.peerId) identified = e.detail.protocols
      })
      await h.settle(a.hangUp(b.peerId))
      await h.until(() => events.length === 2, 'both sides saw the disconnect')
      expect(events.sort()).toEqual([`a disconnect ${b.peerId}`, `b disconnect ${a.peerId}`])
      expect(a.connections()).toEqual([])
      expect(await h.settle(a.dial(b.addresses()))).toBe(b.peerId)
      await h.until(() => events.length === 4 && identified?.includes(ECHO) === true, 'connect and identify')
      expect(events.slice(2).sort()).toEqual([`a connect ${b.peerId}`, `b connect ${a.peerId}`])
      expect(a.isConnected(b.peerId)).toBe(true)
    })

    it('stops cleanly: peers see the disconnect, later calls fail, dials to it are refused', async () => {
      const h = await build(2)
      const [a, b] = h.transports as [Transport, Transport]
      const gone: string[] = []
      a.addEventListener('peer:disconnect', (e) => gone.push(e.detail))
      const addresses = b.addresses()
      await h.settle(b.stop())
      await h.settle(b.stop())
      await h.until(() => gone.includes(b.peerId), 'a saw b leave')
      await expect(h.settle(b.publish(TOPIC, bytes('x')))).rejects.toBeInstanceOf(TransportStoppedError)
      expect(() => b.subscribe(TOPIC, { onMessage: () => {} })).toThrow(TransportStoppedError)
      // nothing listens at its address any more: a refusal (SWIM's evidence of a crashed process), not a timeout
      await expect(h.settle(a.dial(addresses))).rejects.toBeInstanceOf(DialRefusedError)
    })
  })
}
