import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { UnknownVersionError } from '../../src/versions/errors.js'
import {
  clockOf,
  compareClocks,
  decodeVersionId,
  dominates,
  encodeVersionId,
  mergeClocks,
  stateVectorOf,
  toVersion,
} from '../../src/versions/vector-clock.js'

const clock = (o: Record<number, number>) => new Map(Object.entries(o).map(([k, v]) => [Number(k), v]))

describe('version ids and vector clocks', () => {
  it('encodes a clock as base64url of Y.encodeStateVector, canonically, and decodes it back', () => {
    const c = clock({ 7: 3, 4000000000: 12, 1: 1 })
    const id = encodeVersionId(c)
    expect(id).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(Buffer.from(id, 'base64url')).toEqual(Buffer.from(Y.encodeStateVector(c)))
    expect(decodeVersionId(id)).toEqual(c)
    // insertion order and zero counters do not change the id
    expect(encodeVersionId(clock({ 1: 1, 4000000000: 12, 7: 3, 9: 0 }))).toBe(id)
    expect(encodeVersionId(new Map())).toBe('AA')
    expect(decodeVersionId('AA')).toEqual(new Map())
  })

  it('a Version carries the same clock as decimal client ids, sorted', () => {
    const v = toVersion(clock({ 20: 5, 3: 2 }))
    expect(v.clock).toEqual({ 3: 2, 20: 5 })
    expect(Object.keys(v.clock)).toEqual(['3', '20'])
    expect(clockOf(v)).toEqual(clock({ 3: 2, 20: 5 }))
    expect(clockOf({ clock: { 3: 2, 20: 5 } } as never)).toEqual(clock({ 3: 2, 20: 5 }))
    expect(clockOf(v.id)).toEqual(clockOf(v))
  })

  it('the state vector of a document is its version clock', () => {
    const a = new Y.Doc()
    const b = new Y.Doc()
    a.getArray('x').push([1, 2])
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a))
    b.getArray('x').push([3])
    expect(stateVectorOf(b)).toEqual(Y.decodeStateVector(Y.encodeStateVector(b)))
    expect(encodeVersionId(stateVectorOf(b))).toBe(Buffer.from(Y.encodeStateVector(b)).toString('base64url'))
  })

  it('refuses garbage ids with UnknownVersionError', () => {
    const nonCanonical = Buffer.from([2, 1, 1, 7, 3]).toString('base64url') // clients in ascending order
    const zero = Buffer.from([1, 7, 0]).toString('base64url')
    const trailing = Buffer.from([1, 7, 3, 9]).toString('base64url')
    const bad = ['', '!!', 'AA==', 'A', nonCanonical, zero, trailing, 'x'.repeat(70_000), '/+', 'AA AA']
    for (const id of bad) {
      expect(() => decodeVersionId(id), id.slice(0, 20)).toThrow(UnknownVersionError)
    }
    expect(() => clockOf(42 as never)).toThrow(expect.objectContaining({ name: 'UnknownVersionError' }))
    expect(() => clockOf('!')).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_VERSION' }))
    expect(() => clockOf({ clock: { abc: 1 } } as never)).toThrow(UnknownVersionError)
    expect(() => clockOf({ clock: { 1: -1 } } as never)).toThrow(UnknownVersionError)
    expect(() => clockOf({ clock: { 1: 1.5 } } as never)).toThrow(UnknownVersionError)
  })

  it('compares by vector-clock order', () => {
    const a = clock({ 1: 2, 2: 1 })
    expect(compareClocks(a, clock({ 1: 2, 2: 1 }))).toBe('equal')
    expect(compareClocks(a, clock({ 1: 3, 2: 1 }))).toBe('before')
    expect(compareClocks(a, clock({ 1: 2 }))).toBe('after')
    expect(compareClocks(a, clock({ 1: 1, 2: 2 }))).toBe('concurrent')
    expect(compareClocks(a, clock({ 3: 1 }))).toBe('concurrent')
    expect(compareClocks(new Map(), a)).toBe('before')
    expect(dominates(a, new Map())).toBe(true)
    expect(mergeClocks(a, clock({ 1: 1, 3: 4 }))).toEqual(clock({ 1: 2, 2: 1, 3: 4 }))
  })
})
