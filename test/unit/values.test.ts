import { describe, expect, it } from 'vitest'
import { assertValidKey, assertValidNamespace, MAX_KEY_LENGTH } from '../../src/config/key.js'
import { assertJsonValue, deepFreeze, jsonEqual } from '../../src/config/value.js'
import { InvalidKeyError, InvalidNamespaceError, InvalidValueError } from '../../src/errors.js'

describe('keys', () => {
  it('accepts ordinary keys, including unicode and dots', () => {
    for (const k of ['a', 'feature.checkout', 'db/primary:host', 'ключ', '🔑.emoji', 'x'.repeat(MAX_KEY_LENGTH)]) {
      expect(() => assertValidKey(k)).not.toThrow()
    }
  })
  it('refuses empty, absurdly long, non-string, control-character and lone-surrogate keys', () => {
    for (const k of [
      '',
      'x'.repeat(MAX_KEY_LENGTH + 1),
      'a\nb',
      'nul\u0000',
      'del\u007f',
      '\ud800',
      'x\udc00',
      1,
      null,
    ]) {
      expect(() => assertValidKey(k)).toThrow(InvalidKeyError)
    }
  })
  it('applies the same rules to namespace names', () => {
    expect(() => assertValidNamespace('payments')).not.toThrow()
    for (const n of ['', 'x'.repeat(257), 'a\tb', undefined])
      expect(() => assertValidNamespace(n)).toThrow(InvalidNamespaceError)
  })
})

describe('values', () => {
  it('accepts every JSON value', () => {
    for (const v of [
      null,
      true,
      0,
      -1.5,
      'text',
      [],
      {},
      [1, 'a', null, { b: [true] }],
      { nested: { deep: [1, 2] } },
    ]) {
      expect(() => assertJsonValue(v)).not.toThrow()
    }
    expect(() => assertJsonValue(Object.create(null))).not.toThrow()
  })
  it('refuses what JSON cannot carry', () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const bad: unknown[] = [
      undefined,
      () => 1,
      Symbol('s'),
      10n,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      { a: undefined },
      [1, undefined],
      new Date(),
      new Map(),
      cyclic,
      // biome-ignore lint/suspicious/noSparseArray: a sparse array is the point of this case
      [1, , 3],
      { [Symbol('k')]: 1 },
    ]
    for (const v of bad) expect(() => assertJsonValue(v), String(v)).toThrow(InvalidValueError)
  })
  it('refuses values over the size and depth limits', () => {
    expect(() => assertJsonValue('x'.repeat(100), { maxBytes: 50 })).toThrow(InvalidValueError)
    let deep: unknown = 1
    for (let i = 0; i < 100; i++) deep = [deep]
    expect(() => assertJsonValue(deep)).toThrow(/nested deeper/)
  })
  it('accepts the same object twice when it is not a cycle', () => {
    const shared = { x: 1 }
    expect(() => assertJsonValue({ a: shared, b: shared })).not.toThrow()
  })
  it('compares structurally and freezes deeply', () => {
    expect(jsonEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true)
    expect(jsonEqual({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(true)
    expect(jsonEqual({ a: 1 }, { a: 1, b: undefined } as never)).toBe(false)
    expect(jsonEqual([1], { 0: 1 })).toBe(false)
    expect(jsonEqual(null, undefined)).toBe(false)
    const v = deepFreeze({ a: { b: [1] } })
    expect(Object.isFrozen(v.a.b)).toBe(true)
  })
})
