import { describe, expect, it } from 'vitest'
import type { WatchEvent } from '../../src/config/watch.js'
import { createEventLog } from '../../src/http/event-log.js'

const event = (key: string, value?: string): WatchEvent => ({
  namespace: 'ns',
  key,
  value,
  previous: undefined,
  source: 'remote',
  author: 'peer',
  time: 1,
})

describe('watch event log', () => {
  it('returns exactly the events after an id, in order', () => {
    const log = createEventLog()
    const start = log.currentId()
    const ids = ['a', 'b', 'c'].map((k) => log.append(event(k, k)).id)
    expect(log.since(start).events?.map((e) => e.event.key)).toEqual(['a', 'b', 'c'])
    expect(log.since(ids[0]!).events?.map((e) => e.event.key)).toEqual(['b', 'c'])
    expect(log.since(ids[2]!).events).toEqual([])
    expect(log.currentId()).toBe(ids[2])
  })

  it('serialises once: value and previous omitted when absent, deleted explicit', () => {
    const log = createEventLog()
    const e = log.append(event('gone'))
    expect(JSON.parse(e.data)).toEqual({
      namespace: 'ns',
      key: 'gone',
      deleted: true,
      source: 'remote',
      author: 'peer',
      time: 1,
    })
  })

  it('drops the oldest past maxEvents or maxBytes; a client behind them must reload', () => {
    const log = createEventLog({ maxEvents: 3 })
    const ids = Array.from({ length: 5 }, (_, i) => log.append(event(`k${i}`, 'v')).id)
    expect(log.size).toBe(3)
    expect(log.since(ids[1]!).events?.map((e) => e.event.key)).toEqual(['k2', 'k3', 'k4'])
    expect(log.since(ids[0]!).reload).toMatch(/dropped/)
    const bytes = createEventLog({ maxBytes: 300 })
    for (let i = 0; i < 10; i++) bytes.append(event(`k${i}`, 'x'.repeat(100)))
    expect(bytes.size).toBe(1) // always keeps the newest, even over the byte bound
  })

  it('tells a client with an id from another run, a future id or garbage to reload', () => {
    const log = createEventLog()
    const other = createEventLog()
    const foreign = other.append(event('x', 'x')).id
    log.append(event('y', 'y'))
    expect(log.since(foreign).reload).toMatch(/restarted/)
    expect(log.since(log.currentId().replace(/-\d+$/, '-99')).reload).toBeDefined()
    expect(log.since('not an id').reload).toBeDefined()
  })

  it('keeps order and bounds over many appends (compaction of the backing array)', () => {
    const log = createEventLog({ maxEvents: 100 })
    let mark = log.currentId()
    for (let i = 0; i < 5000; i++) {
      const e = log.append(event(`k${i}`, String(i)))
      if (i === 4949) mark = e.id
    }
    expect(log.size).toBe(100)
    expect(log.since(mark).events?.map((e) => e.event.key)).toEqual(
      Array.from({ length: 50 }, (_, i) => `k${4950 + i}`),
    )
  })

  it('a subscriber that throws does not keep the event from the others', () => {
    const log = createEventLog()
    const seen: string[] = []
    log.subscribe(() => {
      throw new Error('broken socket')
    })
    log.subscribe((e) => seen.push(e.event.key))
    log.append(event('k', 'v'))
    expect(seen).toEqual(['k'])
  })
})
