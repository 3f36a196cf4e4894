/**
 * The SWIM codec: every message kind round-trips byte for byte; malformed, truncated, oversized and random input is
 * refused with a SwimMessageError (never another error) and changes nothing in the state machine. Seeded: set
 * CONFMESH_TEST_SEED to replay.
 */
import * as encoding from 'lib0/encoding'
import * as prng from 'lib0/prng'
import { describe, expect, it } from 'vitest'
import {
  decodeSwimMessage,
  encodeSwimMessage,
  encodeUpdate,
  type OutgoingSwimMessage,
  SWIM_LIMITS,
} from '../../../src/membership/swim/codec.js'
import { SwimMessageError } from '../../../src/membership/swim/errors.js'
import type { MemberUpdate } from '../../../src/membership/swim/member.js'
import { simMeta } from '../../../src/membership/swim/simulation.js'
import { Swim } from '../../../src/membership/swim/swim.js'

const SEED = Number(process.env.CONFMESH_TEST_SEED ?? Date.now() % 1_000_000)
console.log(`swim-codec seed=${SEED} (CONFMESH_TEST_SEED replays)`)

const updates: MemberUpdate[] = [
  { type: 'alive', id: 'peer-a', incarnation: 7, meta: { ...simMeta(1), tags: { zone: 'eu', role: 'api' } } },
  { type: 'suspect', id: 'peer-b', incarnation: 0, from: 'peer-a' },
  { type: 'down', id: 'peer-c', incarnation: 2 ** 40, from: 'peer-c' },
]
const encoded = updates.map(encodeUpdate)
const messages: OutgoingSwimMessage[] = [
  { kind: 'ping', seq: 1, target: 'peer-b', updates: encoded },
  { kind: 'ping-req', seq: 2 ** 31, target: 'peer-b', nack: true, updates: [] },
  { kind: 'ack', seq: 3, updates: encoded.slice(1) },
  { kind: 'nack', seq: 4, updates: [] },
  { kind: 'gossip', updates: encoded },
  { kind: 'push-pull', reply: true, join: true, updates: encoded },
]

function expectRefused(bytes: Uint8Array, reason?: string): void {
  let caught: unknown
  try {
    decodeSwimMessage(bytes)
  } catch (err) {
    caught = err
  }
  expect(caught).toBeInstanceOf(SwimMessageError)
  if (reason !== undefined) expect((caught as SwimMessageError).reason).toBe(reason)
}

function raw(write: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder()
  write(e)
  return encoding.toUint8Array(e)
}

describe('SWIM codec', () => {
  it('round-trips every message kind byte for byte, updates decoded', () => {
    for (const msg of messages) {
      const bytes = encodeSwimMessage(msg)
      const decoded = decodeSwimMessage(bytes)
      expect(decoded.kind).toBe(msg.kind)
      expect(decoded.updates.length).toBe(msg.updates.length)
      const again = encodeSwimMessage({ ...decoded, updates: decoded.updates.map(encodeUpdate) } as OutgoingSwimMessage)
      expect(again).toEqual(bytes)
    }
    const gossip = decodeSwimMessage(encodeSwimMessage(messages[4] as OutgoingSwimMessage))
    expect(gossip.updates).toEqual(updates)
  })

  it('matches the test vector of PROTOCOL.md (Membership v2)', () => {
    const bytes = encodeSwimMessage({
      kind: 'ping',
      seq: 1,
      target: 'b',
      updates: [encodeUpdate({ type: 'suspect', id: 'a', incarnation: 2, from: 'c' })],
    })
    expect(Buffer.from(bytes).toString('hex')).toBe('010101016201020161020163')
  })

  it('refuses every truncation of every message', () => {
    for (const msg of messages) {
      const bytes = encodeSwimMessage(msg)
      for (let len = 0; len < bytes.length; len++) expectRefused(bytes.subarray(0, len))
    }
  })

  it('refuses bad version, kind, flags, trailing bytes, bad numbers and strings, and over-limit fields', () => {
    const ping = encodeSwimMessage(messages[0] as OutgoingSwimMessage)
    expectRefused(Uint8Array.of(2, ...ping.subarray(1)), 'bad-version')
    expectRefused(Uint8Array.of(1, 9, 0), 'bad-kind')
    expectRefused(Uint8Array.of(...ping, 0), 'trailing-bytes')
    expectRefused(Uint8Array.of(1, 6, 4, 0), 'bad-field') // push-pull flags
    expectRefused(Uint8Array.of(1, 2, 1, 1, 0x61, 2, 0), 'bad-field') // ping-req nack flag 2
    expectRefused(Uint8Array.of(1, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0), 'bad-field')
    expectRefused(Uint8Array.of(1, 1, 1, 2, 0xc3, 0x28, 0), 'bad-field') // invalid UTF-8 target
    expectRefused(
      raw((e) => {
        encoding.writeUint8(e, 1)
        encoding.writeUint8(e, 1)
        encoding.writeVarUint(e, 1)
        encoding.writeVarString(e, 'x'.repeat(SWIM_LIMITS.maxIdBytes + 1))
        encoding.writeVarUint(e, 0)
      }),
      'limit',
    )
    expectRefused(Uint8Array.of(1, 5, ...varUint(SWIM_LIMITS.maxPiggyback + 1)), 'limit')
    const badUpdate = (meta: (e: encoding.Encoder) => void): Uint8Array =>
      raw((e) => {
        encoding.writeUint8(e, 1)
        encoding.writeUint8(e, 5)
        encoding.writeVarUint(e, 1)
        encoding.writeUint8(e, 1)
        encoding.writeVarString(e, 'p')
        encoding.writeVarUint(e, 0)
        meta(e)
      })
    expectRefused(
      badUpdate((e) => encoding.writeFloat64(e, Number.NaN)),
      'bad-field',
    )
    expectRefused(
      badUpdate((e) => encoding.writeFloat64(e, -1)),
      'bad-field',
    )
    expectRefused(
      badUpdate((e) => metaHead(e, SWIM_LIMITS.maxAddresses + 1)),
      'limit',
    )
    expectRefused(
      badUpdate((e) => {
        metaHead(e, 0)
        encoding.writeVarUint(e, 2)
        for (let i = 0; i < 2; i++) {
          encoding.writeVarString(e, 'k')
          encoding.writeVarString(e, 'v')
        }
      }),
      'bad-field',
    )
    expectRefused(new Uint8Array(SWIM_LIMITS.maxPacketBytes + 1).fill(1), 'too-large')
  })

  it('refuses random and mutated bytes with SwimMessageError only (seeded fuzz)', () => {
    const gen = prng.create(SEED)
    const valid = messages.map(encodeSwimMessage)
    for (let i = 0; i < 20_000; i++) {
      let bytes: Uint8Array
      if (i % 2 === 0) {
        bytes = prng.uint8Array(gen, prng.uint32(gen, 0, 64))
        if (bytes.length > 0 && i % 4 === 0) bytes[0] = 1
      } else {
        bytes = (valid[i % valid.length] as Uint8Array).slice()
        for (let m = prng.uint32(gen, 1, 4); m > 0; m--)
          bytes[prng.uint32(gen, 0, bytes.length - 1)] = prng.uint32(gen, 0, 255)
      }
      try {
        decodeSwimMessage(bytes)
      } catch (err) {
        if (!(err instanceof SwimMessageError)) throw new Error(`seed ${SEED} input ${i}: ${String(err)}`)
      }
    }
  })

  it('a malformed message is refused by the state machine and changes nothing', () => {
    const swim = new Swim({ id: 'a', meta: simMeta(0), random: () => 0.5 })
    swim.start(0)
    swim.handleMessage(
      'b',
      encodeSwimMessage({ kind: 'gossip', updates: [encodeUpdate(updates[0] as MemberUpdate)] }),
      1,
    )
    swim.drain()
    const before = JSON.stringify([swim.members(), swim.incarnation, swim.queuedUpdates])
    const bad = encodeSwimMessage({
      kind: 'gossip',
      updates: [encodeUpdate({ ...(updates[1] as MemberUpdate), id: 'peer-a' })],
    })
    swim.handleMessage('b', bad.subarray(0, bad.length - 1), 2)
    const fx = swim.drain()
    expect(fx.refused).toHaveLength(1)
    expect(fx.refused[0]?.error).toBeInstanceOf(SwimMessageError)
    expect(fx.sends).toEqual([])
    expect(fx.events).toEqual([])
    expect(JSON.stringify([swim.members(), swim.incarnation, swim.queuedUpdates])).toBe(before)
  })
})

/** Weight 1, ready, started 0, then an address count (no addresses follow). */
function metaHead(e: encoding.Encoder, addressCount: number): void {
  encoding.writeFloat64(e, 1)
  encoding.writeUint8(e, 1)
  encoding.writeVarUint(e, 0)
  encoding.writeVarUint(e, addressCount)
}

function varUint(n: number): number[] {
  return [...raw((e) => encoding.writeVarUint(e, n))]
}
