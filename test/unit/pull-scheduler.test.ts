/**
 * The pull scheduler's anti-entropy period on virtual time: the base period while the document changes, doubling
 * after {@link ACTIVE_ROUNDS} quiet rounds up to the maximum, and back to the base at the next change (brought
 * forward at once, not after a long quiet round ends). A quiet mesh has nothing to repair: an idle peer opened a
 * catch-up stream every 5 s, about a tenth of its CPU (bench/RESULTS.md "Idle cost").
 */
import { describe, expect, it } from 'vitest'
import { ACTIVE_ROUNDS, createPullScheduler, DEFAULT_MAX_ANTI_ENTROPY_MS } from '../../src/sync/pull-scheduler.js'
import type { Transport } from '../../src/transport/transport.js'
import { createVirtualScheduler } from '../../src/transport/virtual-scheduler.js'

const SILENT = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }

function setup(options: { antiEntropyMs?: number; maxAntiEntropyMs?: number; mayBackOff?: () => boolean } = {}) {
  const sched = createVirtualScheduler()
  const t0 = sched.now()
  const pulls: number[] = []
  const transport = {
    addEventListener: () => {},
    removeEventListener: () => {},
    connections: () => ['peer-b'],
  } as unknown as Transport
  const scheduler = createPullScheduler({
    transport,
    clock: sched.clock(),
    random: () => 0.5, // no jitter: every period exact
    protocol: '/test/sync',
    pull: async () => {
      pulls.push(sched.now() - t0)
    },
    logger: SILENT,
    ...options,
  })
  return { sched, t0, pulls, scheduler }
}

/** Gaps between consecutive pulls. */
const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!)

describe('pull scheduler: adaptive anti-entropy', () => {
  it('holds the base period for the active rounds, then doubles up to the maximum', async () => {
    const { sched, pulls, scheduler } = setup()
    scheduler.start()
    await sched.runFor(10 * 60_000)
    scheduler.stop()
    const g = gaps(pulls)
    // ACTIVE_ROUNDS rounds 5 s apart (the first 5 s after start), then 10, 20, 40 s, then 60 s for good
    expect(pulls[0]).toBe(5_000)
    expect(g.slice(0, ACTIVE_ROUNDS - 1)).toEqual(Array(ACTIVE_ROUNDS - 1).fill(5_000))
    expect(g.slice(ACTIVE_ROUNDS - 1, ACTIVE_ROUNDS + 2)).toEqual([10_000, 20_000, 40_000])
    expect(new Set(g.slice(ACTIVE_ROUNDS + 2))).toEqual(new Set([DEFAULT_MAX_ANTI_ENTROPY_MS]))
  })

  it('a change brings a quiet round forward to one base period and restarts the active rounds', async () => {
    const { sched, t0, pulls, scheduler } = setup()
    scheduler.start()
    await sched.runFor(5 * 60_000) // quiet: rounds are a minute apart now
    const changedAt = sched.now() - t0
    const before = pulls.length
    scheduler.noteActivity()
    await sched.runFor(ACTIVE_ROUNDS * 5_000 + 1)
    const after = pulls.slice(before)
    expect(after[0]).toBe(changedAt + 5_000)
    expect(gaps(after).slice(0, ACTIVE_ROUNDS - 1)).toEqual(Array(ACTIVE_ROUNDS - 1).fill(5_000))
    scheduler.stop()
  })

  it('a peer that may not back off (nobody pulls from it) keeps the base period', async () => {
    let mayBackOff = false
    const { sched, pulls, scheduler } = setup({ mayBackOff: () => mayBackOff })
    scheduler.start()
    await sched.runFor(3 * 60_000)
    expect(new Set(gaps(pulls))).toEqual(new Set([5_000]))
    mayBackOff = true // e.g. it became a writer
    const before = pulls.length
    await sched.runFor(3 * 60_000)
    expect(Math.max(...gaps(pulls.slice(before)))).toBe(DEFAULT_MAX_ANTI_ENTROPY_MS)
    scheduler.stop()
  })

  it('a maximum equal to the base period keeps it fixed; 0 disables the rounds', async () => {
    const fixed = setup({ maxAntiEntropyMs: 5_000 })
    fixed.scheduler.start()
    await fixed.sched.runFor(3 * 60_000)
    fixed.scheduler.stop()
    expect(new Set(gaps(fixed.pulls))).toEqual(new Set([5_000]))

    const off = setup({ antiEntropyMs: 0 })
    off.scheduler.start()
    off.scheduler.noteActivity()
    await off.sched.runFor(3 * 60_000)
    off.scheduler.stop()
    expect(off.pulls).toEqual([])
  })
})
