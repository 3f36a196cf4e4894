import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { ENTRIES_ROOT } from '../../src/doc/entry.js'
import { createHybridLogicalClock } from '../../src/doc/hlc.js'
import { UnknownVersionError, VersionPrunedError } from '../../src/versions/errors.js'
import { createVersions } from '../../src/versions/versions.js'
import { seededRandom, testSeed } from '../helpers/cluster.js'
import {
  batch,
  exchange,
  expectConverged,
  live,
  type Replica,
  replica,
  set,
  syncAll,
} from '../helpers/version-replicas.js'

describe('versions on plain Y.Docs', () => {
  it('records every write batch as a history entry, newest first, with before/after, author, time and id', () => {
    let wall = 1_000
    const a = replica('peer-a', undefined, () => wall)
    set(a, 'x', 1)
    const v1 = a.versions.version()
    wall = 2_000
    batch(a, { x: 2, y: { deep: [1] } })
    const v2 = a.versions.version()
    wall = 3_000
    set(a, 'x', undefined)
    set(a, 'limit', 5, 'payments')
    const h = a.versions.history()
    expect(h.map((e) => e.changes)).toEqual([
      [{ namespace: 'payments', key: 'limit', before: undefined, after: 5 }],
      [{ namespace: 'default', key: 'x', before: 2, after: undefined }],
      [
        { namespace: 'default', key: 'x', before: 1, after: 2 },
        { namespace: 'default', key: 'y', before: undefined, after: { deep: [1] } },
      ],
      [{ namespace: 'default', key: 'x', before: undefined, after: 1 }],
    ])
    expect(h.every((e) => e.author === 'peer-a' && e.available)).toBe(true)
    expect(h.map((e) => e.time)).toEqual([3_000, 3_000, 2_000, 1_000])
    // an entry's id is the writer's version right after the change set
    expect(h[3]!.id).toBe(v1.id)
    expect(h[2]!.id).toBe(v2.id)
    expect(h[0]!.id).toBe(a.versions.version().id)
    expect(a.versions.compare(h[3]!, h[2]!.id)).toBe('before')
    expect(a.versions.history({ limit: 2 }).length).toBe(2)
    expect(a.versions.history({ namespace: 'payments' }).map((e) => e.changes.length)).toEqual([1])
    expect(a.versions.history({ key: 'x' }).length).toBe(3)
    expect(a.versions.history({ author: 'someone-else' })).toEqual([])
    // deleting an absent key records nothing
    set(a, 'never-there', undefined)
    expect(a.versions.history().length).toBe(4)
  })

  it('at(version) shows the whole config as it was; diff lists the changes between two versions', async () => {
    const a = replica('a')
    batch(a, { x: 1, y: 'old' })
    set(a, 'n1', true, 'flags')
    const v1 = a.versions.version()
    batch(a, { x: 2, y: undefined, z: [1, 2] })
    set(a, 'n1', false, 'flags')
    const v2 = await a.versions.snapshot(a.write, 'release 2')
    set(a, 'x', 3)
    const at1 = a.versions.at(v1.id)
    expect(at1.version.id).toBe(v1.id)
    expect(at1.toJSON()).toEqual({ x: 1, y: 'old' })
    expect(at1.get('y')).toBe('old')
    expect(at1.has('z')).toBe(false)
    expect(at1.keys()).toEqual(['x', 'y'])
    expect(at1.namespace('flags').toJSON()).toEqual({ n1: true })
    expect(at1.namespaces()).toEqual(['default', 'flags'])
    expect(a.versions.at(v2).toJSONAll()).toEqual({ default: { x: 2, z: [1, 2] }, flags: { n1: false } })
    expect(Object.isFrozen(a.versions.at(v2).get('z'))).toBe(true)
    expect(a.versions.history()[1]).toMatchObject({ id: v2.id, message: 'release 2', changes: [] })
    expect(a.versions.diff(v1, v2)).toEqual([
      { namespace: 'default', key: 'x', before: 1, after: 2 },
      { namespace: 'default', key: 'y', before: 'old', after: undefined },
      { namespace: 'default', key: 'z', before: undefined, after: [1, 2] },
      { namespace: 'flags', key: 'n1', before: true, after: false },
    ])
    expect(a.versions.diff(v2.id)).toEqual([{ namespace: 'default', key: 'x', before: 2, after: 3 }])
    expect(a.versions.diff(v2, v2)).toEqual([])
    expect(a.versions.at('AA').toJSONAll()).toEqual({}) // the empty document
    expect(() => a.versions.at('not a version')).toThrow(UnknownVersionError)
    // a version this replica has not seen
    const b = replica('b')
    set(b, 'q', 1)
    expect(() => a.versions.at(b.versions.version())).toThrow(UnknownVersionError)
  })

  it('history replicates: every replica lists the same entries, and rolls back to versions recorded elsewhere', async () => {
    const a = replica('a')
    const b = replica('b')
    batch(a, { x: 1, y: 2 })
    set(a, 'limit', 10, 'payments')
    const good = await a.versions.snapshot(a.write, 'known good')
    exchange(a, b)
    set(b, 'x', 100)
    set(b, 'limit', 0, 'payments')
    set(b, 'extra', true)
    exchange(a, b)
    expect(b.versions.history()).toEqual(a.versions.history())
    expect(b.versions.history().map((e) => e.author)).toEqual(['b', 'b', 'b', 'a', 'a', 'a'])
    // b never recorded `good`; it rolls back to it anyway
    const r = await b.versions.rollback(good.id, undefined, b.store, b.write)
    expect(live(b)).toEqual({ default: { x: 1, y: 2 }, payments: { limit: 10 } })
    expect(r.changes).toEqual([
      { namespace: 'default', key: 'extra', before: true, after: undefined },
      { namespace: 'default', key: 'x', before: 100, after: 1 },
      { namespace: 'payments', key: 'limit', before: 0, after: 10 },
    ])
    const top = b.versions.history()[0]!
    expect(top.id).toBe(r.version.id)
    expect(top.message).toBe(`rollback to ${good.id}`)
    expect(top.author).toBe('b')
    expect(b.versions.compare(good, r.version)).toBe('before')
    exchange(a, b)
    expect(live(a)).toEqual(live(b))
    expectConverged([a, b])
  })

  it('an entry whose writer had seen writes this peer has not received yet is listed unavailable until they arrive', async () => {
    // Yjs integrates a writer's update once that writer's earlier structs and the item's neighbours are there, not
    // every struct its writer had seen: c can hold b's record before a's write that b's version includes
    const a = replica('a', undefined, undefined, 1)
    const b = replica('b', undefined, undefined, 2)
    const c = replica('c', undefined, undefined, 3)
    const fromA: Uint8Array[] = []
    const fromB: Uint8Array[] = []
    a.doc.on('update', (u: Uint8Array, origin: unknown) => origin !== 'remote' && fromA.push(u))
    b.doc.on('update', (u: Uint8Array, origin: unknown) => origin !== 'remote' && fromB.push(u))
    set(b, 'y', 1)
    set(a, 'x', 1)
    exchange(a, b) // a's elements sort before b's (lower client id): b's next write does not refer to them
    set(b, 'y', 2)
    const seenOnB = b.versions.version()
    for (const u of fromB) Y.applyUpdate(c.doc, u, 'remote')
    expect(c.doc.store.pendingStructs).toBeNull()
    const entry = c.versions.history()[0]!
    expect(entry).toMatchObject({ id: seenOnB.id, author: 'b', available: false })
    expect(b.versions.history()[0]).toMatchObject({ id: seenOnB.id, available: true })
    expect(() => c.versions.at(entry.id)).toThrow(UnknownVersionError)
    await expect(c.versions.rollback(entry.id, undefined, c.store, c.write)).rejects.toThrow(UnknownVersionError)
    for (const u of fromA) Y.applyUpdate(c.doc, u, 'remote')
    expect(c.versions.history()[0]).toMatchObject({ id: seenOnB.id, available: true })
    expect(c.versions.at(entry.id).toJSONAll()).toEqual({ default: { x: 1, y: 2 } })
    set(c, 'x', 2)
    await c.versions.rollback(entry.id, undefined, c.store, c.write)
    expect(live(c)).toEqual({ default: { x: 1, y: 2 } })
  })

  it('rolls back one namespace, or some keys, leaving the rest alone; a no-op rollback is still recorded', async () => {
    const a = replica('a')
    batch(a, { x: 1, y: 1 })
    batch(a, { limit: 1, cap: 1 }, 'payments')
    const v = a.versions.version()
    batch(a, { x: 2, y: 2, z: 2 })
    batch(a, { limit: 2, cap: 2 }, 'payments')
    await a.versions.rollback(v, { namespace: 'payments' }, a.store, a.write)
    expect(live(a)).toEqual({ default: { x: 2, y: 2, z: 2 }, payments: { limit: 1, cap: 1 } })
    await a.versions.rollback(v.id, { keys: ['x', 'z'] }, a.store, a.write)
    expect(live(a)).toEqual({ default: { x: 1, y: 2 }, payments: { limit: 1, cap: 1 } })
    expect(a.versions.history()[0]!.message).toBe(`rollback to ${v.id} (default: x, z)`)
    // a named key is written even when it already equals the target (it must win over writes not received yet)
    const again = await a.versions.rollback(v.id, { keys: ['x'], message: 'again' }, a.store, a.write)
    expect(again.changes).toEqual([{ namespace: 'default', key: 'x', before: 1, after: 1 }])
    expect(a.versions.history()[0]).toMatchObject({ message: 'again', changes: again.changes })
    // a rollback to the current version writes nothing (no key changed since) but is recorded
    const before = a.versions.history().length
    const now = a.versions.version()
    const r = await a.versions.rollback(now, { namespace: 'payments', message: 'no-op' }, a.store, a.write)
    expect(r.changes).toEqual([])
    expect(a.versions.history().length).toBe(before + 1)
    expect(a.versions.history()[0]).toMatchObject({ message: 'no-op', changes: [] })
    await expect(a.versions.rollback(v, { keys: [''] }, a.store, a.write)).rejects.toThrow(/key/)
    // internal namespaces (writer set, lease records) are left alone by a rollback of everything, unless named
    const w = a.versions.version()
    set(a, 'x', 'later')
    set(a, 'token', 2, '__confmesh.leases')
    await a.versions.rollback(w, undefined, a.store, a.write)
    expect(live(a)).toMatchObject({ default: { x: 1 }, '__confmesh.leases': { token: 2 } })
    await a.versions.rollback(w, { namespace: '__confmesh.leases' }, a.store, a.write)
    expect(live(a)['__confmesh.leases']).toBeUndefined()
  })

  it('concurrent rollback and write converge by last-writer-wins', async () => {
    let wall = 1_000
    const a = replica('a', undefined, () => wall)
    const b = replica('b', undefined, () => wall)
    batch(a, { x: 'v1', y: 'v1' })
    const v1 = a.versions.version()
    wall = 2_000
    batch(a, { x: 'v2', y: 'v2' })
    exchange(a, b)
    wall = 3_000
    set(b, 'x', 'b-earlier') // concurrent, earlier than the rollback
    wall = 4_000
    await a.versions.rollback(v1, undefined, a.store, a.write)
    wall = 5_000
    set(b, 'y', 'b-later') // concurrent, later than the rollback
    exchange(a, b)
    expect(live(a)).toEqual({ default: { x: 'v1', y: 'b-later' } })
    // two concurrent rollbacks to different versions: the later one wins every key it wrote
    const v2 = a.versions.history().find((e) => e.changes.some((c) => c.after === 'v2'))!
    wall = 6_000
    await a.versions.rollback(v2, undefined, a.store, a.write)
    wall = 6_000
    await b.versions.rollback(v1, undefined, b.store, b.write)
    exchange(a, b)
    expect(live(a)).toEqual(live(b))
    expectConverged([a, b])
  })

  it('a rollback wins over every earlier write of the keys it writes, also one that arrives after it', async () => {
    let wall = 1_000
    const a = replica('a', undefined, () => wall)
    const b = replica('b', undefined, () => wall)
    const c = replica('c', undefined, () => wall)
    batch(a, { timeout: 30, flip: 'x', same: 's' })
    const v = a.versions.version()
    wall = 1_500
    set(a, 'flip', 'y')
    wall = 1_600
    set(a, 'flip', 'x') // changed and changed back: equal to the target, but its entry is newer
    syncAll([a, b, c])
    // b writes every key, earlier than c's rollback; c receives these writes only after rolling back
    wall = 2_000
    batch(b, { timeout: 1, flip: 'b', same: 'b', created: 'b' })
    wall = 3_000
    await c.versions.rollback(v, { keys: ['timeout', 'created'] }, c.store, c.write)
    syncAll([a, b, c])
    // named keys win, an absent one by a tombstone; unnamed keys are not written
    expect(live(a)).toEqual({ default: { timeout: 30, flip: 'b', same: 'b' } })
    expectConverged([a, b, c])

    // the whole config: keys changed since the target are written even where they equal it here
    wall = 4_000
    set(a, 'flip', 'x')
    set(a, 'same', 's')
    const w = a.versions.version()
    wall = 4_500
    set(a, 'flip', 'z')
    wall = 4_600
    set(a, 'flip', 'x')
    syncAll([a, b, c])
    wall = 5_000
    batch(b, { flip: 'late', same: 'late' })
    wall = 6_000
    const r = await c.versions.rollback(w, undefined, c.store, c.write)
    expect(r.changes).toEqual([{ namespace: 'default', key: 'flip', before: 'x', after: 'x' }])
    syncAll([a, b, c])
    expect(live(a)).toEqual({ default: { timeout: 30, flip: 'x', same: 'late' } }) // `same` was not written
    // rewrite: 'all' writes every key of the scope
    wall = 7_000
    batch(b, { timeout: 2, same: 'later' })
    wall = 8_000
    await c.versions.rollback(w, { rewrite: 'all' }, c.store, c.write)
    syncAll([a, b, c])
    expect(live(a)).toEqual({ default: { timeout: 30, flip: 'x', same: 's' } })
    expectConverged([a, b, c])
    await expect(c.versions.rollback(w, { rewrite: 'some' as 'all' }, c.store, c.write)).rejects.toThrow(/rewrite/)
  })

  it('waits for a version’s missing writes while pulling, and names the writers still missing after timeoutMs', async () => {
    const a = replica('a')
    const b = replica('b')
    set(a, 'x', 1)
    exchange(a, b)
    set(a, 'x', 2)
    const v = a.versions.version()
    let pulls = 0
    const pulling = createVersions({
      doc: b.doc,
      author: 'b',
      clock: createHybridLogicalClock(),
      pull: async () => {
        pulls++
        if (pulls === 3) exchange(a, b) // the writes arrive with the third round
      },
    })
    await expect(pulling.atAsync(v, { timeoutMs: 10_000 })).resolves.toMatchObject({ version: v })
    expect(pulls).toBe(3)
    expect((await pulling.atAsync(v)).toJSON()).toEqual({ x: 2 })
    // a writer nobody has: the error lists it after the deadline
    set(a, 'x', 3)
    const unseen = a.versions.version()
    const err = await pulling.diffAsync(unseen, undefined, { timeoutMs: 100 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UnknownVersionError)
    expect((err as UnknownVersionError).missing).toEqual([
      {
        client: a.doc.clientID,
        peerId: 'a',
        have: (unseen.clock[a.doc.clientID] ?? 0) - 2,
        need: unseen.clock[a.doc.clientID],
      },
    ])
    expect((err as Error).message).toMatch(/client \d+ \(a\): has \d+ of \d+/)
    // without a pull function, or with timeoutMs 0, it fails at once
    await expect(b.versions.atAsync(unseen)).rejects.toThrow(UnknownVersionError)
    await expect(pulling.atAsync(unseen, { timeoutMs: 0 })).rejects.toThrow(/has not received: /)
    await expect(pulling.atAsync(unseen, { timeoutMs: -1 })).rejects.toThrow(TypeError)
    pulling.stop()
  })

  it('prunes to the retained count, keeps old keys through the base, and refuses pruned versions', async () => {
    const a = replica('a', { versions: 5 })
    const b = replica('b', { versions: 5 })
    set(a, 'old', 'written once')
    set(a, 'gone', 1)
    const first = a.versions.version()
    set(a, 'gone', undefined)
    const seen: Array<{ id: string; json: unknown }> = []
    for (let i = 0; i < 50; i++) {
      set(a, `k${i % 3}`, i)
      seen.push({ id: a.versions.history({ limit: 1 })[0]!.id, json: live(a) })
    }
    expect(a.versions.retained()).toBe(5)
    expect(a.versions.history().length).toBe(5)
    expect(() => a.versions.at(first)).toThrow(VersionPrunedError)
    await expect(a.versions.rollback(first, undefined, a.store, a.write)).rejects.toThrow(VersionPrunedError)
    expect(a.versions.at(a.versions.version()).toJSON()).toEqual({ old: 'written once', k0: 48, k1: 49, k2: 47 })
    // every retained version is reconstructible, and equals what the replica showed then
    for (const e of a.versions.history()) {
      expect(e.available).toBe(true)
      expect(a.versions.at(e.id).toJSONAll()).toEqual(seen.find((s) => s.id === e.id)?.json)
    }
    exchange(a, b)
    expect(b.versions.history()).toEqual(a.versions.history())
    expect(() => b.versions.at(first)).toThrow(VersionPrunedError)
    expect(b.versions.at(b.versions.version()).toJSONAll()).toEqual(live(a))
    // each value is stored once, in its entry: 10 entries (old and gone's tombstone, held by the base; the newest
    // pruned writes of k0-k2, i = 42..44, held by the base; the 5 retained records' writes, i = 45..49, three of them
    // live) + 5 records + 5 base writes (referring to entries) + 1 horizon mark. Everything else is deleted.
    expect(a.doc.getArray(ENTRIES_ROOT).length).toBe(21)
    expect(a.store.entryCount()).toBe(10)
    expectConverged([a, b])
  })

  it('losers of concurrent prunes are deleted only along with a newer winner, never before a peer has the winner', () => {
    // a and b fold the same record into the base concurrently; b's copies win (higher client id). Were b to delete
    // a's copies in a transaction of its own, d could get that before b's copies (Yjs applies a deletion without
    // what caused it) and lose the base write of k and the horizon of a's writes.
    const a = replica('a', { versions: 2 }, undefined, 1)
    const b = replica('b', { versions: 2 }, undefined, 2)
    const d = replica('d', { versions: 2 }, undefined, 4)
    set(a, 'k', 1)
    set(a, 'j', 1)
    exchange(a, b)
    exchange(a, d)
    const fromA: Uint8Array[] = []
    a.doc.on('update', (u: Uint8Array, origin: unknown) => origin !== 'remote' && fromA.push(u))
    set(a, 'x', 1) // prunes k's record
    set(b, 'y', 1) // prunes k's record too
    const fromB: Uint8Array[] = []
    b.doc.on('update', (u: Uint8Array, origin: unknown) => origin !== 'remote' && fromB.push(u))
    exchange(a, b)
    expect(fromB).toEqual([]) // b deletes nothing on its own
    for (const u of [...fromA, ...fromB]) Y.applyUpdate(d.doc, u, 'remote')
    expect(d.doc.store.pendingStructs).toBeNull()
    expect(live(d)).toEqual({ default: { j: 1, k: 1, x: 1 } })
    expect(d.versions.at(d.versions.version()).toJSONAll()).toEqual(live(d))
    expect(() => d.versions.at('AA')).toThrow(VersionPrunedError) // the empty version: before the horizon
    exchange(b, d)
    expectConverged([a, b, d])
    // the next prune of k deletes the losing copy with its own write
    const bases = () =>
      a.doc
        .getArray(ENTRIES_ROOT)
        .toJSON()
        .filter((e: { p?: unknown[]; b?: unknown[] }) => (e.b ?? e.p)?.[1] === 'k')
    expect(bases().length).toBe(2)
    set(a, 'k', 2)
    set(a, 'k', 3)
    set(a, 'k', 4)
    syncAll([a, b, d])
    expect(bases().length).toBe(1)
    expectConverged([a, b, d])
  })

  it('age-based retention prunes old versions; versions: 0 disables history', async () => {
    let wall = 1_000_000
    const a = replica('a', { maxAgeMs: 1_000 }, () => wall)
    for (let i = 0; i < 5; i++) set(a, 'k', i)
    wall += 10_000
    set(a, 'k', 'new')
    expect(a.versions.prune()).toBe(5)
    expect(a.versions.history().map((e) => e.changes[0]!.after)).toEqual(['new'])
    expect(a.versions.at(a.versions.version()).get('k')).toBe('new')
    const off = replica('off', { versions: 0 })
    set(off, 'k', 1)
    expect(off.versions.history()).toEqual([])
    expect(off.doc.getArray(ENTRIES_ROOT).length).toBe(1)
    expect(() => off.versions.at(off.versions.version())).toThrow(VersionPrunedError)
    expect(() => replica('bad', { versions: -1 })).toThrow(/retention.versions/)
    expect(() => replica('bad', { maxAgeMs: 0 })).toThrow(/retention.maxAgeMs/)
  })

  it('a replica that may not prune (a read-only peer) keeps its history until a writer’s prune reaches it', () => {
    // simulated-mesh seed 2661478991: read-only peers pruned on their timer and wrote the new base under their own
    // client id, which nobody accepts: their state vectors differed from everyone's for good
    let wall = 1_000_000
    const a = replica('writer', { maxAgeMs: 1_000 }, () => wall)
    const ro = replica(
      'read-only',
      { maxAgeMs: 1_000 },
      () => wall,
      undefined,
      () => false,
    )
    for (let i = 0; i < 5; i++) set(a, 'k', i)
    syncAll([a, ro])
    wall += 10_000
    const before = Y.encodeStateVector(ro.doc)
    expect(ro.versions.prune()).toBe(0)
    expect(Y.encodeStateVector(ro.doc)).toEqual(before)
    expect(ro.versions.history().length).toBe(5)
    expect(a.versions.prune()).toBe(5)
    syncAll([a, ro])
    expect(ro.versions.history()).toEqual([])
    expect(Y.decodeStateVector(Y.encodeStateVector(ro.doc)).has(ro.doc.clientID)).toBe(false)
    expectConverged([a, ro])
  })

  it('replicas pruning different overlapping sets concurrently converge to the same base and horizon', () => {
    let wall = 10_000
    const clock = () => wall
    const rs = ['a', 'b', 'c'].map((n) => replica(n, { versions: 4 }, clock))
    for (let i = 0; i < 6; i++) {
      wall += 10
      set(rs[i % 3]!, `k${i % 4}`, i)
    }
    syncAll(rs)
    // now partitioned: each keeps writing (and pruning) on its own
    for (let i = 0; i < 30; i++) {
      wall += 10
      const r = rs[i % 3]!
      set(r, `k${(i * 7) % 5}`, `${r.name}${i}`)
    }
    syncAll(rs)
    expectConverged(rs)
    // more writes after the heal prune the history that was concurrent at the edge
    for (let i = 0; i < 10; i++) {
      wall += 10
      set(rs[0]!, 'after', i)
    }
    syncAll(rs)
    expectConverged(rs)
    expect(rs[0]!.versions.retained()).toBeLessThanOrEqual(5) // 4 + 25 % slack
    for (const e of rs[0]!.versions.history()) expect(e.available).toBe(true)
  })

  it('stays bounded under churn: 100 keys overwritten 20,000 times with history', () => {
    const a = replica('a', { versions: 200 })
    for (let i = 0; i < 20_000; i++) set(a, `key-${i % 100}`, { i, pad: 'x'.repeat(20) })
    const bytes = Y.encodeStateAsUpdate(a.doc).length
    const liveBytes = JSON.stringify(live(a)).length
    const historyBytes = JSON.stringify(a.versions.history().map((e) => e.changes.map((c) => [c.key, c.after]))).length
    expect(a.versions.retained()).toBeLessThanOrEqual(250)
    expect(bytes).toBeLessThan(4 * (liveBytes + historyBytes))
  })

  it('a seeded random network with writes, rollbacks and pruning: every available version shows what its replica saw', async () => {
    const seed = testSeed('versions random network')
    const rand = seededRandom(seed)
    const n = 4
    // client ids and wall clock from the seed too, so that a seed replays exactly (Yjs orders concurrent inserts by
    // client id; history and LWW order by hybrid time)
    let wall = 1_700_000_000_000
    const clock = () => wall
    const rs = Array.from({ length: n }, (_, i) =>
      replica(`peer-${i}`, { versions: 12 }, clock, 1 + Math.floor(rand() * 2 ** 31)),
    )
    const inbox: Uint8Array[][] = rs.map(() => [])
    rs.forEach((r, i) => {
      r.doc.on('update', (u: Uint8Array, origin: unknown) => {
        if (origin === 'remote') return
        for (let j = 0; j < n; j++) if (j !== i) inbox[j]!.push(u)
      })
    })
    const seen = new Map<string, unknown>()
    const keys = ['a', 'b', 'c', 'd']
    let rollbacks = 0
    let refused = 0
    let checked = 0
    /** Every version seen anywhere that `r` knows and still retains shows exactly what its replica showed. */
    const checkSeen = (r: Replica): number => {
      let ok = 0
      for (const [id, json] of seen) {
        try {
          expect(r.versions.at(id).toJSONAll(), id).toEqual(json)
          ok++
        } catch (err) {
          if (!(err instanceof VersionPrunedError || err instanceof UnknownVersionError)) throw err
        }
      }
      return ok
    }
    for (let step = 0; step < 1200; step++) {
      wall += Math.floor(rand() * 3) // 0-2 ms: same-millisecond writes too
      const i = Math.floor(rand() * n)
      const r = rs[i]!
      const p = rand()
      if (p < 0.4) {
        set(r, keys[Math.floor(rand() * keys.length)]!, step, rand() < 0.7 ? 'n' : 'm')
      } else if (p < 0.5) {
        set(r, keys[Math.floor(rand() * keys.length)]!, undefined, 'n')
      } else if (p < 0.58) {
        // an available version from this replica's history (must work), or one seen lately on any replica (may be
        // unknown here, or pruned)
        const own = rand() < 0.5
        const ids = own
          ? r.versions
              .history()
              .filter((e) => e.available)
              .map((e) => e.id)
          : [...seen.keys()].slice(-30)
        const id = ids[Math.floor(rand() * ids.length)]
        if (id !== undefined) {
          const scope = rand() < 0.5 ? undefined : rand() < 0.5 ? { namespace: 'm' } : { namespace: 'n', keys: ['a'] }
          try {
            await r.versions.rollback(id, scope, r.store, r.write)
            rollbacks++
          } catch (err) {
            if (own || !(err instanceof VersionPrunedError || err instanceof UnknownVersionError)) throw err
            refused++
          }
        }
      } else if (p < 0.9) {
        const box = inbox[i]!
        if (box.length > 0) {
          const [u] = box.splice(Math.floor(rand() * box.length), 1)
          if (rand() > 0.1) Y.applyUpdate(r.doc, u!, 'remote')
        }
      } else {
        exchange(r, rs[Math.floor(rand() * n)]!)
      }
      if (r.doc.store.pendingStructs === null && r.doc.store.pendingDs === null) {
        seen.set(r.versions.version().id, live(r))
        if (step % 50 === 0) checked += checkSeen(r)
      }
    }
    syncAll(rs)
    expectConverged(rs)
    checked += checkSeen(rs[0]!)
    // after convergence, a few more writes let pruning catch up: then every listed version is available
    for (let i = 0; i < 15; i++) {
      set(rs[i % n]!, 'final', i)
      syncAll(rs)
    }
    expectConverged(rs)
    expect(rs[0]!.versions.history().filter((e) => !e.available)).toEqual([])
    console.log(
      `[versions random network] seed=${seed}: ${rollbacks} rollbacks (${refused} refused), ${checked} versions checked`,
    )
    expect(rollbacks).toBeGreaterThan(10)
    expect(checked).toBeGreaterThan(5)
  })
})
