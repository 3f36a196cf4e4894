import { describe, expect, it } from 'vitest'
import { createAgentLog, MAX_LOGGED_VALUE } from '../../src/agent/agent-log.js'
import type { WatchEvent } from '../../src/config/watch.js'

const capture = () => {
  const out: string[] = []
  const err: string[] = []
  return { io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) }, out, err }
}
const change = (value: WatchEvent['value'], previous?: WatchEvent['value']): WatchEvent => ({
  namespace: 'app',
  key: 'k',
  value,
  previous,
  source: 'remote',
  author: 'peer-a',
  time: 1_700_000_000_000,
})

describe('agent log', () => {
  it('JSON lines: one object per event with an ISO time; the write time apart', () => {
    const { io, out } = capture()
    const log = createAgentLog(io, true)
    log.change(change({ port: 1 }))
    const line = JSON.parse(out[0]!)
    expect(line).toMatchObject({
      event: 'change',
      namespace: 'app',
      key: 'k',
      value: { port: 1 },
      writeTime: 1_700_000_000_000,
    })
    expect(new Date(line.time).toISOString()).toBe(line.time)
    expect(line).not.toHaveProperty('previous')
    expect(out[0]!.endsWith('\n')).toBe(true)
  })

  it('values too large for a log line are logged by size (JSON) or cut (text)', () => {
    const big = 'x'.repeat(MAX_LOGGED_VALUE + 1)
    const json = capture()
    createAgentLog(json.io, true).change(change(big, 'small'))
    const line = JSON.parse(json.out[0]!)
    expect(line).not.toHaveProperty('value')
    expect(line.valueCharacters).toBe(big.length + 2)
    expect(line.previous).toBe('small')
    const text = capture()
    createAgentLog(text.io, false).change(change(big))
    expect(text.out[0]!.length).toBeLessThan(300)
    expect(text.out[0]).toMatch(/remote app\/k: \(absent\) -> "x+… \(\d+ characters\)\n$/)
  })

  it('warnings and errors: JSON lines on stdout, or text on stderr', () => {
    const json = capture()
    createAgentLog(json.io, true).logger.warn('careful')
    expect(JSON.parse(json.out[0]!)).toMatchObject({ event: 'log', level: 'warn', message: 'careful' })
    const text = capture()
    createAgentLog(text.io, false).logger.error('broken')
    expect(text.out).toEqual([])
    expect(text.err[0]).toMatch(/ error: broken\n$/)
  })
})
