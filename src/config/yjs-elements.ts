/**
 * Small helpers over Yjs internals, shared by the key-value store and the versions module: walking the live elements of
 * a root array with their ids, appending in O(1), deleting one element by id (splitting the item that holds it), and
 * finding the structs a transaction inserted or deleted.
 *
 * @module
 */
import * as Y from 'yjs'

/** Calls `fn` for every element of `array` that is not deleted, with the Yjs id of the element. */
export function forEachAlive(
  array: Y.Array<unknown>,
  fn: (element: unknown, client: number, clock: number) => void,
): void {
  let item = array._start
  while (item !== null) {
    if (!item.deleted && item.content instanceof Y.ContentAny) {
      const arr = item.content.arr
      for (let j = 0; j < arr.length; j++) fn(arr[j], item.id.client, item.id.clock + j)
    }
    item = item.right
  }
}

/**
 * Appends `content` (plain objects) at the end of `array` in `tr`: what `Y.Array.push` does, but walking to the end
 * from `hint` (the id of an element known to sit near the end) instead of from the start of the list.
 */
export function appendElements(tr: Y.Transaction, array: Y.Array<unknown>, content: unknown[], hint?: Y.ID): Y.Item {
  const store = tr.doc.store
  let left: Y.Item | null = array._start
  if (hint !== undefined) {
    const structs = store.clients.get(hint.client)
    const last = structs?.[structs.length - 1]
    if (last !== undefined && last.id.clock + last.length > hint.clock) {
      const found = Y.getItem(store, hint)
      if (found instanceof Y.Item && found.parent === array) left = found
    }
  }
  if (left !== null) while (left.right !== null) left = left.right
  const own = tr.doc.clientID
  const id = Y.createID(own, Y.getState(store, own))
  const item = new Y.Item(id, left, left?.lastId ?? null, null, null, array, null, new Y.ContentAny(content))
  item.integrate(tr, 0)
  return item
}

/**
 * The element with Yjs id `(client, clock)` of `array`, or `undefined` when the document does not hold it, it is
 * deleted, or it sits elsewhere (O(log n) in the writer's structs; no split).
 */
export function elementAt(array: Y.Array<unknown>, client: number, clock: number): unknown {
  const structs = array.doc?.store.clients.get(client)
  if (structs === undefined) return undefined
  const i = findStructIndex(structs, clock)
  const s = structs[i]
  if (s === undefined || s.id.clock > clock || !(s instanceof Y.Item) || s.deleted || s.parent !== array)
    return undefined
  if (!(s.content instanceof Y.ContentAny)) return undefined
  return s.content.arr[clock - s.id.clock]
}

/** Deletes the element with id `id` in transaction `tr`; a no-op if unknown or already deleted. */
export function deleteElement(tr: Y.Transaction, id: Y.ID): void {
  const doc = tr.doc
  const structs = doc.store.clients.get(id.client)
  if (structs === undefined) return
  const last = structs[structs.length - 1]
  if (last === undefined || last.id.clock + last.length <= id.clock) return
  const item = Y.getItemCleanStart(tr, id)
  if (!(item instanceof Y.Item) || item.deleted) return
  if (item.length > 1) Y.getItemCleanEnd(tr, doc.store, id)
  item.delete(tr)
}

/**
 * Calls `fn` for every element of `array` inserted by transaction `tr` and still alive (the structs between the
 * transaction's before and after state of every client).
 */
export function forEachInserted(
  tr: Y.Transaction,
  array: Y.Array<unknown>,
  fn: (element: unknown, client: number, clock: number) => void,
): void {
  tr.afterState.forEach((after, client) => {
    const before = tr.beforeState.get(client) ?? 0
    if (after <= before) return
    const structs = tr.doc.store.clients.get(client)
    if (structs === undefined) return
    for (let i = findStructIndex(structs, before); i < structs.length; i++) {
      const s = structs[i]!
      if (s.id.clock >= after) break
      if (!(s instanceof Y.Item) || s.parent !== array || s.deleted || !(s.content instanceof Y.ContentAny)) continue
      const arr = s.content.arr
      const from = Math.max(0, before - s.id.clock)
      const to = Math.min(s.length, after - s.id.clock)
      for (let j = from; j < to; j++) fn(arr[j], client, s.id.clock + j)
    }
  })
}

/** Calls `fn` for every element of `array` deleted by transaction `tr` whose content is still known. */
export function forEachDeleted(
  tr: Y.Transaction,
  array: Y.Array<unknown>,
  fn: (element: unknown, client: number, clock: number) => void,
): void {
  Y.iterateDeletedStructs(tr, tr.deleteSet, (struct) => {
    if (!(struct instanceof Y.Item) || struct.parent !== array || !(struct.content instanceof Y.ContentAny)) return
    const arr = struct.content.arr
    for (let j = 0; j < arr.length; j++) fn(arr[j], struct.id.client, struct.id.clock + j)
  })
}

/** Index of the first struct whose range contains or follows `clock` (structs sorted by clock). */
export function findStructIndex(structs: ReadonlyArray<Y.AbstractStruct>, clock: number): number {
  let lo = 0
  let hi = structs.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const s = structs[mid]!
    if (s.id.clock + s.length <= clock) lo = mid + 1
    else if (s.id.clock > clock) hi = mid - 1
    else return mid
  }
  return lo
}

/**
 * Whether transaction `tr` changed the document's content: it inserted structs or deleted something (the condition
 * under which Yjs emits `update`). Lets a listener on `afterTransaction` see changes without listening to `update`,
 * which makes Yjs encode every transaction's update.
 */
export function changedContent(tr: Y.Transaction): boolean {
  if (tr.deleteSet.clients.size > 0) return true
  for (const [client, after] of tr.afterState) if ((tr.beforeState.get(client) ?? 0) !== after) return true
  return false
}
