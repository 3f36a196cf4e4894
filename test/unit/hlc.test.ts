import { describe, expect, it } from 'vitest'
import { compareHlc, createHybridLogicalClock } from '../../src/doc/hlc.js'

describe('hybrid logical clock', () => {
  it('is strictly increasing even when the wall clock stands still or goes back', () => {
    let wall = 1000
    const clock = createHybridLogicalClock(() => wall)
    const a = clock.now()
    const b = clock.now()
    wall = 900
    const c = clock.now()
    wall = 2000
    const d = clock.now()
    expect(compareHlc(b, a)).toBeGreaterThan(0)
    expect(compareHlc(c, b)).toBeGreaterThan(0)
    expect(d).toEqual({ ms: 2000, c: 0 })
  })
  it('issues timestamps after every observed remote timestamp (the later write wins across skewed clocks)', () => {
    const slow = createHybridLogicalClock(() => 1000)
    slow.observe({ ms: 5000, c: 7 })
    const t = slow.now()
    expect(compareHlc(t, { ms: 5000, c: 7 })).toBeGreaterThan(0)
    slow.observe({ ms: 10, c: 0 })
    expect(slow.latest()).toEqual(t)
  })
})
