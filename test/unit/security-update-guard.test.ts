import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { ConfmeshError, UpdateRejectedError } from '../../src/errors.js'
import {
  ForbiddenContentError,
  MalformedUpdateError,
  UpdateApplyError,
  UpdateTimeoutError,
  UpdateTooLargeError,
} from '../../src/yjs-guard/errors.js'
import {
  DEFAULT_MAX_CLOCK,
  DEFAULT_MAX_UPDATE_BYTES,
  guardedApply,
  inspectUpdate,
  type UpdateLimits,
} from '../../src/yjs-guard/index.js'
import {
  bytes,
  makeCorpus,
  rng,
  sameOriginDistinctRights,
  varString,
  varUint,
  viewFromYjs,
} from './fixtures/security/yjs-corpus.js'

const SEED = Number(process.env.CONFMESH_TEST_SEED ?? Date.now() % 1_000_000)
/**
 * CPU time of this process since `start`, ms. The cost bounds below are DoS guards (a refusal or an inspection must not
 * take seconds of work): CPU time, unlike wall time, does not grow when other processes share the machine.
 */
const cpuMsSince = (start: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(start)
  return (d.user + d.system) / 1000
}
console.log(`security-update-guard seed=${SEED} (set CONFMESH_TEST_SEED to reproduce)`)

/** A v1 update with one block of one item parented to root `root`, content bytes given raw. */
const itemUpdate = (client: number, info: number, root: string, content: number[], ds: number[] = [0]): Uint8Array =>
  bytes(1, 1, varUint(client), 0, info, 1, varString(root), content, ds)

/** A `ContentAny` item with the given raw `any` encodings. */
const anyUpdate = (client: number, values: number[][]): Uint8Array =>
  itemUpdate(client, 8, 'list', [...varUint(values.length), ...values.flat()])

const docWith = (clientID: number, edit: (doc: Y.Doc) => void, gc = true): Y.Doc => {
  const doc = new Y.Doc({ gc })
  doc.clientID = clientID
  edit(doc)
  return doc
}

const expectReject = (update: Uint8Array, cls: typeof UpdateRejectedError, limits?: UpdateLimits): void => {
  expect(() => inspectUpdate(update, limits)).toThrow(cls)
}

describe('inspectUpdate on valid updates', () => {
  it('accepts every update of a random multi-replica corpus and agrees with Y.decodeUpdate', () => {
    const totals: Record<string, number> = {}
    let checked = 0
    for (let s = 0; s < 4; s++) {
      const { updates } = makeCorpus(SEED + s, { edits: 250 })
      for (const u of updates) {
        const info = inspectUpdate(u)
        const yjs = viewFromYjs(u)
        expect(info.byteLength).toBe(u.byteLength)
        expect(info.structCount).toBe(yjs.structCount)
        expect(info.ranges).toEqual(yjs.ranges)
        expect(info.deleteSet).toEqual(yjs.deleteSet)
        expect([...info.roots].sort()).toEqual([...yjs.roots].sort())
        expect([...info.clients].sort()).toEqual([...new Set(yjs.ranges.map((r) => r.client))].sort())
        for (const [k, v] of Object.entries(info.contents)) totals[k] = (totals[k] ?? 0) + v
        checked++
      }
    }
    console.log(`checked ${checked} valid updates; struct kinds seen:`, totals)
    // the corpus exercises every struct kind a Y.Array / Y.Map / Y.Text / Y.Xml doc produces
    for (const kind of ['gc', 'skip', 'deleted', 'binary', 'string', 'embed', 'format', 'type', 'any']) {
      expect(totals[kind], kind).toBeGreaterThan(0)
    }
  })

  it('reports clients, clock ranges, delete set and roots of a known update', () => {
    const doc = docWith(7, (d) => {
      d.getArray('list').insert(0, [1, 2, 3])
      d.getMap('config').set('a', 'x')
      d.getArray('list').delete(1, 1)
    })
    const info = inspectUpdate(Y.encodeStateAsUpdate(doc))
    expect([...info.clients]).toEqual([7])
    expect(info.ranges).toEqual([{ client: 7, clock: 0, length: 4 }])
    expect(info.deleteSet).toEqual([{ client: 7, clock: 1, len: 1 }])
    expect([...info.roots].sort()).toEqual(['config', 'list'])
  })

  it('accepts the empty document and the empty update [0, 0]', () => {
    expect(inspectUpdate(Y.encodeStateAsUpdate(new Y.Doc())).structCount).toBe(0)
    expect(inspectUpdate(bytes(0, 0)).clients.size).toBe(0)
  })

  it('splits ranges at Skip structs of merged updates with gaps', () => {
    const doc = new Y.Doc()
    doc.clientID = 9
    const events: Uint8Array[] = []
    doc.on('update', (u: Uint8Array) => events.push(u))
    for (let i = 0; i < 3; i++) doc.getArray('list').push([i])
    const merged = Y.mergeUpdates([events[0]!, events[2]!])
    const info = inspectUpdate(merged)
    expect(info.contents.skip).toBe(1)
    expect(info.ranges).toEqual([
      { client: 9, clock: 0, length: 1 },
      { client: 9, clock: 2, length: 1 },
    ])
  })

  it('accepts legacy ContentJSON items and applies them', () => {
    const u = itemUpdate(3, 2, 'list', [
      ...varUint(3),
      ...varString('{"a":[1,2]}'),
      ...varString('undefined'),
      ...varString('7'),
    ])
    const info = inspectUpdate(u)
    expect(info.contents.json).toBe(1)
    expect(info.ranges).toEqual([{ client: 3, clock: 0, length: 3 }])
    const doc = new Y.Doc()
    guardedApply(doc, u)
    expect(doc.getArray('list').toArray()).toEqual([{ a: [1, 2] }, undefined, 7])
  })

  it('refuses sub-documents by default and accepts well-formed ones when allowed', () => {
    const doc = docWith(4, (d) => d.getMap('config').set('sub', new Y.Doc({ meta: { x: 1 } })))
    const u = Y.encodeStateAsUpdate(doc)
    expectReject(u, ForbiddenContentError)
    const info = inspectUpdate(u, { allowSubdocs: true })
    expect(info.contents.doc).toBe(1)
    guardedApply(new Y.Doc(), u, null, { allowSubdocs: true })
    // options Yjs would pass unchecked to new Y.Doc() (gcFilter must be a function) stay refused
    const bad = itemUpdate(4, 9, 'config', [...varString('guid'), 118, 1, ...varString('gcFilter'), 125, 1])
    expectReject(bad, ForbiddenContentError, { allowSubdocs: true })
  })

  it('restricts explicit root names to allowedRoots', () => {
    const doc = docWith(5, (d) => d.getMap('other').set('a', 1))
    const u = Y.encodeStateAsUpdate(doc)
    expectReject(u, ForbiddenContentError, { allowedRoots: ['config'] })
    expect(inspectUpdate(u, { allowedRoots: ['config', 'other'] }).roots.has('other')).toBe(true)
  })
})

describe('inspectUpdate refuses malformed input', () => {
  const good = anyUpdate(5, [[119, ...varString('v')]])

  it('accepts the hand-built baseline', () => {
    expect(inspectUpdate(good).ranges).toEqual([{ client: 5, clock: 0, length: 1 }])
    const doc = new Y.Doc()
    Y.applyUpdate(doc, good)
    expect(doc.getArray('list').toArray()).toEqual(['v'])
  })

  const cases: [string, Uint8Array][] = [
    ['empty buffer (yjs #498)', new Uint8Array()],
    ['one byte', bytes(0)],
    ['struct count of billions in a 8-byte update (yjs #687)', bytes(1, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 0)],
    ['client block count larger than the bytes', bytes(0xff, 0xff, 0x03, 0, 0)],
    ['non-canonical varint (inflated zero)', bytes(0x80, 0x00, 0)],
    ['150 continuation bytes (lib0 decodes NaN)', bytes(Array(150).fill(0x80), 0, 0)],
    ['trailing bytes', bytes([...good], 0)],
    ['truncated', good.subarray(0, good.length - 2)],
    ['zero-length GC', bytes(1, 1, 5, 0, 0, 0, 0)],
    ['zero-length Skip', bytes(1, 1, 5, 0, 10, 0, 0)],
    ['non-canonical GC info byte', bytes(1, 1, 5, 0, 0x20, 1, 0)],
    ['non-canonical Skip info byte', bytes(1, 1, 5, 0, 0x2a, 1, 0)],
    ['unknown content ref 11', itemUpdate(5, 11, 'list', [1])],
    ['unknown type ref', itemUpdate(5, 7, 'list', [7])],
    ['parent info 2', bytes(1, 1, 5, 0, 8, 2, 5, 0, 1, 126, 0)],
    ['origin in own future (Yjs throws)', bytes(1, 1, 5, 0, 0x88, 5, 3, 1, 126, 0)],
    ['right origin at own clock', bytes(1, 1, 5, 2, 0x48, 5, 2, 1, 126, 0)],
    ['parent id in own future', bytes(1, 1, 5, 0, 8, 0, 5, 0, 1, 126, 0)],
    ['client id beyond uint32', bytes(1, 1, varUint(2 ** 33), 0, 8, 1, varString('list'), 1, 126, 0)],
    ['duplicate client blocks', bytes(2, [...good.subarray(1, -1)], [...good.subarray(1, -1)], 0)],
    ['empty any', anyUpdate(5, [])],
    ['empty string content', itemUpdate(5, 4, 'text', varString(''))],
    ['unknown any tag', anyUpdate(5, [[115]])],
    ['invalid UTF-8 string', anyUpdate(5, [[119, 2, 0xc3, 0x28]])],
    ['invalid UTF-8 root name', bytes(1, 1, 5, 0, 8, 1, 1, 0xff, 1, 126, 0)],
    ['any string longer than the bytes', anyUpdate(5, [[119, 0xff, 0x7f, 0x61]])],
    ['bad legacy JSON', itemUpdate(5, 2, 'list', [1, ...varString('{nope')])],
    ['bad embed JSON', itemUpdate(5, 5, 'text', varString('{'))],
    ['format value "undefined"', itemUpdate(5, 6, 'text', [...varString('bold'), ...varString('undefined')])],
    ['duplicate delete set client', bytes(0, 2, 5, 1, 0, 1, 5, 1, 3, 1)],
    ['overlapping delete ranges', bytes(0, 1, 5, 2, 0, 4, 2, 1)],
    ['unsorted delete ranges', bytes(0, 1, 5, 2, 5, 1, 0, 1)],
    ['empty delete range', bytes(0, 1, 5, 1, 0, 0)],
    ['delete range count larger than the bytes', bytes(0, 1, 5, 0xff, 0xff, 0x03, 0, 1)],
    ['garbage text (like #479)', new TextEncoder().encode('{"garbage":"not a yjs update"}')],
  ]
  for (const [name, u] of cases) {
    it(`rejects: ${name}`, () => {
      const doc = docWith(1, (d) => d.getMap('config').set('k', 'v'))
      const before = Y.encodeStateAsUpdate(doc)
      expect(() => guardedApply(doc, u)).toThrow(MalformedUpdateError)
      expect(Y.encodeStateAsUpdate(doc)).toEqual(before)
    })
  }

  it('refuses "__proto__" keys in any objects', () => {
    expectReject(anyUpdate(5, [[118, 1, ...varString('__proto__'), 118, 0]]), ForbiddenContentError)
  })

  it('uses named errors that extend UpdateRejectedError and ConfmeshError', () => {
    try {
      inspectUpdate(new Uint8Array())
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(UpdateRejectedError)
      expect(err).toBeInstanceOf(ConfmeshError)
      expect((err as MalformedUpdateError).name).toBe('MalformedUpdateError')
      expect((err as MalformedUpdateError).code).toBe('ERR_MALFORMED_UPDATE')
    }
  })
})

describe('inspectUpdate limits', () => {
  const bigDoc = docWith(11, (d) => {
    const list = d.getArray<unknown>('list')
    for (let i = 0; i < 3000; i++) list.insert(0, [i]) // 3000 separate structs (prepends do not merge)
    list.delete(0, 1500)
  })
  const big = Y.encodeStateAsUpdate(bigDoc)

  it('enforces maxBytes (default 8 MiB)', () => {
    expect(DEFAULT_MAX_UPDATE_BYTES).toBe(8 * 1024 * 1024)
    expectReject(big, UpdateTooLargeError, { maxBytes: big.byteLength - 1 })
    expectReject(new Uint8Array(DEFAULT_MAX_UPDATE_BYTES + 1), UpdateTooLargeError)
  })

  it('enforces maxStructs, maxDeleteRanges and maxClients', () => {
    const info = inspectUpdate(big)
    expect(info.structCount).toBe(3000)
    expectReject(big, UpdateTooLargeError, { maxStructs: 2999 })
    expect(inspectUpdate(big, { maxStructs: 3000 }).structCount).toBe(3000)
    expect(info.deleteSet.length).toBeGreaterThan(0)
    const manyDeletes = bytes(0, 1, 5, varUint(10), Array.from({ length: 10 }, (_, i) => [i * 2, 1]).flat())
    expect(inspectUpdate(manyDeletes).deleteSet.length).toBe(10)
    expectReject(manyDeletes, UpdateTooLargeError, { maxDeleteRanges: 9 })
    const twoClients = Y.mergeUpdates([big, Y.encodeStateAsUpdate(docWith(12, (d) => d.getMap('config').set('a', 1)))])
    expectReject(twoClients, UpdateTooLargeError, { maxClients: 1 })
  })

  it('enforces maxContentBytes and maxKeyBytes', () => {
    const doc = docWith(13, (d) => d.getMap('config').set('k'.repeat(100), 'x'.repeat(5000)))
    const u = Y.encodeStateAsUpdate(doc)
    expectReject(u, UpdateTooLargeError, { maxContentBytes: 4999 })
    expectReject(u, UpdateTooLargeError, { maxKeyBytes: 99 })
    expect(inspectUpdate(u, { maxContentBytes: 5000, maxKeyBytes: 100 }).structCount).toBe(1)
    const text = docWith(14, (d) => d.getText('text').insert(0, 'y'.repeat(300)))
    expectReject(Y.encodeStateAsUpdate(text), UpdateTooLargeError, { maxContentBytes: 299 })
  })

  it('enforces maxNesting for any values and JSON text', () => {
    let deep: unknown = 1
    for (let i = 0; i < 10; i++) deep = { d: deep }
    const u = Y.encodeStateAsUpdate(docWith(15, (d) => d.getMap('config').set('deep', deep)))
    expectReject(u, UpdateTooLargeError, { maxNesting: 9 })
    expect(inspectUpdate(u, { maxNesting: 10 }).structCount).toBe(1)
    // 100,000 nested arrays in 200 KB would overflow the stack of lib0's recursive readAny
    const bomb = anyUpdate(5, [[...Array(100_000).fill([117, 1]).flat(), 126]])
    expectReject(bomb, UpdateTooLargeError)
    const json = itemUpdate(5, 2, 'list', [1, ...varString('['.repeat(70) + ']'.repeat(70))])
    expectReject(json, UpdateTooLargeError)
    expect(inspectUpdate(json, { maxNesting: 70 }).contents.json).toBe(1)
  })

  it('enforces maxClock (default 2^32) on structs, references and delete ranges', () => {
    expect(DEFAULT_MAX_CLOCK).toBe(2 ** 32)
    expectReject(bytes(1, 1, 5, varUint(2 ** 32), 0, 1, 0), UpdateTooLargeError)
    expectReject(bytes(1, 1, 5, 0, 1, 1, varString('list'), varUint(2 ** 32 + 1), 0), UpdateTooLargeError)
    expectReject(bytes(0, 1, 5, 1, varUint(2 ** 32 - 1), 2), UpdateTooLargeError)
    expect(inspectUpdate(bytes(0, 1, 5, 1, varUint(2 ** 32 - 1), 1)).deleteSet).toHaveLength(1)
    expectReject(big, UpdateTooLargeError, { maxClock: 2999 })
  })

  it('enforces the time budget', () => {
    expectReject(big, UpdateTimeoutError, { maxMillis: 0 })
  })

  it('inspects a multi-megabyte update in linear time', () => {
    const doc = docWith(16, (d) => {
      const list = d.getArray<unknown>('list')
      for (let i = 0; i < 60; i++)
        list.insert(
          0,
          Array.from({ length: 4000 }, (_, j) => ({ i, j, s: 'value' })),
        )
      d.getText('text').insert(0, 'z'.repeat(500_000))
    })
    const u = Y.encodeStateAsUpdate(doc)
    const t0 = process.cpuUsage()
    const info = inspectUpdate(u)
    const ms = cpuMsSince(t0)
    const t1 = process.cpuUsage()
    Y.applyUpdate(new Y.Doc(), u)
    const applyMs = cpuMsSince(t1)
    const mb = u.byteLength / 1024 / 1024
    console.log(
      `inspect ${mb.toFixed(2)} MiB (${info.structCount} structs): ${ms.toFixed(1)} ms of CPU = ` +
        `${(ms / mb).toFixed(1)} ms/MiB; Y.applyUpdate on a fresh doc: ${applyMs.toFixed(1)} ms of CPU`,
    )
    expect(ms).toBeLessThan(1000)
  })
})

describe('integration cost (YATA conflict resolution)', () => {
  const base = docWith(1, (d) => {
    d.getArray('list').insert(0, ['X'])
    const other = d.getArray('other')
    for (let i = 0; i < 3000; i++) other.insert(0, [i]) // 3000 separate items to point right origins at
  })
  const baseState = Y.encodeStateAsUpdate(base)
  const fresh = (): Y.Doc => {
    const d = new Y.Doc()
    Y.applyUpdate(d, baseState)
    return d
  }

  it('refuses a small update that would make Yjs walk millions of siblings (single writer)', () => {
    const u = sameOriginDistinctRights(4000)
    expect(u.byteLength).toBeLessThan(50_000)
    expectReject(u, UpdateTooLargeError)
    // the same shape at a size Yjs integrates quickly is accepted, and its cost is reported
    const small = sameOriginDistinctRights(200)
    expect(inspectUpdate(small).conflictCost).toBeGreaterThan(0)
    const doc = fresh()
    const t0 = process.cpuUsage()
    const r = guardedApply(doc, small)
    expect(cpuMsSince(t0)).toBeLessThan(1000)
    expect(r.integrationCost).toBeGreaterThanOrEqual(r.info.conflictCost)
  })

  it('refuses the same attack spread over many small updates once the document region grows', () => {
    const doc = fresh()
    let refusedAt = -1
    for (let k = 0; k < 40; k++) {
      const u = sameOriginDistinctRights(300, 7, k * 300)
      const before = Y.encodeStateVector(doc)
      try {
        guardedApply(doc, u)
      } catch (err) {
        expect(err).toBeInstanceOf(UpdateTooLargeError)
        expect(Y.encodeStateVector(doc)).toEqual(before)
        refusedAt = k
        break
      }
    }
    expect(refusedAt).toBeGreaterThan(0)
  })

  it('drops parked structs that would be released into one over-budget integration', () => {
    // X (client 9) is unknown at first: 20 updates of 300 anchors after X each pass and are parked; released together
    // by X they would make Yjs walk ~18 million siblings
    const xDoc = docWith(9, (d) => d.getArray('list').insert(0, ['X']))
    const doc = fresh()
    for (let k = 0; k < 20; k++) {
      const e = encoding.createEncoder()
      encoding.writeVarUint(e, 1)
      encoding.writeVarUint(e, 300)
      encoding.writeVarUint(e, 50 + k)
      encoding.writeVarUint(e, 0)
      for (let i = 0; i < 300; i++) {
        encoding.writeUint8(e, 8 | 0x80 | 0x40)
        encoding.writeVarUint(e, 9)
        encoding.writeVarUint(e, 0)
        encoding.writeVarUint(e, 1)
        encoding.writeVarUint(e, 1 + i)
        encoding.writeVarUint(e, 1)
        encoding.writeAny(e, i)
      }
      encoding.writeVarUint(e, 0)
      expect(guardedApply(doc, encoding.toUint8Array(e)).pendingStructs).toBe(true)
    }
    const t0 = process.cpuUsage()
    const r = guardedApply(doc, Y.encodeStateAsUpdate(xDoc))
    expect(cpuMsSince(t0)).toBeLessThan(2000)
    expect(r.pendingDropped).toBe(true)
    expect(r.pendingStructs).toBe(false)
    expect(doc.getArray('list').toArray()).toEqual(['X', 'X']) // the base's X and client 9's X, none of the 6000
  })

  it('accounts for honest concurrency but not for sequential inserts at one spot', () => {
    // sequential inserts before the first item and right after X chain their right origins: no conflicts
    const seq = docWith(31, (d) => {
      const list = d.getArray<number>('list')
      list.insert(0, [0])
      for (let i = 1; i < 3000; i++) list.insert(0, [i])
      for (let i = 0; i < 3000; i++) list.insert(1, [i])
    })
    expect(inspectUpdate(Y.encodeStateAsUpdate(seq)).conflictCost).toBe(0)
    // 10 peers set the same new key concurrently: a group of 10 with a small cost
    const peers = Array.from({ length: 10 }, (_, i) => docWith(100 + i, (d) => d.getMap('config').set('k', i)))
    const merged = Y.mergeUpdates(peers.map((d) => Y.encodeStateAsUpdate(d)))
    const cost = inspectUpdate(merged).conflictCost
    expect(cost).toBeGreaterThan(0)
    expect(cost).toBeLessThan(1000)
  })

  it('refuses many writers inserting concurrently at one spot beyond the budget, and honours a raised budget', () => {
    const peers = Array.from({ length: 1500 }, (_, i) => docWith(100 + i, (d) => d.getMap('config').set('k', i)))
    const merged = Y.mergeUpdates(peers.map((d) => Y.encodeStateAsUpdate(d)))
    expectReject(merged, UpdateTooLargeError)
    expect(inspectUpdate(merged, { maxIntegrationCost: 10_000_000 }).structCount).toBe(1500)
  })
})

describe('guardedApply', () => {
  it('applies a valid update and reports no pending state', () => {
    const src = docWith(21, (d) => d.getMap('config').set('a', 1))
    const doc = new Y.Doc()
    const origins: unknown[] = []
    doc.on('update', (_u: Uint8Array, origin: unknown) => origins.push(origin))
    const r = guardedApply(doc, Y.encodeStateAsUpdate(src), 'peer-x')
    expect(doc.getMap('config').get('a')).toBe(1)
    expect(origins).toEqual(['peer-x'])
    expect(r).toMatchObject({ pendingStructs: false, pendingDeletes: false, pendingBytes: 0 })
    expect(r.missing.size).toBe(0)
  })

  it('reports pending structs with the missing clock, then clears them once the gap is filled', () => {
    const src = new Y.Doc()
    src.clientID = 22
    const events: Uint8Array[] = []
    src.on('update', (u: Uint8Array) => events.push(u))
    src.getArray('list').push(['a'])
    src.getArray('list').push(['b'])
    const doc = new Y.Doc()
    const first = guardedApply(doc, events[1]!)
    expect(first.pendingStructs).toBe(true)
    expect(first.missing.get(22)).toBe(0)
    expect(first.pendingBytes).toBeGreaterThan(0)
    const second = guardedApply(doc, events[0]!)
    expect(second.pendingStructs).toBe(false)
    expect(doc.getArray('list').toArray()).toEqual(['a', 'b'])
  })

  it('reports pending deletes for deletions of unknown structs', () => {
    const src = docWith(23, (d) => d.getArray('list').push(['a', 'b']))
    const sv = Y.encodeStateVector(src)
    src.getArray('list').delete(0, 1)
    const deleteOnly = Y.encodeStateAsUpdate(src, sv)
    const doc = new Y.Doc()
    const r = guardedApply(doc, deleteOnly)
    expect(r.pendingDeletes).toBe(true)
    expect(r.info.deleteSet).toEqual([{ client: 23, clock: 0, len: 1 }])
  })

  // Two structurally valid updates crash plain Y.applyUpdate (yjs 13.6.33) in either order: a GC struct 5:0+5 and an
  // item 5:3+4 that overlaps it but names a live root. Yjs integrates the item at offset 2 with the GC as `left`.
  const gcRun = bytes(1, 1, 5, 0, 0, 5, 0)
  const overlap = bytes(1, 1, 5, 3, 8, 1, varString('list'), 4, 125, 1, 125, 2, 125, 3, 125, 4, 0)

  it('plain Y.applyUpdate crashes on an overlap whose predecessor is GC (documents the Yjs bug)', () => {
    const doc = new Y.Doc()
    Y.applyUpdate(doc, gcRun)
    expect(() => Y.applyUpdate(doc, overlap)).toThrow(TypeError)
    const parked = new Y.Doc()
    Y.applyUpdate(parked, overlap) // parked as pending, retried untrimmed by Yjs when the GC arrives
    expect(() => Y.applyUpdate(parked, gcRun)).toThrow(TypeError)
  })

  it('guardedApply integrates the same overlap safely, in both orders', () => {
    for (const order of [
      [gcRun, overlap],
      [overlap, gcRun],
    ]) {
      const doc = new Y.Doc()
      for (const u of order) guardedApply(doc, u)
      expect(doc.store.pendingStructs).toBeNull()
      expect(Y.getState(doc.store, 5)).toBe(7)
      expect(doc.getArray('list').toArray()).toEqual([])
    }
  })

  // A live map value spanning several clocks (Yjs only writes length-1 map values) is split by any later reference
  // into its middle; the key's history then holds a live item that is not the current value, and deleting the parent
  // map makes `ContentType.gc` throw `Unexpected case` from `Item.gc` mid-transaction (fuzz seed 512279).
  /** Client 1: root map `config` with a nested map at key `t` (item 1:0) holding `k: 1` (item 1:1). */
  const nestedMapDoc = (): Y.Doc =>
    docWith(1, (d) => {
      const t = new Y.Map<number>()
      d.getMap('config').set('t', t)
      t.set('k', 1)
    })
  /** Client 2: `ContentString` "abc" (3 clocks) under the nested map 1:0, explicit key `k`. */
  const explicitKeyValue = bytes(1, 1, 2, 0, 0x24, 0, 1, 0, varString('k'), varString('abc'), 0)
  /** Client 2: `ContentAny` [1, 2, 3] whose origin is the map value 1:1, so it inherits key `k` from the document. */
  const inheritedKeyValue = bytes(1, 1, 2, 0, 0x88, 1, 1, 3, 125, 1, 125, 2, 125, 3, 0)
  /** Client 3: a deleted item whose origin 2:1 lies inside the 3-clock value (Yjs splits it). */
  const splitter = bytes(1, 1, 3, 0, 0x81, 2, 1, 1, 0)
  /** A delete range ending inside the 3-clock value (splits it, too). */
  const splittingDelete = bytes(0, 1, 2, 1, 1, 1)
  /** Deletes the nested map 1:0. */
  const deleteNestedMap = bytes(0, 1, 1, 1, 0, 1)

  it('plain Y.applyUpdate throws in GC after a multi-clock map value is split (documents the Yjs bug)', () => {
    for (const [value, split] of [
      [explicitKeyValue, splitter],
      [inheritedKeyValue, splitter],
      [explicitKeyValue, splittingDelete],
    ] as const) {
      const doc = nestedMapDoc()
      Y.applyUpdate(doc, value)
      Y.applyUpdate(doc, split)
      expect(() => Y.applyUpdate(doc, deleteNestedMap)).toThrow('Unexpected case')
    }
  })

  it('refuses a live map value spanning several clocks, with an explicit or an inherited key', () => {
    for (const value of [explicitKeyValue, inheritedKeyValue]) {
      expect(() => inspectUpdate(value)).not.toThrow() // the key of an origin is only known from the document
      const doc = nestedMapDoc()
      const before = Y.encodeStateAsUpdate(doc)
      expect(() => guardedApply(doc, value)).toThrow(MalformedUpdateError)
      expect(Y.encodeStateAsUpdate(doc)).toEqual(before)
      for (const u of [splitter, splittingDelete, deleteNestedMap]) guardedApply(doc, u)
      expect(doc.getMap('config').toJSON()).toEqual({})
    }
  })

  it('refuses a multi-clock value that inherits a map key after trimming to the clocks the document lacks', () => {
    const doc = new Y.Doc()
    guardedApply(doc, Y.encodeStateAsUpdate(docWith(2, (d) => d.getMap('config').set('m', 1))))
    // 2:0+3 names root `list`, but 2:0 exists: the part 2:1+2 is applied with origin 2:0, the value of `m`
    const overlap = bytes(1, 1, 2, 0, 4, 1, varString('list'), varString('abc'), 0)
    expect(() => guardedApply(doc, overlap)).toThrow(MalformedUpdateError)
    expect(doc.getMap('config').toJSON()).toEqual({ m: 1 })
  })

  it('the fuzz reproduction (seed 512279): refuses the value that a later input would have crashed Yjs on', () => {
    const A = 1751454176
    const B = 1664667739
    // A:0+51 padding, A:51 a nested map at config.k; B:0+481 padding, B:481+3 "abc" at key p of that map
    const config = varString('config')
    const nested = [0x21, 1, ...config, ...varString('pad'), 51, 0x27, 1, ...config, ...varString('k'), 1]
    const withNested = bytes(1, 2, varUint(A), 0, nested, 0)
    const padB = [0x21, 1, ...config, ...varString('pad2'), ...varUint(481)]
    const value = bytes(1, 2, varUint(B), 0, padB, 0x24, 0, varUint(A), 51, varString('p'), varString('abc'), 0)
    const split = bytes(1, 1, 9, 0, 0x81, varUint(B), varUint(482), 1, 0)
    // the fuzz input: B:484 deleted, origin A:51, so it replaces config.k and deletes the nested map
    const input = Uint8Array.from(Buffer.from('0101dba0e39906e40381e0a394c306330101dba0e399060200020403', 'hex'))
    const plain = new Y.Doc()
    for (const u of [withNested, value, split]) Y.applyUpdate(plain, u)
    expect(() => guardedApply(plain, input)).toThrow(UpdateApplyError)
    const doc = new Y.Doc()
    guardedApply(doc, withNested)
    expect(() => guardedApply(doc, value)).toThrow(MalformedUpdateError)
    // B:0+484 as deleted padding instead: the split and the fuzz input then integrate without harm
    guardedApply(doc, bytes(1, 1, varUint(B), 0, 0x21, 1, config, varString('pad2'), varUint(484), 0))
    guardedApply(doc, split)
    const r = guardedApply(doc, input)
    expect(r).toMatchObject({ pendingStructs: false, pendingDeletes: false })
    expect(doc.getMap('config').get('k')).toBeUndefined()
  })

  it('accepts multi-clock map values that are deleted in the same update or by pending deletes (gc: false)', () => {
    const src = docWith(
      4,
      (d) => {
        const m = d.getMap('config')
        d.transact(() => {
          m.set('a', 1)
          m.set('a', 2)
        })
        m.delete('a')
        m.set('b', 1)
      },
      false,
    )
    const state = Y.encodeStateAsUpdate(src)
    // the deleted values of `a` merged into one 2-clock item
    expect(Y.decodeUpdate(state).structs.map((s) => s.length)).toEqual([2, 1])
    const doc = new Y.Doc()
    guardedApply(doc, state)
    expect(doc.getMap('config').toJSON()).toEqual({ b: 1 })
    // the same item parked behind a missing dependency, its delete held as pending delete, released later
    const parent = docWith(5, (d) => d.getMap('config').set('t', new Y.Map()))
    const child = docWith(6, (d) => {
      Y.applyUpdate(d, Y.encodeStateAsUpdate(parent))
      const t = d.getMap('config').get('t') as Y.Map<number>
      d.transact(() => {
        t.set('x', 1)
        t.set('x', 2)
      })
      t.delete('x')
    })
    const late = new Y.Doc()
    const parked = guardedApply(late, Y.encodeStateAsUpdate(child, Y.encodeStateVector(parent)))
    expect(parked).toMatchObject({ pendingStructs: true, pendingDeletes: true })
    const released = guardedApply(late, Y.encodeStateAsUpdate(parent))
    expect(released).toMatchObject({ pendingStructs: false, pendingDropped: false })
    expect(late.getMap('config').toJSON()).toEqual({ t: {} })
  })

  it('keeps pending structs across calls and applies them once their dependencies arrive', () => {
    const src = new Y.Doc()
    src.clientID = 24
    const events: Uint8Array[] = []
    src.on('update', (u: Uint8Array) => events.push(u))
    for (let i = 0; i < 5; i++) src.getArray('list').push([i])
    const other = docWith(25, (d) => d.getMap('config').set('x', 1))
    const doc = new Y.Doc()
    for (const i of [4, 2, 3]) expect(guardedApply(doc, events[i]!).pendingStructs).toBe(true)
    // Yjs reports the clock of the missing predecessor of the earliest parked struct (clock 2 needs clock 1)
    expect(guardedApply(doc, Y.encodeStateAsUpdate(other)).missing.get(24)).toBe(1)
    guardedApply(doc, events[0]!)
    const last = guardedApply(doc, events[1]!)
    expect(last.pendingStructs).toBe(false)
    expect(doc.getArray('list').toArray()).toEqual([0, 1, 2, 3, 4])
    expect(doc.getMap('config').get('x')).toBe(1)
  })

  it('matches plain Y.applyUpdate on honest updates delivered shuffled, duplicated and overlapping', () => {
    const gen = rng(SEED + 7)
    const { updates } = makeCorpus(SEED + 7, { edits: 200 })
    for (let replica = 0; replica < 3; replica++) {
      const order = updates.map((u) => ({ u, k: gen.next() })).sort((a, b) => a.k - b.k)
      const plain = new Y.Doc()
      const guarded = new Y.Doc()
      for (const { u } of order) {
        Y.applyUpdate(plain, u)
        guardedApply(guarded, u)
      }
      expect(guarded.toJSON()).toEqual(plain.toJSON())
      expect(Y.encodeStateVector(guarded)).toEqual(Y.encodeStateVector(plain))
      expect(guarded.store.pendingStructs === null).toBe(plain.store.pendingStructs === null)
      // and both hold the same content: each one's full state adds nothing to the other
      expect(Y.encodeStateAsUpdate(plain, Y.encodeStateVector(guarded))).toEqual(
        Y.encodeStateAsUpdate(guarded, Y.encodeStateVector(plain)),
      )
    }
  })

  it('replays a shuffled corpus into replicas that converge', () => {
    const gen = rng(SEED)
    const { docs } = makeCorpus(SEED + 100, { edits: 150 })
    const states = docs.map((d) => Y.encodeStateAsUpdate(d))
    const target = new Y.Doc()
    const order = states.map((s) => ({ s, k: gen.next() })).sort((a, b) => a.k - b.k)
    for (const { s } of order) guardedApply(target, s)
    const reference = new Y.Doc()
    for (const s of states) Y.applyUpdate(reference, s)
    expect(target.toJSON()).toEqual(reference.toJSON())
    expect(Y.encodeStateVector(target)).toEqual(Y.encodeStateVector(reference))
  })
})
