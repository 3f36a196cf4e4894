/**
 * The ingest pipeline's gaps: a gossip update that starts past this peer's clock of its client is not parked (Yjs
 * would merge it again with every later parked update) but left out, and its author is named in a `gap` event so the
 * pull scheduler fetches it with what it depends on.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { ENTRIES_ROOT } from '../../src/doc/entry.js'
import { createIngest } from '../../src/doc/ingest.js'
import { channelLimits } from '../../src/doc/limits.js'

const SILENT = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }

/** Three single-entry updates of client 1, in order. */
function writes(): { author: Y.Doc; updates: Uint8Array[] } {
  const author = new Y.Doc()
  author.clientID = 1
  const updates: Uint8Array[] = []
  author.on('update', (u: Uint8Array) => updates.push(u))
  for (const v of ['a', 'b', 'c']) author.getArray(ENTRIES_ROOT).push([v])
  return { author, updates }
}

describe('ingest: gossip gaps', () => {
  it('leaves out a gossip update that starts past the client clock held here, and names its author to pull from', () => {
    const { author, updates } = writes()
    const doc = new Y.Doc()
    const ingest = createIngest({ doc, logger: SILENT, limits: channelLimits() })
    const gaps: string[] = []
    ingest.addEventListener('gap', (e) => gaps.push(e.detail))

    expect(ingest.apply(updates[0]!, { from: 'author', via: 'gossip' })).toBeUndefined()
    const held = Y.encodeStateVector(doc)
    // The second update was lost: the third starts past clock 1 of client 1.
    expect(ingest.apply(updates[2]!, { from: 'author', via: 'gossip' })).toBeUndefined()
    expect(Y.encodeStateVector(doc)).toEqual(held)
    expect(doc.store.pendingStructs).toBeNull()
    expect(ingest.counters.deferred).toBe(1)
    expect(gaps).toEqual(['author'])

    // The pull the gap asks for brings both; the left-out update, heard again, changes nothing and asks nothing.
    expect(ingest.apply(Y.encodeStateAsUpdate(author, held), { from: 'author', via: 'sync' })).toBeUndefined()
    expect(doc.getArray(ENTRIES_ROOT).toJSON()).toEqual(['a', 'b', 'c'])
    expect(ingest.apply(updates[2]!, { from: 'author', via: 'gossip' })).toBeUndefined()
    expect(ingest.counters.deferred).toBe(1)
    expect(gaps).toEqual(['author'])
    expect(Y.encodeStateVector(doc)).toEqual(Y.encodeStateVector(author))
  })

  it('still applies updates from storage and catch-up that start past the state (they are parked, not left out)', () => {
    const { updates } = writes()
    for (const via of ['sync', 'storage'] as const) {
      const doc = new Y.Doc()
      const ingest = createIngest({ doc, logger: SILENT, limits: channelLimits() })
      expect(ingest.apply(updates[2]!, { from: 'author', via })).toBeUndefined()
      expect(doc.store.pendingStructs).not.toBeNull()
      expect(ingest.counters.deferred).toBe(0)
      expect(ingest.apply(updates[0]!, { from: 'author', via })).toBeUndefined()
      expect(ingest.apply(updates[1]!, { from: 'author', via })).toBeUndefined()
      expect(doc.store.pendingStructs).toBeNull()
      expect(doc.getArray(ENTRIES_ROOT).toJSON()).toEqual(['a', 'b', 'c'])
    }
  })
})
