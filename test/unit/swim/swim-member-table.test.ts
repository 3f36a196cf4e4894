/**
 * The compact member table: views read and write the columns, removals (swap with the last slot) keep every other
 * member intact, the probe order visits every live member once per pass, sampling honours its filter, and ids and
 * metadata are shared through the interner. Random operations are seeded (CONFMESH_SEED replays).
 */
import { describe, expect, it } from 'vitest'
import type { MemberMeta, MemberState } from '../../../src/membership/swim/member.js'
import { MemberInterner } from '../../../src/membership/swim/member-interner.js'
import { type MemberEntry, MemberTable } from '../../../src/membership/swim/member-table.js'
import { createSeededRandom, seedFromEnv } from '../../../src/transport/seeded-random.js'

const SEED = seedFromEnv()
console.log(`swim-member-table.test.ts seed=${SEED} (replay with CONFMESH_SEED=${SEED})`)

const meta = (i: number): MemberMeta => ({
  weight: 1 + (i % 3),
  tags: { zone: `z${i % 2}` },
  addresses: [`/ip4/10.0.0.1/tcp/${4000 + i}`],
  ready: true,
  startedAt: 1,
})

function entry(id: string, i: number, state: MemberState = 'alive'): MemberEntry {
  return {
    id,
    state,
    incarnation: i,
    meta: meta(i),
    changedAt: i + 0.5,
    left: false,
    downFrom: '',
    suspicion: undefined,
  }
}

describe('swim member table (columns)', () => {
  it('matches a plain map model under seeded random adds, changes and removals', () => {
    const random = createSeededRandom(SEED)
    const table = new MemberTable(random.next, new MemberInterner())
    const model = new Map<string, { state: MemberState; incarnation: number; weight: number; left: boolean }>()
    for (let step = 0; step < 3000; step++) {
      const i = random.int(0, 199)
      const id = `peer-${i}`
      const roll = random.next()
      const e = table.get(id)
      if (e === undefined) {
        const state: MemberState = roll < 0.8 ? 'alive' : 'down'
        table.add(entry(id, i, state))
        model.set(id, { state, incarnation: i, weight: meta(i).weight, left: false })
      } else if (roll < 0.3) {
        table.remove(id)
        model.delete(id)
      } else {
        const m = model.get(id)!
        const state: MemberState = (['alive', 'suspect', 'down'] as const)[random.int(0, 2)]!
        table.setState(e, state)
        e.incarnation = m.incarnation + 1
        e.meta = meta(i + 1)
        e.left = state === 'down' && roll < 0.5
        model.set(id, { state, incarnation: m.incarnation + 1, weight: meta(i + 1).weight, left: e.left })
      }
      if (step % 100 === 0 || step === 2999) {
        expect(table.size).toBe(model.size)
        expect(table.liveCount).toBe([...model.values()].filter((m) => m.state !== 'down').length)
        for (const [mid, m] of model) {
          const got = table.snapshot(mid)!
          expect({ state: got.state, incarnation: got.incarnation, weight: got.meta.weight, left: got.left }).toEqual(m)
        }
        expect(new Set(table.snapshots().map((s) => s.id))).toEqual(new Set(model.keys()))
      }
    }
  })

  it('probes every live member exactly once per pass, members added mid-pass included', () => {
    const random = createSeededRandom(SEED + 1)
    const table = new MemberTable(random.next, new MemberInterner())
    for (let i = 0; i < 50; i++) table.add(entry(`m-${i}`, i, i % 10 === 0 ? 'down' : 'alive'))
    // One pass: 45 live members, a newcomer added after 20 probes is probed in the same pass.
    const pass: string[] = []
    for (let k = 0; k < 20; k++) pass.push(table.nextProbe()!.id)
    table.add(entry('newcomer', 99))
    for (let k = 0; k < 26; k++) pass.push(table.nextProbe()!.id)
    expect(new Set(pass).size).toBe(46)
    expect(pass).toContain('newcomer')
    for (const id of pass) expect(table.get(id)!.state).toBe('alive')
    // The next pass: again every live member once, in a fresh order.
    const next: string[] = []
    for (let k = 0; k < 46; k++) next.push(table.nextProbe()!.id)
    expect(new Set(next)).toEqual(new Set(pass))
  })

  it('samples distinct members that pass the filter, and finds a rare one', () => {
    const random = createSeededRandom(SEED + 2)
    const table = new MemberTable(random.next, new MemberInterner())
    for (let i = 0; i < 1000; i++) table.add(entry(`m-${i}`, i, i === 777 ? 'down' : 'alive'))
    const three = table.sample(3, (m) => m.state === 'alive')
    expect(new Set(three.map((m) => m.id)).size).toBe(3)
    expect(table.sample(1, (m) => m.state === 'down').map((m) => m.id)).toEqual(['m-777'])
  })

  it('shares one id string and one equal metadata object between tables, and keeps suspicions per table', () => {
    const interner = new MemberInterner()
    const a = new MemberTable(() => 0.5, interner)
    const b = new MemberTable(() => 0.5, interner)
    a.add(entry('x', 1))
    b.add(entry('x', 1))
    expect(a.get('x')!.meta).toBe(b.get('x')!.meta)
    expect(a.get('x')!.meta).toEqual(meta(1))
    const e = a.get('x')!
    e.downFrom = 'y'
    expect(a.get('x')!.downFrom).toBe('y')
    expect(b.get('x')!.downFrom).toBe('')
    a.remove('x')
    expect(a.get('x')).toBeUndefined()
    expect(e.state).toBe('down') // a view of a removed member
    expect(b.get('x')!.state).toBe('alive')
    expect(interner.find('never-seen')).toBeUndefined()
  })
})
