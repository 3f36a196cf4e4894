import { describe, expect, it } from 'vitest'
import { InvalidSchemaError } from '../../src/index.js'
import { createSchemaCompiler } from '../../src/schema/compiler.js'
import { keyMatches } from '../../src/schema/key-pattern.js'
import { parseStoredSchema, schemaKey } from '../../src/schema/stored-schema.js'

describe('key patterns', () => {
  it('match exact keys and globs (* any run, dots included; ? one character); nothing else is special', () => {
    expect(keyMatches('limits.daily', 'limits.daily')).toBe(true)
    expect(keyMatches('limits.daily', 'limits.dailyX')).toBe(false)
    expect(keyMatches('limits.*', 'limits.eu.daily')).toBe(true)
    expect(keyMatches('limits.*', 'limits')).toBe(false)
    expect(keyMatches('limits.*', 'limitsXdaily')).toBe(false) // the dot is literal
    expect(keyMatches('v?', 'v1')).toBe(true)
    expect(keyMatches('v?', 'v12')).toBe(false)
    expect(keyMatches('a+(b)[c]', 'a+(b)[c]')).toBe(true)
    expect(keyMatches('*', 'any\nthing')).toBe(true)
  })
})

describe('schema compiler', () => {
  it('compiles 2020-12 by default and draft-07 by $schema, once per schema text', () => {
    const c = createSchemaCompiler()
    const s = { type: 'array', prefixItems: [{ type: 'string' }], items: { type: 'number' } } // 2020-12 only
    expect(c.compile(s)(['a', 1, 2])).toEqual([])
    expect(c.compile(s)(['a', 'b'])).toEqual([{ path: '/1', message: 'must be number' }])
    expect(c.compiled).toBe(1)
    const d7 = { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', required: ['x'] }
    expect(c.compile(d7)({})).toEqual([{ path: '', message: "must have required property 'x'" }])
    expect(c.compile({ type: 'string', format: 'email' })('no')).toEqual([
      { path: '', message: 'must match format "email"' },
    ])
    // two schemas with one $id do not clash
    expect(c.compile({ $id: 'urn:x', type: 'number' })(1)).toEqual([])
    expect(c.compile({ $id: 'urn:x', type: 'string' })('s')).toEqual([])
  })

  it('refuses what is not a usable schema with InvalidSchemaError', () => {
    const c = createSchemaCompiler()
    for (const bad of [{ type: 'nope' }, 5, 'x', null, [], { $ref: '#/missing' }]) {
      expect(() => c.compile(bad as never)).toThrow(InvalidSchemaError)
    }
  })
})

describe('stored schema records', () => {
  it('parse only records stored under their own key', () => {
    const key = schemaKey('ns', 'a.*')
    expect(parseStoredSchema(key, { namespace: 'ns', pattern: 'a.*', schema: true })).toEqual({
      namespace: 'ns',
      pattern: 'a.*',
      schema: true,
    })
    expect(parseStoredSchema(key, { namespace: 'ns', pattern: 'b', schema: true })).toBeUndefined()
    expect(parseStoredSchema(key, { namespace: 'ns', pattern: 'a.*' })).toBeUndefined()
    expect(parseStoredSchema(key, 'x')).toBeUndefined()
  })
})
