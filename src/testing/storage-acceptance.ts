/**
 * The acceptance suite of the storage seam: every `Storage` engine runs it (see `test/unit/storage.test.ts`; exported
 * as `confmesh/testing`, so an engine written elsewhere runs it too). It checks
 * the contract written in `src/storage/storage.ts` with real Yjs updates: round trip, order, group commit, compaction
 * atomicity with concurrent appends, metadata, reopen persistence (durable engines), and closed-store errors.
 *
 * @module
 */

import * as Y from 'yjs'
import { InvalidKeyError } from '../errors.js'
import { StorageClosedError } from '../storage/errors.js'
import type { Storage } from '../storage/storage.js'
import type { TestApi } from './test-api.js'

/** One location where stores of the engine under test live. */
export interface StorageFixture {
  /** Returns a new, unopened store over this fixture's location. */
  create(): Storage
  /** Whether what a store wrote is seen by a later `create()` after `close()`. */
  durable: boolean
  /** Removes the location. Stores are closed by then. */
  teardown(): Promise<void>
}

/** A doc that records every update it emits, to feed a store with real Yjs updates. */
export function recordingDoc(): { doc: Y.Doc; updates: Uint8Array[] } {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  return { doc, updates }
}

/** Rebuilds a doc from what a store loaded. */
export function docFrom(blobs: Uint8Array[]): Y.Doc {
  const doc = new Y.Doc()
  for (const blob of blobs) Y.applyUpdate(doc, blob)
  return doc
}

/** The content of the types the suite writes, for comparing docs. */
function content(doc: Y.Doc): unknown {
  return { config: doc.getMap('config').toJSON(), list: doc.getArray('list').toJSON() }
}

function setMany(doc: Y.Doc, from: number, to: number): void {
  const map = doc.getMap<string>('config')
  for (let i = from; i < to; i++) map.set(`key-${i}`, `value-${i}-${'x'.repeat(i % 40)}`)
}

/**
 * Registers the acceptance suite against the engine `setup` creates (one fresh location per test), with the caller's
 * test functions (see {@link TestApi}).
 */
export function runStorageAcceptance(
  name: string,
  setup: () => Promise<StorageFixture> | StorageFixture,
  api: TestApi,
): void {
  const { describe, it, expect, beforeEach, afterEach } = api
  describe(`Storage acceptance: ${name}`, () => {
    let fixture: StorageFixture
    const opened: Storage[] = []

    /** A new store over the fixture's location, opened, and closed again after the test. */
    const openStore = async (): Promise<Storage> => {
      const store = fixture.create()
      opened.push(store)
      await store.open()
      return store
    }

    beforeEach(async () => {
      fixture = await setup()
    })

    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close()
      await fixture.teardown()
    })

    it('starts empty', async () => {
      const store = await openStore()
      expect(await store.load()).toEqual([])
      expect(await store.getMeta('anything')).toBeUndefined()
      const stats = await store.stats()
      expect(stats).toMatchObject({ updates: 0, updateBytes: 0, snapshotBytes: 0 })
      expect(stats.bytes).toBeGreaterThanOrEqual(0)
    })

    it('round-trips Yjs updates byte for byte and rebuilds the doc', async () => {
      const store = await openStore()
      const { doc, updates } = recordingDoc()
      setMany(doc, 0, 50)
      doc.getArray<number>('list').push([1, 2, 3])
      for (const update of updates) await store.append(update)
      const loaded = await store.load()
      expect(loaded).toEqual(updates)
      for (const blob of loaded) expect(blob).toBeInstanceOf(Uint8Array)
      expect(content(docFrom(loaded))).toEqual(content(doc))
    })

    it('keeps append order, for concurrent and sequential appends alike', async () => {
      const store = await openStore()
      const blobs = Array.from({ length: 300 }, (_, i) => new Uint8Array([i & 0xff, i >> 8, 7]))
      await Promise.all(blobs.slice(0, 100).map((blob) => store.append(blob)))
      for (const blob of blobs.slice(100, 150)) await store.append(blob)
      const pending = blobs.slice(150).map((blob) => store.append(blob))
      await Promise.all(pending)
      expect(await store.load()).toEqual(blobs)
      expect(await store.stats()).toMatchObject({ updates: 300, updateBytes: 900 })
    })

    it('stores empty and large blobs', async () => {
      const store = await openStore()
      const large = new Uint8Array(2 * 1024 * 1024).map((_, i) => (i * 31) & 0xff)
      await store.append(new Uint8Array(0))
      await store.append(large)
      const loaded = await store.load()
      expect(loaded).toHaveLength(2)
      expect(loaded[0]).toHaveLength(0)
      // Buffer.equals: vitest's deep equality walks 2 MiB element by element, for seconds.
      expect(Buffer.from(loaded[1]!).equals(large)).toBe(true)
    })

    it('resolves every append of a tick, and reads see writes not yet acknowledged', async () => {
      const store = await openStore()
      const a = store.append(new Uint8Array([1]))
      const b = store.append(new Uint8Array([2]))
      const meta = store.setMeta('k', new Uint8Array([3]))
      // Issued before the reads: visible to them even though not awaited.
      expect(await store.load()).toEqual([new Uint8Array([1]), new Uint8Array([2])])
      expect(await store.getMeta('k')).toEqual(new Uint8Array([3]))
      await expect(Promise.all([a, b, meta])).resolves.toBeDefined()
    })

    it('stores blobs by value', async () => {
      const store = await openStore()
      const blob = new Uint8Array([1, 2, 3])
      const pending = store.append(blob)
      blob[0] = 99 // after the call, before the commit
      await pending
      const value = new Uint8Array([4, 5])
      await store.setMeta('k', value)
      value[0] = 99
      const [loaded] = await store.load()
      expect(loaded).toEqual(new Uint8Array([1, 2, 3]))
      loaded![1] = 99
      expect(await store.load()).toEqual([new Uint8Array([1, 2, 3])])
      const meta = await store.getMeta('k')
      expect(meta).toEqual(new Uint8Array([4, 5]))
      meta![0] = 77
      expect(await store.getMeta('k')).toEqual(new Uint8Array([4, 5]))
    })

    it('compacts: the snapshot replaces the updates before it, later updates follow it', async () => {
      const store = await openStore()
      const { doc, updates } = recordingDoc()
      setMany(doc, 0, 20)
      for (const update of updates) await store.append(update)
      const snapshot = Y.encodeStateAsUpdate(doc)
      await store.compact(snapshot)
      expect(await store.load()).toEqual([snapshot])
      expect(await store.stats()).toMatchObject({ updates: 0, updateBytes: 0, snapshotBytes: snapshot.byteLength })

      updates.length = 0
      setMany(doc, 20, 25)
      for (const update of updates) await store.append(update)
      expect(await store.load()).toEqual([snapshot, ...updates])
      expect((await store.stats()).updates).toBe(updates.length)

      const second = Y.encodeStateAsUpdate(doc)
      await store.compact(second)
      expect(await store.load()).toEqual([second])
      expect(content(docFrom(await store.load()))).toEqual(content(doc))
    })

    it('compacts atomically with appends issued around it in the same tick', async () => {
      const store = await openStore()
      const { doc, updates } = recordingDoc()
      setMany(doc, 0, 10)
      const before = [...updates]
      const snapshot = Y.encodeStateAsUpdate(doc)
      updates.length = 0
      setMany(doc, 10, 20)
      const after = [...updates]

      // All issued without awaiting: appends before the call are replaced, appends after it survive.
      const writes = [
        ...before.map((u) => store.append(u)),
        store.compact(snapshot),
        ...after.map((u) => store.append(u)),
      ]
      await Promise.all(writes)
      expect(await store.load()).toEqual([snapshot, ...after])
      expect(content(docFrom(await store.load()))).toEqual(content(doc))
    })

    it('compacts atomically while earlier appends are still being committed', async () => {
      const store = await openStore()
      const { doc, updates } = recordingDoc()
      setMany(doc, 0, 30)
      const first = updates.splice(0)
      const inFlight = first.map((u) => store.append(u)) // not awaited: committing in a later tick
      await Promise.resolve() // next microtask, same tick
      const snapshot = Y.encodeStateAsUpdate(doc)
      const compaction = store.compact(snapshot)
      await new Promise<void>((resolve) => setImmediate(resolve)) // next tick: a new batch
      setMany(doc, 30, 40)
      const later = updates.splice(0)
      await Promise.all([...inFlight, compaction, ...later.map((u) => store.append(u))])
      expect(await store.load()).toEqual([snapshot, ...later])
      expect(content(docFrom(await store.load()))).toEqual(content(doc))
    })

    it('stores, replaces and isolates metadata', async () => {
      const store = await openStore()
      await store.setMeta('peer.privateKey', new Uint8Array([1, 2, 3, 4]))
      await store.setMeta('yjs.clientId', new Uint8Array([5]))
      await store.setMeta('empty', new Uint8Array(0))
      await store.setMeta('peer.privateKey', new Uint8Array([9, 9]))
      expect(await store.getMeta('peer.privateKey')).toEqual(new Uint8Array([9, 9]))
      expect(await store.getMeta('yjs.clientId')).toEqual(new Uint8Array([5]))
      expect(await store.getMeta('empty')).toEqual(new Uint8Array(0))
      expect(await store.getMeta('peer')).toBeUndefined()
      // Metadata is not part of the document log.
      expect(await store.load()).toEqual([])
      expect(await store.stats()).toMatchObject({ updates: 0 })
    })

    it('refuses invalid arguments', async () => {
      const store = await openStore()
      await expect(store.getMeta('')).rejects.toBeInstanceOf(InvalidKeyError)
      await expect(store.setMeta('x'.repeat(257), new Uint8Array(1))).rejects.toBeInstanceOf(InvalidKeyError)
      await expect(store.setMeta('k', 'text' as unknown as Uint8Array)).rejects.toBeInstanceOf(TypeError)
      await expect(store.append([1, 2] as unknown as Uint8Array)).rejects.toBeInstanceOf(TypeError)
      await expect(store.compact(undefined as unknown as Uint8Array)).rejects.toBeInstanceOf(TypeError)
      expect(await store.load()).toEqual([])
    })

    it('rejects every operation with StorageClosedError before open and after close', async () => {
      const store = fixture.create()
      const all = (): Promise<unknown>[] => [
        store.append(new Uint8Array(1)),
        store.load(),
        store.compact(new Uint8Array(1)),
        store.getMeta('k'),
        store.setMeta('k', new Uint8Array(1)),
        store.stats(),
      ]
      for (const op of all()) await expect(op).rejects.toBeInstanceOf(StorageClosedError)
      await store.close() // closing a store that is not open is a no-op
      await store.open()
      await store.open() // idempotent
      await store.close()
      await store.close()
      for (const op of all()) await expect(op).rejects.toBeInstanceOf(StorageClosedError)
    })

    it('completes writes issued before close()', async () => {
      const store = fixture.create()
      await store.open()
      const pending = [store.append(new Uint8Array([1])), store.setMeta('k', new Uint8Array([2]))]
      await store.close()
      await expect(Promise.all(pending)).resolves.toBeDefined()
      if (fixture.durable) {
        const again = await openStore()
        expect(await again.load()).toEqual([new Uint8Array([1])])
        expect(await again.getMeta('k')).toEqual(new Uint8Array([2]))
      }
    })

    it('persists log, snapshot and metadata across reopen (durable engines)', async (context) => {
      if (!fixture.durable) context.skip()
      const first = fixture.create()
      await first.open()
      const { doc, updates } = recordingDoc()
      setMany(doc, 0, 10)
      for (const update of updates) await first.append(update)
      const snapshot = Y.encodeStateAsUpdate(doc)
      await first.compact(snapshot)
      updates.length = 0
      setMany(doc, 10, 15)
      await Promise.all(updates.map((u) => first.append(u)))
      await first.setMeta('yjs.clientId', new Uint8Array([0, 0, 1, 2]))
      const statsBefore = await first.stats()
      await first.close()

      const second = await openStore()
      expect(await second.load()).toEqual([snapshot, ...updates])
      expect(content(docFrom(await second.load()))).toEqual(content(doc))
      expect(await second.getMeta('yjs.clientId')).toEqual(new Uint8Array([0, 0, 1, 2]))
      const statsAfter = await second.stats()
      expect({ ...statsAfter, bytes: 0 }).toEqual({ ...statsBefore, bytes: 0 })

      // Appends after reopen go after what was there.
      await second.append(new Uint8Array([42]))
      expect((await second.load()).at(-1)).toEqual(new Uint8Array([42]))
    })
  })
}
