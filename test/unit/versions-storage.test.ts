/**
 * How history stores values: once, in the entries (records and base writes refer to them), with the previous format
 * (values inline) still read, and what happens when an entry a record refers to is deleted by a peer that does not
 * know the rule.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { deleteElement } from '../../src/config/yjs-elements.js'
import { ENTRIES_ROOT } from '../../src/doc/entry.js'
import { VersionPrunedError } from '../../src/versions/errors.js'
import { seededRandom, testSeed } from '../helpers/cluster.js'
import { exchange, expectConverged, live, replica, set, syncAll } from '../helpers/version-replicas.js'

const KIB = 1024
/** A 1 KiB string value. */
const big = (i: number) => `${i}:`.padEnd(KIB, 'v')

describe('history stores each value once', () => {
  it('records and the base refer to entries: the document holds each value once, pruning deletes replaced ones', () => {
    const a = replica('a', { versions: 10 })
    const b = replica('b', { versions: 10 })
    for (let i = 0; i < 100; i++) set(a, `k${i}`, big(i))
    // 100 KiB of values; with values in records (and the base) too it was 2.2x
    expect(Y.encodeStateAsUpdate(a.doc).length).toBeLessThan(1.3 * 100 * KIB)
    for (let round = 1; round <= 3; round++) for (let i = 0; i < 100; i++) set(a, `k${i}`, big(i + round))
    // live entries + those of retained records (at most 12) + base-held entries that are not live (at most as many)
    expect(a.store.entryCount()).toBeLessThanOrEqual(100 + 2 * 13)
    expect(Y.encodeStateAsUpdate(a.doc).length).toBeLessThan(1.3 * 100 * KIB)
    exchange(a, b)
    expectConverged([a, b])
    const history = b.versions.history()
    expect(history.length).toBeGreaterThanOrEqual(10)
    for (const e of history) {
      expect(e.available).toBe(true)
      const change = e.changes[0]!
      expect(b.versions.at(e.id).get(change.key)).toEqual(change.after)
      expect(change.before).toEqual(big(Number(change.key.slice(1)) + 2))
    }
  })

  it('a peer without history leaves recorded entries it replaces in place', () => {
    const a = replica('a', { versions: 10 })
    const off = replica('off', { versions: 0 })
    set(a, 'x', 1)
    const v1 = a.versions.version()
    exchange(a, off)
    set(off, 'x', 2) // does not delete a's entry: a's record refers to it
    exchange(a, off)
    expect(a.versions.at(v1).get('x')).toBe(1)
    const c = replica('c', { versions: 10 })
    exchange(a, c) // a replica that joins later reads the value from the entry
    expect(c.versions.at(v1).get('x')).toBe(1)
    expect(live(c)).toEqual({ default: { x: 2 } })
  })

  it('reads records and base writes of the previous format (values inline)', () => {
    // what a peer of the previous version wrote: an entry without `h`, then a record with the value inline
    const old = new Y.Doc()
    old.clientID = 7
    old.getArray(ENTRIES_ROOT).push([
      { n: 'default', k: 'x', v: 'old', t: 1_000, c: 0, a: 'old-peer' },
      { a: 'old-peer', t: 1_000, c: 0, s: Y.encodeStateVector(new Map()), w: [['default', 'x', 1_000, 0, 'old']] },
    ])
    const a = replica('a', { versions: 1 })
    Y.applyUpdate(a.doc, Y.encodeStateAsUpdate(old), 'remote')
    const v1 = a.versions.version()
    expect(a.versions.history()[0]!.changes).toEqual([
      { namespace: 'default', key: 'x', before: undefined, after: 'old' },
    ])
    expect(a.versions.at(v1).get('x')).toBe('old')
    set(a, 'y', 1)
    set(a, 'y', 2) // prunes the old record: its value goes to the base inline (its entry is not kept for it)
    const bases = a.doc.getArray(ENTRIES_ROOT).toJSON() as Array<{ p?: unknown[]; b?: unknown[] }>
    expect(bases.find((e) => e.p?.[1] === 'x')?.p).toEqual(['default', 'x', 1_000, 0, 'old-peer', 'old'])
    set(a, 'x', 'new') // replaces the old entry (deleted: nothing refers to it)
    expect(a.versions.at(a.versions.history()[0]!.id).toJSON()).toEqual({ x: 'new', y: 2 })
    const b = replica('b', { versions: 1 })
    exchange(a, b)
    expectConverged([a, b])
  })

  it('a record whose entry was deleted by a peer of the previous version is listed but not available', () => {
    const a = replica('a', { versions: 10 })
    set(a, 'x', 1)
    const v1 = a.versions.version()
    set(a, 'y', 1)
    // a peer of the previous version replaces x and deletes the entry (it does not know `h`)
    a.doc.transact((tr) => deleteElement(tr, Y.createID(a.doc.clientID, 0)))
    const b = replica('b', { versions: 10 })
    exchange(a, b)
    const listed = b.versions.history()
    expect(listed.map((e) => e.available)).toEqual([false, false])
    expect(() => b.versions.at(v1)).toThrow(VersionPrunedError)
    expect(live(b)).toEqual({ default: { y: 1 } })
  })

  it('random writes, partial exchanges and concurrent prunes: every replica keeps every value it needs', () => {
    const seed = testSeed('versions-storage')
    const random = seededRandom(seed)
    for (let trial = 0; trial < 10; trial++) {
      const rs = [replica('a', { versions: 4 }), replica('b', { versions: 4 }), replica('c', { versions: 6 })]
      for (let step = 0; step < 120; step++) {
        const r = rs[Math.floor(random() * rs.length)]!
        const x = random()
        if (x < 0.7) set(r, `k${Math.floor(random() * 6)}`, x < 0.1 ? undefined : big(step))
        else exchange(r, rs[Math.floor(random() * rs.length)]!)
      }
      syncAll(rs)
      expectConverged(rs)
      const entries = rs[0]!.store.entryCount()
      for (const r of rs) {
        for (const e of r.versions.history()) {
          // a change set concurrent with history pruned elsewhere is not available, by design (docs/versions.md);
          // one whose values are gone would be: there must be none
          let error: unknown
          try {
            r.versions.at(e.id)
          } catch (err) {
            error = err
          }
          expect(error === undefined, `seed ${seed} trial ${trial}`).toBe(e.available)
          if (error !== undefined) expect(String(error)).toMatch(/older than the retained history/)
        }
        // live winners (6 keys) + retained records' entries + base-held ones: bounded, not one per write
        expect(r.store.entryCount()).toBe(entries)
        expect(entries).toBeLessThanOrEqual(6 + 2 * 3 * 8)
      }
    }
  })
})
