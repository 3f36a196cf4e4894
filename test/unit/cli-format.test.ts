/**
 * The CLI's pure parts: table and field formatting, argument parsing and usage errors, exit-code mapping.
 */
import { describe, expect, it } from 'vitest'
import { findCommand, intOption, parseCli, requireArgs } from '../../src/cli/args.js'
import { parseValue } from '../../src/cli/commands/kv.js'
import { exitCodeOf, UsageError } from '../../src/cli/errors.js'
import { formatFields, formatTable, formatTags, formatTime, formatValue, versionId } from '../../src/cli/format.js'
import { ApiNotFoundError, ApiRefusedError, ApiUnreachableError } from '../../src/client/errors.js'

describe('formatting', () => {
  it('aligns tables under upper-case headers, trims trailing space, keeps one line per row', () => {
    const rows = [
      { k: 'a', v: 1 },
      { k: 'longer\nkey', v: 22 },
    ]
    const cols = [
      { header: 'key', cell: (r: (typeof rows)[number]) => r.k },
      { header: 'v', cell: (r: (typeof rows)[number]) => String(r.v) },
    ]
    expect(formatTable(cols, rows)).toBe('KEY         V\na           1\nlonger key  22\n')
    expect(formatTable(cols, [], '(nothing)')).toBe('(nothing)\n')
  })

  it('formats fields, values, times, tags and versions', () => {
    expect(
      formatFields([
        ['a', '1'],
        ['long name', 'x'],
        ['skipped', undefined],
      ]),
    ).toBe('a          1\nlong name  x\n')
    expect(formatValue(undefined)).toBe('(absent)')
    expect(formatValue({ a: [1, 'x'] })).toBe('{"a":[1,"x"]}')
    expect(formatTime(0)).toBe('1970-01-01T00:00:00.000Z')
    expect(formatTime(undefined)).toBe('-')
    expect(formatTags({ zone: 'eu', role: 'edge' })).toBe('role=edge,zone=eu')
    expect(formatTags({})).toBe('-')
    expect(versionId({ id: 'AbC', clock: {} })).toBe('AbC')
    expect(versionId('XyZ')).toBe('XyZ')
  })
})

describe('arguments', () => {
  it('parses options and finds the command after options with values', () => {
    const { values, positionals } = parseCli(['--endpoint', 'http://x', 'get', 'k', '--namespace', 'ns', '--json'])
    expect(values).toMatchObject({ endpoint: 'http://x', namespace: 'ns', json: true })
    expect(positionals).toEqual(['get', 'k'])
    expect(findCommand(['--endpoint', 'http://x', 'node', '--data-dir', 'd'])).toEqual({ command: 'node', index: 2 })
    expect(findCommand(['--json'])).toEqual({ command: undefined, index: -1 })
  })

  it('refuses unknown options, bad integers and wrong argument counts with UsageError', () => {
    expect(() => parseCli(['get', '--bogus'])).toThrow(UsageError)
    expect(() => intOption(parseCli(['--limit', '-3']).values, 'limit')).toThrow(UsageError)
    expect(intOption(parseCli(['--limit', '12']).values, 'limit')).toBe(12)
    expect(() => requireArgs([], 1, 'confmesh get KEY')).toThrow(/usage: confmesh get KEY/)
    expect(() => requireArgs(['a', 'b'], 1, 'confmesh get KEY')).toThrow(/unexpected argument "b"/)
  })

  it('takes a value as JSON when it parses, else as text', () => {
    expect(parseValue('8080')).toBe(8080)
    expect(parseValue('{"a":true}')).toEqual({ a: true })
    expect(parseValue('web server')).toBe('web server')
  })

  it('maps failures to exit codes: 1 not found or failed, 2 usage, 3 refused', () => {
    expect(exitCodeOf(new UsageError('x'))).toBe(2)
    expect(exitCodeOf(new ApiRefusedError('x', 403))).toBe(3)
    expect(exitCodeOf(new ApiNotFoundError('x', 404))).toBe(1)
    expect(exitCodeOf(new ApiUnreachableError('x', 0))).toBe(1)
    expect(exitCodeOf(new Error('x'))).toBe(1)
  })
})
