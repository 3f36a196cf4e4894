import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { type Change, createKvStore, type KvStore } from '../../src/config/kv-store.js'
import { createHybridLogicalClock } from '../../src/doc/hlc.js'
import { seededRandom, testSeed } from '../helpers/cluster.js'

interface Replica {
  doc: Y.Doc
  store: KvStore
  changes: Change[]
}

function replica(author: string, wall?: () => number): Replica {
  const doc = new Y.Doc({ gc: true })
  const store = createKvStore({ doc, author, clock: createHybridLogicalClock(wall) })
  const changes: Change[] = []
  store.onChanges((c) => changes.push(...c))
  return { doc, store, changes }
}

/** Full state-vector exchange between two replicas (what the catch-up protocol does). */
function exchange(a: Replica, b: Replica): void {
  Y.applyUpdate(b.doc, Y.encodeStateAsUpdate(a.doc, Y.encodeStateVector(b.doc)), 'remote')
  Y.applyUpdate(a.doc, Y.encodeStateAsUpdate(b.doc, Y.encodeStateVector(a.doc)), 'remote')
}

function expectConverged(replicas: Replica[]): void {
  const json = (r: Replica) => JSON.stringify(r.store.namespaces().map((n) => [n, r.store.entries(n)]))
  const sv = (r: Replica) => JSON.stringify([...Y.decodeStateVector(Y.encodeStateVector(r.doc))].sort())
  for (const r of replicas) {
    expect(r.doc.store.pendingStructs).toBeNull()
    expect(r.doc.store.pendingDs).toBeNull()
    expect(json(r)).toBe(json(replicas[0]!))
    expect(sv(r)).toBe(sv(replicas[0]!))
  }
}

describe('LWW key-value store over a Y.Array', () => {
  it('the later write wins by hybrid time, not by Yjs client id, identically on every replica', () => {
    let wall = 1000
    const a = replica('peer-a', () => wall)
    const b = replica('peer-b', () => wall)
    a.doc.clientID = 1 // Yjs would let the higher client id win a Y.Map conflict; time must decide here.
    b.doc.clientID = 999
    b.store.write([{ namespace: 'n', key: 'k', value: 'earlier-from-b' }])
    wall = 2000
    a.store.write([{ namespace: 'n', key: 'k', value: 'later-from-a' }])
    exchange(a, b)
    expect(a.store.get('n', 'k')).toBe('later-from-a')
    expect(b.store.get('n', 'k')).toBe('later-from-a')
    expectConverged([a, b])
    // the loser entry is garbage-collected by both
    exchange(a, b)
    expect(a.store.entryCount()).toBe(1)
    expect(b.store.entryCount()).toBe(1)
  })

  it('breaks exact time ties by author, deterministically', () => {
    const a = replica('peer-a', () => 5)
    const b = replica('peer-b', () => 5)
    a.store.write([{ namespace: 'n', key: 'k', value: 'a' }])
    b.store.write([{ namespace: 'n', key: 'k', value: 'b' }])
    exchange(a, b)
    expect(a.store.get('n', 'k')).toBe('b')
    expectConverged([a, b])
  })

  it('deletes are tombstones that obey last-writer-wins too', () => {
    let wall = 10
    const a = replica('a', () => wall)
    const b = replica('b', () => wall)
    a.store.write([{ namespace: 'n', key: 'k', value: 1 }])
    exchange(a, b)
    wall = 20
    b.store.write([{ namespace: 'n', key: 'k', value: undefined }])
    wall = 15 // a's clock is behind, but it observed b's write before writing: its write is still later
    exchange(a, b)
    a.store.write([{ namespace: 'n', key: 'k', value: 'revived' }])
    exchange(a, b)
    expect(b.store.get('n', 'k')).toBe('revived')
    expectConverged([a, b])
  })

  it('reports every change once, with previous value and source; equal rewrites are not changes', () => {
    const a = replica('a')
    const b = replica('b')
    a.doc.on('update', (u: Uint8Array, origin: unknown) => origin !== 'remote' && Y.applyUpdate(b.doc, u, 'remote'))
    a.store.write([{ namespace: 'n', key: 'k', value: { v: 1 } }])
    a.store.write([{ namespace: 'n', key: 'k', value: { v: 1 } }])
    a.store.write([{ namespace: 'n', key: 'k', value: { v: 2 } }])
    a.store.write([{ namespace: 'n', key: 'k', value: undefined }])
    a.store.write([{ namespace: 'n', key: 'k', value: undefined }])
    const view = (r: Replica) => r.changes.map((c) => [c.value, c.previous, c.source])
    expect(view(a)).toEqual([
      [{ v: 1 }, undefined, 'local'],
      [{ v: 2 }, { v: 1 }, 'local'],
      [undefined, { v: 2 }, 'local'],
    ])
    expect(view(b)).toEqual(view(a).map(([v, p]) => [v, p, 'remote']))
  })

  it('stays bounded under churn: 100 keys overwritten 20,000 times', () => {
    const a = replica('a')
    const b = replica('b')
    a.doc.on('update', (u: Uint8Array, origin: unknown) => origin !== 'remote' && Y.applyUpdate(b.doc, u, 'remote'))
    for (let i = 0; i < 20_000; i++)
      a.store.write([{ namespace: 'n', key: `key-${i % 100}`, value: { i, pad: 'x'.repeat(20) } }])
    const live = JSON.stringify(a.store.entries('n')).length
    const bytes = Y.encodeStateAsUpdate(b.doc).length
    expect(b.store.entries('n')).toEqual(a.store.entries('n'))
    expect(bytes).toBeLessThan(4 * live)
  })

  it('converges under a seeded random network that reorders, drops, and reconnects', () => {
    const seed = testSeed('kv-store random network')
    const rand = seededRandom(seed)
    const n = 5
    const replicas = Array.from({ length: n }, (_, i) => replica(`peer-${i}`))
    const inbox: Array<Array<Uint8Array>> = replicas.map(() => [])
    replicas.forEach((r, i) => {
      r.doc.on('update', (u: Uint8Array, origin: unknown) => {
        if (origin === 'remote') return
        for (let j = 0; j < n; j++) if (j !== i) inbox[j]!.push(u)
      })
    })
    const keys = ['a', 'b', 'c', 'd', 'e']
    for (let step = 0; step < 2000; step++) {
      const i = Math.floor(rand() * n)
      const r = replicas[i]!
      const p = rand()
      if (p < 0.45) {
        r.store.write([
          { namespace: rand() < 0.8 ? 'n' : 'm', key: keys[Math.floor(rand() * keys.length)]!, value: step },
        ])
      } else if (p < 0.55) {
        r.store.write([{ namespace: 'n', key: keys[Math.floor(rand() * keys.length)]!, value: undefined }])
      } else if (p < 0.9) {
        const box = inbox[i]!
        if (box.length > 0) {
          const idx = Math.floor(rand() * box.length) // reorder
          const [u] = box.splice(idx, 1)
          if (rand() > 0.1) Y.applyUpdate(r.doc, u!, 'remote') // 10 % dropped
        }
      } else {
        exchange(r, replicas[Math.floor(rand() * n)]!) // reconnect: state-vector catch-up
      }
    }
    // heal: everyone catches up with everyone (twice, so GC deletions spread too)
    for (let round = 0; round < 2; round++)
      for (const x of replicas) for (const y of replicas) if (x !== y) exchange(x, y)
    expectConverged(replicas)
  })
})
