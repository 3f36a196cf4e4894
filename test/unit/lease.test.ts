import { describe, expect, it } from 'vitest'
import { InvalidMessageError } from '../../src/errors.js'
import { decodeLeaseMessage, encodeLeaseMessage, type LeaseMessage } from '../../src/lease/codec.js'
import { createLeaseServer, type LeaseRecord, TOKEN_CLOCK_SCALE } from '../../src/lease/lease-server.js'
import { createOwnershipHistory, type OwnershipHistory } from '../../src/lease/ownership.js'
import { createHashRing } from '../../src/ring/hash-ring.js'

describe('lease codec', () => {
  it('round-trips every kind and refuses malformed messages', () => {
    const messages: LeaseMessage[] = [
      { kind: 'acquire', name: 'a/b', holder: 'h1', ttlMs: 1000 },
      { kind: 'renew', name: 'a/b', holder: 'h1', token: 17, ttlMs: 500 },
      { kind: 'release', name: 'a/b', holder: 'h1', token: 17 },
      { kind: 'granted', name: 'a/b', token: 17, ttlMs: 1000, owner: 'peer' },
      { kind: 'held', name: 'a/b', reason: 'held', retryAfterMs: 12, holder: 'peer' },
      { kind: 'held', name: 'a/b', reason: 'takeover', retryAfterMs: 12 },
      { kind: 'redirect', name: 'a/b', owner: 'peer' },
      { kind: 'redirect', name: 'a/b' },
      { kind: 'released', name: 'a/b' },
      { kind: 'lost', name: 'a/b', reason: 'expired' },
      { kind: 'denied', name: 'a/b', reason: 'ttl' },
    ]
    for (const m of messages) expect(decodeLeaseMessage(encodeLeaseMessage(m))).toEqual(m)
    const bytes = encodeLeaseMessage(messages[0]!)
    expect(() => decodeLeaseMessage(Uint8Array.of(2, ...bytes.subarray(1)))).toThrow(InvalidMessageError)
    expect(() => decodeLeaseMessage(Uint8Array.of(1, 99, ...bytes.subarray(2)))).toThrow(InvalidMessageError)
    expect(() => decodeLeaseMessage(Uint8Array.of(1, 1, 0x7b))).toThrow(InvalidMessageError)
    const bad = (body: unknown) => Uint8Array.of(1, 1, ...new TextEncoder().encode(JSON.stringify(body)))
    expect(() => decodeLeaseMessage(bad({ name: 'x', holder: 'h', ttlMs: -1 }))).toThrow(InvalidMessageError)
    expect(() => decodeLeaseMessage(bad({ name: '', holder: 'h', ttlMs: 1 }))).toThrow(InvalidMessageError)
    expect(() => decodeLeaseMessage(bad({ name: 'x', holder: 'h'.repeat(65), ttlMs: 1 }))).toThrow(InvalidMessageError)
    expect(() => decodeLeaseMessage(bad([1, 2]))).toThrow(InvalidMessageError)
    expect(() => decodeLeaseMessage(new Uint8Array(5000))).toThrow(InvalidMessageError)
  })
})

describe('ownership history', () => {
  it('reports since when this peer has continuously owned a name, and forgets what is older than the window', async () => {
    let now = 0
    const history = createOwnershipHistory({ self: 'me', windowMs: 1000, now: () => now })
    const alone = [['me', 1]] as const
    history.record(alone)
    expect(await history.ownedSince('x')).toBe(0)
    // Find a name another member takes over.
    const ring = await createHashRing({ members: ['me', 'other'] })
    const moved = Array.from({ length: 100 }, (_, i) => `n${i}`).find((n) => ring.primaryOf(n) === 'other')!
    const kept = Array.from({ length: 100 }, (_, i) => `n${i}`).find((n) => ring.primaryOf(n) === 'me')!
    now = 400
    history.record([
      ['me', 1],
      ['other', 1],
    ])
    expect(await history.ownedSince(moved)).toBeUndefined()
    expect(await history.ownedSince(kept)).toBe(0)
    now = 700
    history.record(alone) // 'other' left: `moved` is ours again, since now
    expect(await history.ownedSince(moved)).toBe(700)
    now = 1500
    history.record(alone)
    expect(await history.ownedSince(moved)).toBe(700)
    now = 3000
    history.record(alone)
    expect(await history.ownedSince(moved)).toBe(Number.NEGATIVE_INFINITY) // owned since before the window
  })
})

/** A lease server over a fixed owner, with a controllable clock and an in-memory record store. */
function server(opts: { owner?: () => string; since?: () => number | undefined; now?: () => number } = {}) {
  const records = new Map<string, LeaseRecord>()
  const history: OwnershipHistory = { record: () => {}, ownedSince: async () => opts.since?.() ?? -1e9 }
  const s = createLeaseServer({
    self: 'owner',
    ownerOf: () => opts.owner?.() ?? 'owner',
    history,
    maxTtlMs: 1000,
    guardMs: 2000,
    readRecord: (name) => records.get(name),
    writeRecord: async (name, record) => {
      records.set(name, record)
    },
    now: opts.now ?? (() => performance.now()),
    logger: { debug: () => {} },
  })
  return { s, records }
}

describe('lease server', () => {
  it('grants one holder at a time, renews and releases only for that holder, tokens increase', async () => {
    let now = 10_000
    const { s, records } = server({ now: () => now })
    const a = await s.handle({ kind: 'acquire', name: 'n', holder: 'x', ttlMs: 500 }, 'A')
    expect(a.kind).toBe('granted')
    const token = (a as { token: number }).token
    expect(token).toBeGreaterThanOrEqual(Date.now() * TOKEN_CLOCK_SCALE - 10_000 * TOKEN_CLOCK_SCALE)
    expect(records.get('n')).toMatchObject({ token, owner: 'owner', holder: 'A', ttlMs: 500 })
    // The same holder retrying gets the same grant; anyone else is told who holds it and for how long.
    expect(await s.handle({ kind: 'acquire', name: 'n', holder: 'x', ttlMs: 500 }, 'A')).toMatchObject({ token })
    expect(await s.handle({ kind: 'acquire', name: 'n', holder: 'y', ttlMs: 500 }, 'B')).toEqual({
      kind: 'held',
      name: 'n',
      reason: 'held',
      retryAfterMs: 500,
      holder: 'A',
    })
    expect(await s.handle({ kind: 'acquire', name: 'n', holder: 'x', ttlMs: 500 }, 'B')).toMatchObject({
      kind: 'held', // same nonce, different peer: a different holder
    })
    now += 400
    expect(await s.handle({ kind: 'renew', name: 'n', holder: 'x', token, ttlMs: 500 }, 'A')).toMatchObject({
      kind: 'granted',
      token,
    })
    expect(await s.handle({ kind: 'renew', name: 'n', holder: 'y', token, ttlMs: 500 }, 'B')).toMatchObject({
      kind: 'lost',
    })
    now += 400 // still within the renewed ttl
    expect((await s.handle({ kind: 'acquire', name: 'n', holder: 'y', ttlMs: 500 }, 'B')).kind).toBe('held')
    await s.handle({ kind: 'release', name: 'n', holder: 'y', token, ttlMs: 1 } as LeaseMessage, 'B') // not theirs
    expect((await s.handle({ kind: 'acquire', name: 'n', holder: 'y', ttlMs: 500 }, 'B')).kind).toBe('held')
    expect(await s.handle({ kind: 'release', name: 'n', holder: 'x', token }, 'A')).toEqual({
      kind: 'released',
      name: 'n',
    })
    expect(records.get('n')?.released).toBe(true)
    const b = await s.handle({ kind: 'acquire', name: 'n', holder: 'y', ttlMs: 500 }, 'B')
    expect(b.kind).toBe('granted')
    expect((b as { token: number }).token).toBeGreaterThan(token)
    // Expiry frees it; a renewal after expiry is refused.
    now += 600
    const bt = (b as { token: number }).token
    expect((await s.handle({ kind: 'renew', name: 'n', holder: 'y', token: bt, ttlMs: 500 }, 'B')).kind).toBe('lost')
    expect((await s.handle({ kind: 'acquire', name: 'n', holder: 'z', ttlMs: 500 }, 'C')).kind).toBe('granted')
    expect((await s.handle({ kind: 'acquire', name: 'n', holder: 'z', ttlMs: 5000 }, 'C')).kind).toBe('denied')
    expect(s.counters).toMatchObject({ granted: 3, renewed: 1, released: 1 })
  })

  it('redirects when not the owner, and waits out the takeover guard', async () => {
    let owner = 'someone-else'
    let now = 50_000
    const { s } = server({ owner: () => owner, since: () => 49_000, now: () => now })
    expect(await s.handle({ kind: 'acquire', name: 'n', holder: 'x', ttlMs: 500 }, 'A')).toEqual({
      kind: 'redirect',
      name: 'n',
      owner: 'someone-else',
    })
    owner = 'owner'
    // Owner since 49 000, guard 2 000: nothing before 51 000.
    expect(await s.handle({ kind: 'acquire', name: 'n', holder: 'x', ttlMs: 500 }, 'A')).toEqual({
      kind: 'held',
      name: 'n',
      reason: 'takeover',
      retryAfterMs: 1000,
    })
    now = 51_000
    expect((await s.handle({ kind: 'acquire', name: 'n', holder: 'x', ttlMs: 500 }, 'A')).kind).toBe('granted')
  })

  it('continues the token sequence of a previous owner from the replicated record', async () => {
    const { s, records } = server()
    const future = Date.now() * TOKEN_CLOCK_SCALE + 5_000_000 // a previous owner with a clock ahead of ours
    records.set('n', { token: future, owner: 'old', holder: 'A', ttlMs: 500, grantedAt: 0 })
    const g = await s.handle({ kind: 'acquire', name: 'n', holder: 'x', ttlMs: 500 }, 'B')
    expect((g as { token: number }).token).toBe(future + 1)
    // A record at the top of the integer range is ignored, not followed past what the wire carries.
    records.set('m', { token: Number.MAX_SAFE_INTEGER, owner: 'forged', holder: 'A', ttlMs: 500, grantedAt: 0 })
    const m = await s.handle({ kind: 'acquire', name: 'm', holder: 'x', ttlMs: 500 }, 'B')
    expect(Number.isSafeInteger((m as { token: number }).token)).toBe(true)
  })

  it('still grants when the record cannot be written (e.g. not an allowed writer)', async () => {
    const s = createLeaseServer({
      self: 'owner',
      ownerOf: () => 'owner',
      history: { record: () => {}, ownedSince: async () => -1e9 },
      maxTtlMs: 1000,
      guardMs: 2000,
      readRecord: () => undefined,
      writeRecord: async () => {
        throw new Error('not a writer')
      },
      logger: { debug: () => {} },
    })
    expect((await s.handle({ kind: 'acquire', name: 'n', holder: 'x', ttlMs: 500 }, 'A')).kind).toBe('granted')
    expect(s.counters.recordFailures).toBe(1)
  })

  it('forgets grants made in an earlier period of ownership', async () => {
    let since = 0
    let now = 1000
    const { s } = server({ since: () => since, now: () => now })
    now = 5000
    const g = await s.handle({ kind: 'acquire', name: 'n', holder: 'x', ttlMs: 1000 }, 'A')
    expect(g.kind).toBe('granted')
    // Ownership moved away and came back at 5 100: the grant may have been superseded elsewhere.
    since = 5100
    now = 5200
    const token = (g as { token: number }).token
    expect((await s.handle({ kind: 'renew', name: 'n', holder: 'x', token, ttlMs: 1000 }, 'A')).kind).toBe('lost')
    expect(await s.handle({ kind: 'acquire', name: 'n', holder: 'y', ttlMs: 1000 }, 'B')).toMatchObject({
      kind: 'held',
      reason: 'takeover',
    })
  })
})
