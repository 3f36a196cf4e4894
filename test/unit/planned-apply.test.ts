/**
 * Planned apply (`yjs-guard/planned-apply.ts`, `causal-slices.ts`) and the ingest pipeline's catch-up path: the merge
 * after a long partition (over the per-update conflict-cost bound as one update) is applied in causal slices, without
 * a refusal, to the same document as a plain apply; a crafted stalling update is still refused.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createIngest } from '../../src/doc/ingest.js'
import { channelLimits } from '../../src/doc/limits.js'
import { causalOrder, encodeSlice } from '../../src/yjs-guard/causal-slices.js'
import { UpdateTooLargeError } from '../../src/yjs-guard/errors.js'
import { inspect } from '../../src/yjs-guard/inspect.js'
import { DEFAULT_MAX_INTEGRATION_COST } from '../../src/yjs-guard/limits.js'
import { applyPlanned } from '../../src/yjs-guard/planned-apply.js'
import { sameOriginDistinctRights } from './fixtures/security/yjs-corpus.js'

const SILENT = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }
const UNBOUNDED = { maxIntegrationCost: Number.MAX_SAFE_INTEGER }

const docOf = (update: Uint8Array, client?: number): Y.Doc => {
  const d = new Y.Doc()
  if (client !== undefined) d.clientID = client
  Y.applyUpdate(d, update)
  return d
}
const syncAll = (docs: Y.Doc[]): void => {
  for (const a of docs)
    for (const b of docs) if (a !== b) Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)))
}

/**
 * Two sides of three writers, split after a common start: in each round every writer appends one entry to the root
 * array (concurrently with its side), then its side syncs. Returns one replica of each side.
 */
function partitionedSides(rounds: number): [Y.Doc, Y.Doc] {
  const common = new Y.Doc()
  common.clientID = 1
  common.getArray('entries').push([{ k: 'start' }])
  const start = Y.encodeStateAsUpdate(common)
  const sides = [0, 1].map((s) => [0, 1, 2].map((w) => docOf(start, 10 + s * 3 + w)))
  for (let r = 0; r < rounds; r++) {
    for (const side of sides) {
      for (const d of side) d.getArray('entries').push([{ k: `c${d.clientID}-${r}`, v: r }])
      syncAll(side)
    }
  }
  return [sides[0]![0]!, sides[1]![0]!]
}

describe('causal slices', () => {
  it('cut an update into slices that, applied in order, give the same document without pending structs', () => {
    const [a, b] = partitionedSides(200)
    const diff = Y.encodeStateAsUpdate(b, Y.encodeStateVector(a))
    const causal = causalOrder(Y.decodeUpdate(diff).structs, (c) => Y.getState(a.store, c))
    const total = causal.order.length
    const info = inspect(diff, UNBOUNDED).info
    const target = docOf(Y.encodeStateAsUpdate(a))
    for (let k = 0; k < 7; k++) {
      const from = Math.floor((total * k) / 7)
      const to = Math.floor((total * (k + 1)) / 7)
      Y.applyUpdate(target, encodeSlice(causal, from, to, to === total ? info.deleteSet : undefined))
      expect(target.store.pendingStructs, `slice ${k} left pending structs`).toBeNull()
    }
    const plain = docOf(Y.encodeStateAsUpdate(a))
    Y.applyUpdate(plain, diff)
    expect(target.getArray('entries').toJSON()).toEqual(plain.getArray('entries').toJSON())
    expect(Y.encodeStateVector(target)).toEqual(Y.encodeStateVector(plain))
  })
})

describe('planned apply', () => {
  it('applies a long partition merge over the per-update bound in slices, identical to a plain apply', () => {
    const [a, b] = partitionedSides(1_000)
    const diff = Y.encodeStateAsUpdate(b, Y.encodeStateVector(a))
    const inspection = inspect(diff, UNBOUNDED)
    // As one update, the estimate (worst integration order) is over the bound: the old path refused it.
    expect(inspection.info.conflictCost).toBeGreaterThan(DEFAULT_MAX_INTEGRATION_COST)
    const target = docOf(Y.encodeStateAsUpdate(a))
    const r = applyPlanned(target, diff, inspection, 'sync', {
      maxIntegrationCost: DEFAULT_MAX_INTEGRATION_COST,
      maxSlices: 64,
    })
    expect(r.slices).toBeGreaterThan(1)
    expect(r.integrationCost).toBeLessThan(DEFAULT_MAX_INTEGRATION_COST)
    const plain = docOf(Y.encodeStateAsUpdate(a))
    Y.applyUpdate(plain, diff)
    expect(target.getArray('entries').toJSON()).toEqual(plain.getArray('entries').toJSON())
    expect(Y.encodeStateVector(target)).toEqual(Y.encodeStateVector(plain))
    expect(target.store.pendingStructs).toBeNull()
    expect(target.store.pendingDs).toBeNull()
  })

  it('applies a reply that repeats structs the document has (crossed replies) as only what it lacks', () => {
    const [a, b] = partitionedSides(1_000)
    const diff = Y.encodeStateAsUpdate(b, Y.encodeStateVector(a))
    const target = docOf(Y.encodeStateAsUpdate(a))
    const options = { maxIntegrationCost: DEFAULT_MAX_INTEGRATION_COST, maxSlices: 64 }
    applyPlanned(target, diff, inspect(diff, UNBOUNDED), 'sync', options)
    const again = applyPlanned(target, diff, inspect(diff, UNBOUNDED), 'sync', options)
    expect(again.slices).toBe(1)
    expect(again.integrationCost).toBe(0)
  })

  it('still refuses a crafted update that would stall Yjs, within about two bounds of estimated work', () => {
    const base = new Y.Doc()
    base.clientID = 1
    base.getArray('list').insert(0, ['X'])
    const other = base.getArray('other')
    for (let i = 0; i < 3000; i++) other.insert(0, [i]) // separate items to point right origins at
    // 8,000 items of client 7 all inserted after X (1:0), each with a different right origin: quadratic for Yjs.
    const crafted = sameOriginDistinctRights(8_000)
    const doc = docOf(Y.encodeStateAsUpdate(base))
    expect(() =>
      applyPlanned(doc, crafted, inspect(crafted, UNBOUNDED), 'sync', {
        maxIntegrationCost: DEFAULT_MAX_INTEGRATION_COST,
        maxSlices: 64,
      }),
    ).toThrow(UpdateTooLargeError)
    // Whatever slices went in before the refusal cost at most two bounds: far from all 8,000 items.
    expect(doc.getArray('list').length).toBeLessThan(4_000)
  })

  it('the ingest pipeline applies such a catch-up reply without a refusal and counts the slices', () => {
    const [a, b] = partitionedSides(1_000)
    const diff = Y.encodeStateAsUpdate(b, Y.encodeStateVector(a))
    const doc = docOf(Y.encodeStateAsUpdate(a))
    const ingest = createIngest({ doc, logger: SILENT, limits: channelLimits() })
    expect(ingest.apply(diff, { from: 'peer-b', via: 'sync' })).toBeUndefined()
    expect(ingest.counters.rejected).toBe(0)
    expect(ingest.counters.sliced).toBe(1)
    expect(ingest.counters.slices).toBeGreaterThan(1)
    // The same bytes as one gossip update keep the per-update bound.
    const other = docOf(Y.encodeStateAsUpdate(a))
    const gossip = createIngest({ doc: other, logger: SILENT, limits: channelLimits() })
    expect(gossip.apply(diff, { from: 'peer-b', via: 'gossip' })?.name).toBe('UpdateTooLargeError')
  })
})
