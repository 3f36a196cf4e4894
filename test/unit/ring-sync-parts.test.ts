import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { InvalidMessageError } from '../../src/errors.js'
import {
  decodePartRequest,
  encodePartRequest,
  encodeUpdatePart,
  encodeUpdatePartCached,
  MAX_SYNC_PARTS,
} from '../../src/sync/parts.js'
import { seededRandom, testSeed } from '../helpers/cluster.js'

const SEED = testSeed('ring-sync-parts')

/** Everything that must be identical after a sync. */
function snapshot(doc: Y.Doc): string {
  return JSON.stringify({
    entries: doc.getArray('entries').toJSON(),
    // Y.Map's key order is arrival order, which differs between replicas; compare sorted.
    map: Object.entries(doc.getMap('map').toJSON()).sort(([a], [b]) => (a < b ? -1 : 1)),
    text: doc.getText('text').toString(),
    sv: [...Y.decodeStateVector(Y.encodeStateVector(doc))].sort((a, b) => a[0] - b[0]),
    ds: [...Y.createDeleteSetFromStructStore(doc.store).clients].sort((a, b) => a[0] - b[0]),
    pending: doc.store.pendingStructs !== null || doc.store.pendingDs !== null,
  })
}

/** A document written by several clients: array pushes/inserts/deletes (with GC), a map and some text. */
function randomHistory(random: () => number, clients: number, steps: number): { docs: Y.Doc[]; updates: Uint8Array[] } {
  const docs = Array.from({ length: clients }, (_, i) => {
    const d = new Y.Doc({ gc: true })
    d.clientID = 1000 + i * 7
    return d
  })
  const updates: Uint8Array[] = []
  for (const d of docs) d.on('update', (u: Uint8Array) => updates.push(u))
  for (let step = 0; step < steps; step++) {
    const d = docs[Math.floor(random() * docs.length)]!
    const arr = d.getArray<unknown>('entries')
    const r = random()
    d.transact(() => {
      if (r < 0.45) {
        const n = 1 + Math.floor(random() * 20)
        arr.push(
          Array.from({ length: n }, (_, i) => ({ k: `k${step}.${i}`, v: 'x'.repeat(Math.floor(random() * 200)) })),
        )
      } else if (r < 0.6 && arr.length > 0) {
        const at = Math.floor(random() * arr.length)
        arr.delete(at, Math.min(arr.length - at, 1 + Math.floor(random() * 5)))
      } else if (r < 0.75) {
        arr.insert(Math.floor(random() * (arr.length + 1)), [step, { nested: [step, 'y'] }])
      } else if (r < 0.88) {
        d.getMap('map').set(`m${Math.floor(random() * 10)}`, { step, blob: new Uint8Array(Math.floor(random() * 50)) })
      } else {
        const t = d.getText('text')
        if (random() < 0.7 || t.length === 0) t.insert(Math.floor(random() * (t.length + 1)), `héllo${step} `)
        else t.delete(Math.floor(random() * t.length), 1)
      }
    })
    // Occasionally sync a random pair, so items get origins across clients.
    if (random() < 0.3) {
      const a = docs[Math.floor(random() * docs.length)]!
      const b = docs[Math.floor(random() * docs.length)]!
      Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)))
    }
  }
  return { docs, updates }
}

function shuffle<T>(random: () => number, xs: T[]): T[] {
  const out = [...xs]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

describe('sync parts', () => {
  it('round-trips the part request and refuses bad ones', () => {
    const sv = Y.encodeStateVector(new Y.Doc())
    const decoded = decodePartRequest(encodePartRequest(sv, { index: 3, count: 8 }))
    expect(decoded.part).toEqual({ index: 3, count: 8 })
    expect([...decoded.stateVector]).toEqual([...sv])
    expect(() => encodePartRequest(sv, { index: 8, count: 8 })).toThrow(InvalidMessageError)
    expect(() => encodePartRequest(sv, { index: 0, count: MAX_SYNC_PARTS + 1 })).toThrow(InvalidMessageError)
    expect(() => decodePartRequest(new Uint8Array([2, 0, 1]))).toThrow(InvalidMessageError)
    expect(() => decodePartRequest(new Uint8Array([1]))).toThrow(InvalidMessageError)
    expect(() => decodePartRequest(new Uint8Array([1, 5, 2]))).toThrow(InvalidMessageError)
  })

  // Applied one by one, parts must go in index order: Yjs can leave structs pending for good when updates with
  // cross-client dependencies arrive out of order (its retry only looks at the old pending set). Merged, any order.
  it('the parts, applied in order or merged in any order, give exactly what encodeStateAsUpdate gives', () => {
    const random = seededRandom(SEED)
    for (let trial = 0; trial < 20; trial++) {
      const { docs, updates } = randomHistory(random, 1 + Math.floor(random() * 4), 30 + Math.floor(random() * 80))
      // Converge all writers, then pick one as the responder.
      const full = Y.mergeUpdates(updates)
      for (const d of docs) Y.applyUpdate(d, full)
      const responder = docs[0]!
      // The requester holds a random prefix of the history (possibly nothing).
      const requester = () => {
        const d = new Y.Doc({ gc: true })
        d.clientID = 1
        for (const u of updates.slice(0, prefix)) Y.applyUpdate(d, u)
        return d
      }
      const prefix = random() < 0.4 ? 0 : Math.floor(random() * updates.length)
      const expected = requester()
      const sv = Y.encodeStateVector(expected)
      Y.applyUpdate(expected, Y.encodeStateAsUpdate(responder, sv))
      for (const count of [1, 2, 3, 5, 8]) {
        const minPartWeight = random() < 0.5 ? 1 : 64
        const parts = Array.from({ length: count }, (_, index) =>
          encodeUpdatePart(responder, sv, { index, count }, { minPartWeight }),
        )
        const inOrder = requester()
        let parked = 0
        for (const p of parts) {
          Y.applyUpdate(inOrder, p)
          if (inOrder.store.pendingStructs !== null) parked++
        }
        // Cut in causal order: a part never waits for a later one (parked structs cost a joiner a merge and a
        // re-apply of everything parked, each time a part arrives).
        expect(parked, `trial ${trial} count ${count}: parts that parked structs`).toBe(0)
        expect(snapshot(inOrder), `trial ${trial} count ${count}`).toBe(snapshot(expected))
        const merged = requester()
        Y.applyUpdate(merged, Y.mergeUpdates(shuffle(random, parts)))
        expect(snapshot(merged), `trial ${trial} count ${count} merged`).toBe(snapshot(expected))
        // Disjoint: the parts together are not much larger than the whole reply.
        const whole = Y.encodeStateAsUpdate(responder, sv).length
        const sum = parts.reduce((a, p) => a + p.length, 0)
        expect(sum).toBeLessThanOrEqual(whole * 1.1 + count * 64)
      }
    }
  })

  it('serves the same part for the same state vector from the cache until the document changes', () => {
    const doc = new Y.Doc({ gc: true })
    const array = doc.getArray('entries')
    for (let i = 0; i < 50; i++) array.push([{ k: `k${i}`, v: 'x'.repeat(100) }])
    const empty = Y.encodeStateVector(new Y.Doc())
    const part = { index: 1, count: 3 }
    const first = encodeUpdatePartCached(doc, empty, part, { minPartWeight: 1 })
    expect(first).toEqual(encodeUpdatePart(doc, empty, part, { minPartWeight: 1 }))
    expect(encodeUpdatePartCached(doc, empty, part, { minPartWeight: 1 })).toBe(first) // the cached bytes
    // another state vector or part: encoded for itself
    const other = encodeUpdatePartCached(doc, empty, { index: 0, count: 3 }, { minPartWeight: 1 })
    expect(other).toEqual(encodeUpdatePart(doc, empty, { index: 0, count: 3 }, { minPartWeight: 1 }))
    // a deletion only (no new struct) changes part 0 (the delete set): the cache is dropped
    array.delete(0, 1)
    const after = encodeUpdatePartCached(doc, empty, { index: 0, count: 3 }, { minPartWeight: 1 })
    expect(after).not.toBe(other)
    expect(after).toEqual(encodeUpdatePart(doc, empty, { index: 0, count: 3 }, { minPartWeight: 1 }))
    array.push([{ k: 'new' }])
    expect(encodeUpdatePartCached(doc, empty, part, { minPartWeight: 1 })).toEqual(
      encodeUpdatePart(doc, empty, part, { minPartWeight: 1 }),
    )
  })

  it('parts from different replicas with the same content fit together', () => {
    const random = seededRandom(SEED + 1)
    for (let trial = 0; trial < 20; trial++) {
      const { updates } = randomHistory(random, 3, 80)
      // Two replicas that received the same history differently batched: their items are split differently.
      const a = new Y.Doc({ gc: true })
      for (const u of updates) Y.applyUpdate(a, u)
      const b = new Y.Doc({ gc: true })
      Y.applyUpdate(b, Y.mergeUpdates(shuffle(random, updates)))
      expect(snapshot(b)).toBe(snapshot(a))
      const sv = Y.encodeStateVector(new Y.Doc())
      const count = 2 + Math.floor(random() * 6)
      const got = new Y.Doc({ gc: true })
      for (let index = 0; index < count; index++) {
        const from = random() < 0.5 ? a : b
        Y.applyUpdate(got, encodeUpdatePart(from, sv, { index, count }, { minPartWeight: 1 }))
      }
      expect(snapshot(got)).toBe(snapshot(a))
    }
  })

  it('balances parts by size and cuts inside one large item', () => {
    const doc = new Y.Doc({ gc: true })
    const value = 'v'.repeat(1000)
    // One transaction: 2,000 entries in a single Yjs item, the shape of a bulk `update()`.
    doc.getArray('entries').push(Array.from({ length: 2000 }, (_, i) => ({ k: `key-${i}`, v: value })))
    const sv = Y.encodeStateVector(new Y.Doc())
    const count = 8
    const sizes = Array.from({ length: count }, (_, index) => encodeUpdatePart(doc, sv, { index, count }).length)
    const mean = sizes.reduce((a, b) => a + b, 0) / count
    expect(Math.max(...sizes) / mean).toBeLessThan(1.02)
    // A small reply is not split: part 0 carries everything, the others are empty updates.
    const small = new Y.Doc()
    small.getArray('entries').push([{ k: 'a', v: 1 }])
    const smallParts = Array.from({ length: 4 }, (_, index) => encodeUpdatePart(small, sv, { index, count: 4 }))
    expect(smallParts.slice(1).every((p) => p.length === 2)).toBe(true)
    const got = new Y.Doc()
    Y.applyUpdate(got, smallParts[0]!)
    expect(got.getArray('entries').toJSON()).toEqual([{ k: 'a', v: 1 }])
  })
})
