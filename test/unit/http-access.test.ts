import { describe, expect, it } from 'vitest'
import { InvalidFlagsError } from '../../src/flags/errors.js'
import { toErrorReply } from '../../src/http/error-status.js'
import { InvalidListenAddressError, InvalidTokenFileError } from '../../src/http/errors.js'
import { isLoopbackHost, parseListenAddress, urlOf } from '../../src/http/listen-address.js'
import { createTokenChecker, parseTokens } from '../../src/http/tokens.js'
import { InvalidRolloutError, RolloutConflictError, UnknownRolloutError } from '../../src/rollout/errors.js'
import { InvalidSchemaError, SchemaValidationError } from '../../src/schema/errors.js'

const R = 'r'.repeat(20)
const W = 'w'.repeat(20)

describe('HTTP API access: tokens', () => {
  it('parses read/write lines, skipping blanks and comments', () => {
    expect(parseTokens(`# ops\nread ${R}\r\n\n  write ${W}  \n`)).toEqual([
      { access: 'read', token: R },
      { access: 'write', token: W },
    ])
  })

  it('refuses malformed files, naming the line', () => {
    expect(() => parseTokens('')).toThrow(InvalidTokenFileError)
    expect(() => parseTokens(`read ${R}\nadmin ${W}`)).toThrow(/line 2/)
    expect(() => parseTokens('read short')).toThrow(/at least 16/)
    expect(() => parseTokens(`write ${W} extra`)).toThrow(InvalidTokenFileError)
  })

  it('checks bearer tokens: unknown -> unauthenticated, read on write -> forbidden', () => {
    const check = createTokenChecker(parseTokens(`read ${R}\nwrite ${W}`))
    expect(check.check(undefined, 'read')).toBe('unauthenticated')
    expect(check.check(`Basic ${R}`, 'read')).toBe('unauthenticated')
    expect(check.check(`Bearer ${R}x`, 'read')).toBe('unauthenticated')
    expect(check.check(`Bearer ${R}`, 'read')).toBe('ok')
    expect(check.check(`bearer ${R}`, 'write')).toBe('forbidden')
    expect(check.check(`Bearer ${W}`, 'write')).toBe('ok')
    expect(check.check(`Bearer ${W}`, 'read')).toBe('ok')
    expect(check.accessOf(`Bearer ${R}`)).toBe('read')
    expect(check.accessOf(`Bearer ${W}`)).toBe('write')
    expect(check.accessOf(`Bearer ${R}x`)).toBeUndefined()
    expect(check.accessOf(undefined)).toBeUndefined()
  })
})

describe('HTTP API errors: the status table', () => {
  it('maps schema, rollout and flag errors; a schema refusal carries its issues', () => {
    const issue = { namespace: 'app', key: 'n', pattern: 'n', path: '', message: 'must be <= 8' }
    const refused = toErrorReply(new SchemaValidationError('refused', [issue]))
    expect(refused.status).toBe(422)
    expect(refused.body.error).toMatchObject({ code: 'ERR_SCHEMA_VALIDATION', issues: [issue] })
    expect(toErrorReply(new RolloutConflictError('x')).status).toBe(409)
    expect(toErrorReply(new UnknownRolloutError('x')).status).toBe(404)
    for (const e of [new InvalidRolloutError('x'), new InvalidSchemaError('x'), new InvalidFlagsError('x')]) {
      expect(toErrorReply(e)).toMatchObject({ status: 400, body: { error: { code: e.code } } })
      expect(toErrorReply(e).body.error).not.toHaveProperty('issues')
    }
  })
})

describe('HTTP API access: listen addresses', () => {
  it('parses HOST:PORT, [v6]:PORT and :PORT', () => {
    expect(parseListenAddress('127.0.0.1:8500')).toEqual({ host: '127.0.0.1', port: 8500 })
    expect(parseListenAddress('[::1]:0')).toEqual({ host: '::1', port: 0 })
    expect(parseListenAddress(':9000')).toEqual({ host: '127.0.0.1', port: 9000 })
    expect(parseListenAddress('localhost:1')).toEqual({ host: 'localhost', port: 1 })
    for (const bad of ['8500', '127.0.0.1', '127.0.0.1:70000', '::1:80', 'a b:1']) {
      expect(() => parseListenAddress(bad), bad).toThrow(InvalidListenAddressError)
    }
  })

  it('knows loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.9.9.9', '::1', 'localhost', '0:0:0:0:0:0:0:1'])
      expect(isLoopbackHost(h), h).toBe(true)
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1']) expect(isLoopbackHost(h), h).toBe(false)
  })

  it('shows URLs a client can use', () => {
    expect(urlOf('::1', 80)).toBe('http://[::1]:80')
    expect(urlOf('0.0.0.0', 80)).toBe('http://127.0.0.1:80')
  })
})
