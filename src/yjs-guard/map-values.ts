/**
 * Document-aware check of the update guard: refuse an update that would leave a live map value spanning several clocks
 * (Yjs only ever writes map values of length 1; a later split of a longer one makes Yjs throw in garbage collection).
 *
 * @module
 */
import * as Y from 'yjs'
import { MalformedUpdateError } from './errors.js'
import type { Inspection } from './inspect.js'
import { indexer } from './integration-cost.js'

/** Delete ranges per client, sorted by clock. */
type RangesByClient = Map<number, { clock: number; len: number }[]>

/** Whether `[from, to)` of `client` lies entirely in (adjacent or overlapping) ranges of `ds`. */
const covers = (ds: RangesByClient, client: number, from: number, to: number): boolean => {
  const ranges = ds.get(client)
  if (ranges === undefined) return false
  let pos = from
  for (const r of ranges) {
    if (r.clock > pos) break
    if (r.clock + r.len > pos) pos = r.clock + r.len
    if (pos >= to) return true
  }
  return false
}

const byClient = (ranges: Iterable<[number, { clock: number; len: number }]>): RangesByClient => {
  const out: RangesByClient = new Map()
  for (const [client, r] of ranges) {
    let list = out.get(client)
    if (list === undefined) {
      list = []
      out.set(client, list)
    }
    list.push({ clock: r.clock, len: r.len })
  }
  for (const list of out.values()) list.sort((a, b) => a.clock - b.clock)
  return out
}

const MAP_NO = 1
const MAP_YES = 2
const MAP_VISITING = 3

/**
 * Refuse an update that would leave a **live map value spanning several clocks** in `doc`.
 *
 * Yjs itself only ever writes map values (`parentSub !== null`) of length 1 (`Y.Map#set` inserts one `ContentAny`,
 * `ContentType`, `ContentBinary` or `ContentDoc`); longer map items only arise by merging values that are all
 * deleted. A crafted item can still be a live map value of several clocks: a `ContentString`/`ContentAny`/
 * `ContentJSON` with an explicit map key, or one whose origin (or, after trimming, its predecessor) is a map value, so
 * it inherits the key from an item that may only exist in the document. Once any later update splits that value (an
 * origin or right origin inside it, or a delete range ending inside it), the key's history holds a live item that is
 * not the key's current value. `ContentType.delete` only deletes the current values of a deleted map, and
 * `ContentType.gc` then reaches the live one and throws `Unexpected case` from `Item.gc`, mid-transaction (found by the
 * structural fuzz test, seed 512279). Refusing the value when it is created keeps the invariant Yjs relies on.
 *
 * An item counts as a map value when it resolves like `Item.getMissing` does: the part the document lacks (trimmed
 * by `Y.diffUpdate`, its origin then the document's predecessor) inherits the map key of its origin, else of its right
 * origin, else has its explicit key; origins inside the update are followed, GC and missing origins end the walk (a
 * parked item is checked again when it is released). Items deleted within the same transaction are allowed: covered
 * by the update's delete set or the document's pending deletes (what a `gc: false` replica honestly sends).
 *
 * @throws {@link MalformedUpdateError} when such a value would be created.
 */
export const checkMapValues = (doc: Y.Doc, inspection: Inspection): void => {
  const { refs, multiClock, info } = inspection
  if (multiClock.length === 0) return
  const store = doc.store
  const find = indexer(refs)
  const memo = new Uint8Array(refs.count)
  /** Whether item `start` integrates with a map key (iterative: origin chains can be as long as the update). */
  const isMapValue = (start: number): boolean => {
    const chain: number[] = []
    let result = MAP_NO
    for (let i = start; ; ) {
      const m = memo[i]!
      if (m !== 0) {
        result = m === MAP_VISITING ? MAP_NO : m // a reference cycle is parked by Yjs for good
        break
      }
      memo[i] = MAP_VISITING
      chain.push(i)
      const client = refs.client[i]!
      const state = Y.getState(store, client)
      let rc = refs.originClient[i]!
      let rk = refs.originClock[i]!
      if (refs.clock[i]! < state) {
        rc = client
        rk = state - 1
      } else if (rc < 0) {
        rc = refs.rightClient[i]!
        rk = refs.rightClock[i]!
      }
      if (rc < 0) {
        result = refs.parentSub[i] !== null ? MAP_YES : MAP_NO
        break
      }
      if (rk < Y.getState(store, rc)) {
        const s = Y.getItem(store, Y.createID(rc, rk))
        result = s instanceof Y.Item && s.parentSub !== null ? MAP_YES : MAP_NO
        break
      }
      const next = find(rc, rk)
      if (next < 0) break // a GC or Skip struct of the update, or missing: not a map value now
      i = next
    }
    for (const k of chain) memo[k] = result
    return result === MAP_YES
  }
  let ds: RangesByClient | null = null
  let pendingDs: RangesByClient | null = null
  for (const i of multiClock) {
    const client = refs.client[i]!
    const end = refs.clock[i]! + refs.length[i]!
    const from = Math.max(refs.clock[i]!, Y.getState(store, client))
    if (end - from < 2 || !isMapValue(i)) continue
    ds ??= byClient(info.deleteSet.map((r) => [r.client, r]))
    if (covers(ds, client, from, end)) continue
    if (pendingDs === null) {
      const pending = store.pendingDs === null ? [] : [...Y.decodeUpdateV2(store.pendingDs).ds.clients]
      pendingDs = byClient(
        pending.flatMap(([c, list]) => list.map((r) => [c, r] as [number, { clock: number; len: number }])),
      )
    }
    if (covers(pendingDs, client, from, end)) continue
    throw new MalformedUpdateError(
      `malformed Yjs update: item ${client}:${from}+${end - from} would be a live map value spanning several clocks ` +
        '(Yjs writes map values of length 1; splitting a longer one corrupts the map)',
    )
  }
}
