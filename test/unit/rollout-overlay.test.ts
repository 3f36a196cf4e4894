import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createHybridLogicalClock } from '../../src/config/hlc.js'
import { type Change, createKvStore } from '../../src/config/kv-store.js'
import { createRolloutOverlay } from '../../src/rollout/overlay.js'
import { ROLLOUT_NAMESPACE, type RolloutRecord } from '../../src/rollout/record.js'

const SELF = '12D3KooWself'

/** A store, an overlay over it, and every translated change (what watchers would get). */
function setup(tags: Record<string, string> = {}) {
  const doc = new Y.Doc({ gc: true })
  const store = createKvStore({ doc, author: SELF, clock: createHybridLogicalClock() })
  const overlay = createRolloutOverlay({ store, self: SELF, tags })
  const seen: Change[] = []
  store.onChanges((changes) => seen.push(...overlay.translate(changes)))
  const record = (r: Partial<RolloutRecord>): RolloutRecord => ({
    namespace: 'default',
    key: 'k',
    value: 'new',
    percent: 0,
    tags: [],
    peers: [],
    started: 1,
    ...r,
  })
  const put = (id: string, r: RolloutRecord | undefined) =>
    store.write([{ namespace: ROLLOUT_NAMESPACE, key: id, value: r as never }])
  const events = () => seen.filter((c) => c.namespace !== ROLLOUT_NAMESPACE).map((c) => [c.key, c.previous, c.value])
  return { store, overlay, record, put, events, seen }
}

describe('rollout overlay', () => {
  it('shows the rollout value to a peer in the group and fires exactly when the effective value changes', () => {
    const { store, overlay, record, put, events } = setup()
    store.write([{ namespace: 'default', key: 'k', value: 'base' }])
    put('r1', record({ peers: [SELF] }))
    expect(overlay.view.get('default', 'k')).toBe('new')
    expect(overlay.view.entries('default')).toEqual([['k', 'new']])
    store.write([{ namespace: 'default', key: 'k', value: 'base2' }]) // hidden from the group
    put('r1', record({ peers: [SELF], percent: 50 })) // widening: no change for a peer already in
    // promote: base := rollout value and record removed in ONE write: nothing changes for this peer
    store.write([
      { namespace: 'default', key: 'k', value: 'new' },
      { namespace: ROLLOUT_NAMESPACE, key: 'r1', value: undefined },
    ])
    expect(overlay.view.get('default', 'k')).toBe('new')
    expect(events()).toEqual([
      ['k', undefined, 'base'],
      ['k', 'base', 'new'],
    ])
  })

  it('leaves peers outside the group on the base value, events and all', () => {
    const { store, overlay, record, put, events } = setup({ zone: 'us' })
    store.write([{ namespace: 'default', key: 'k', value: 'base' }])
    put('r1', record({ tags: [{ zone: 'eu' }] }))
    expect(overlay.view.get('default', 'k')).toBe('base')
    expect(overlay.effective('default', 'k')).toBeUndefined()
    store.write([{ namespace: 'default', key: 'k', value: 'base2' }])
    put('r1', undefined) // abort
    expect(events()).toEqual([
      ['k', undefined, 'base'],
      ['k', 'base', 'base2'],
    ])
  })

  it('abort returns the group to the base; a rollout on an absent key adds it for the group; newest rollout wins', () => {
    const { store, overlay, record, put, events } = setup({ zone: 'eu' })
    store.write([{ namespace: 'default', key: 'k', value: 'base' }])
    put('r1', record({ tags: [{ zone: 'eu' }] }))
    put('r1', undefined)
    put('r2', record({ key: 'fresh', value: 1, peers: [SELF] }))
    expect(overlay.view.entries('default')).toEqual([
      ['fresh', 1],
      ['k', 'base'],
    ])
    put('r3', record({ value: 'older', peers: [SELF], started: 1 }))
    put('r4', record({ value: 'newer', peers: [SELF], started: 2 }))
    expect(overlay.view.get('default', 'k')).toBe('newer')
    expect(overlay.activeFor('default', 'k')?.id).toBe('r4')
    expect(events()).toEqual([
      ['k', undefined, 'base'],
      ['k', 'base', 'new'],
      ['k', 'new', 'base'],
      ['fresh', undefined, 1],
      ['k', 'base', 'older'],
      ['k', 'older', 'newer'],
    ])
  })

  it('ignores malformed records (a peer’s garbage never breaks reads)', () => {
    const { store, overlay } = setup()
    store.write([
      { namespace: 'default', key: 'k', value: 'base' },
      { namespace: ROLLOUT_NAMESPACE, key: 'bad', value: { namespace: 'default', key: 'k', percent: 500 } },
      { namespace: ROLLOUT_NAMESPACE, key: 'worse', value: 'x' },
    ])
    expect(overlay.view.get('default', 'k')).toBe('base')
    expect(overlay.active()).toEqual([])
  })
})
