/**
 * The write gate (`src/persistence/write-gate.ts`): synchronous with no hold; with a hold, writes wait and pass in the
 * order they arrived, also those arriving while earlier ones are still queued; once drained, synchronous again.
 */
import { describe, expect, it } from 'vitest'
import { createWriteGate } from '../../src/persistence/write-gate.js'

describe('write gate', () => {
  it('runs at once without a hold, in arrival order behind a hold, and at once again after it drained', async () => {
    let release!: () => void
    let hold: Promise<void> | undefined = new Promise<void>((r) => {
      release = r
    })
    const gate = createWriteGate(() => hold)
    const order: string[] = []
    const first = gate.run(() => order.push('a'))
    const second = gate.run(() => order.push('b'))
    expect(order).toEqual([])
    hold = undefined // the hold is over for newcomers, but they still queue behind the held writes
    const third = gate.run(() => order.push('c'))
    release()
    await Promise.all([first, second, third])
    expect(order).toEqual(['a', 'b', 'c'])
    await Promise.resolve()
    expect(gate.run(() => 'now')).toBe('now') // drained: synchronous again
  })

  it('a failing write rejects its own call only', async () => {
    let release!: () => void
    const gate = createWriteGate(() => new Promise<void>((r) => (release = r)))
    const bad = gate.run(() => {
      throw new Error('boom')
    })
    const good = gate.run(() => 2)
    release()
    await expect(bad).rejects.toThrow('boom')
    await expect(good).resolves.toBe(2)
  })
})
