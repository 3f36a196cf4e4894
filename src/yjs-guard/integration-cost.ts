/**
 * An upper-bound estimate of the work `Y.applyUpdate` spends in YATA conflict resolution (`Item.integrate`), so the
 * update guard can refuse updates that are valid but would stall the process.
 *
 * Why: when an item is integrated and other items already sit between its origin and its right origin (concurrent
 * inserts at the same place), Yjs walks them one by one. Honest documents have few such "conflicting siblings", but a
 * writer can manufacture them: 8,000 items in one 80 KB update that share an origin and point their right origins
 * elsewhere make Yjs walk ~32 million items (about 10 s); the work is quadratic in the group size.
 *
 * The model: items that share an insertion point (the same origin; or, without origin, the same parent and map key;
 * items with only a right origin are pooled as "start of a list") form a group. Members whose right origin is
 * another member are the honest pattern of repeated inserts at one spot (each new item goes before the previous
 * one) and do not conflict, except several chained to the same member; the others ("anchors") may each walk over
 * everything inserted there (the members' subtrees in the update's origin forest). So a group costs
 * `(anchors - 1) * region` (+ the same for members chained to one item). {@link estimateDocCost} adds, for groups
 * whose insertion point already exists in a document, the anchors times the length of the region Yjs would walk
 * there (walked read-only, with Yjs's continuation rule, within a budget).
 *
 * It is an estimate, not a simulation: it can over-count (unrelated inserts at the start of different lists are
 * pooled) and it stops counting at the budget.
 *
 * @module
 */
import * as Y from 'yjs'

/** Per-item references collected by the parser (columnar; GC and Skip structs are not recorded). */
export interface StructRefs {
  /** Number of recorded items. */
  count: number
  /** Client id of each item. */
  client: number[]
  /** First clock of each item. */
  clock: number[]
  /** Length of each item in clocks. */
  length: number[]
  /** Origin client, or -1 when the item has no origin. */
  originClient: number[]
  /** Origin clock, or -1. */
  originClock: number[]
  /** Right-origin client, or -1. */
  rightClient: number[]
  /** Right-origin clock, or -1. */
  rightClock: number[]
  /** Explicit root parent name, or null. */
  parentRoot: (string | null)[]
  /** Explicit parent item client, or -1. */
  parentClient: number[]
  /** Explicit parent item clock, or -1. */
  parentClock: number[]
  /** Map key of an item with an explicit parent, or null. */
  parentSub: (string | null)[]
}

/** An empty {@link StructRefs}. */
export const createStructRefs = (): StructRefs => ({
  count: 0,
  client: [],
  clock: [],
  length: [],
  originClient: [],
  originClock: [],
  rightClient: [],
  rightClock: [],
  parentRoot: [],
  parentClient: [],
  parentClock: [],
  parentSub: [],
})

/**
 * A lookup for the recorded item containing `(client, clock)` (its index, or -1). Items of one client are recorded in
 * clock order. O(n) to build, O(log n) per lookup.
 */
export const indexer = (refs: StructRefs): ((client: number, clock: number) => number) => {
  const byClient = new Map<number, number[]>()
  for (let i = 0; i < refs.count; i++) {
    const c = refs.client[i]!
    let list = byClient.get(c)
    if (list === undefined) {
      list = []
      byClient.set(c, list)
    }
    list.push(i)
  }
  return (client, clock) => {
    const list = byClient.get(client)
    if (list === undefined) return -1
    let lo = 0
    let hi = list.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const i = list[mid]!
      const start = refs.clock[i]!
      if (clock < start) hi = mid - 1
      else if (clock >= start + refs.length[i]!) lo = mid + 1
      else return i
    }
    return -1
  }
}

/** Group key of item `i`: its insertion point (origin; else parent and key; else "start of some list"). */
const groupKey = (refs: StructRefs, i: number): string => {
  if (refs.originClient[i]! >= 0) return `o${refs.originClient[i]}:${refs.originClock[i]}`
  const sub = refs.parentSub[i] ?? ''
  const root = refs.parentRoot[i]
  if (root !== null && root !== undefined) return `p${root.length}:${root}${sub}`
  if (refs.parentClient[i]! >= 0) return `i${refs.parentClient[i]}:${refs.parentClock[i]}:${sub}`
  return 'r'
}

/** Items of an update that share an insertion point. */
export interface ConflictGroup {
  /** Group key (`o<client>:<clock>` for an origin, `p...` root parent, `i...` parent id, `r` right-origin only). */
  key: string
  /** Indices of the members in the refs. */
  members: number[]
  /**
   * Members whose right origin is not another member of the group. Honest sequential inserts at one spot chain
   * (each new item's right origin is the previous one) and integrate without conflicts; anchors may conflict.
   */
  anchors: number[]
  /** Sum of the members' subtree sizes in the update's origin forest (what a conflicting member may walk). */
  region: number
  /** Stateless cost: `(anchors - 1) * region` plus `(n - 1) * region` for every n members chained to the same item. */
  cost: number
}

/** Build the conflict groups of an update. O(n log n). */
export const conflictGroups = (refs: StructRefs): ConflictGroup[] => {
  const n = refs.count
  const find = indexer(refs)
  // origin forest: parent[i] = index of the item containing i's origin, when that item is in the update
  const parent = new Int32Array(n).fill(-1)
  const pendingChildren = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    if (refs.originClient[i]! < 0) continue
    const p = find(refs.originClient[i]!, refs.originClock[i]!)
    if (p >= 0 && p !== i) {
      parent[i] = p
      pendingChildren[p]!++
    }
  }
  // subtree sizes, leaves first (Kahn); members of reference cycles keep a partial size (Yjs parks them anyway)
  const size = new Float64Array(n).fill(1)
  const queue: number[] = []
  for (let i = 0; i < n; i++) if (pendingChildren[i] === 0) queue.push(i)
  for (let q = 0; q < queue.length; q++) {
    const i = queue[q]!
    const p = parent[i]!
    if (p < 0) continue
    size[p]! += size[i]!
    if (--pendingChildren[p]! === 0) queue.push(p)
  }
  const byKey = new Map<string, ConflictGroup>()
  const keyOf: string[] = new Array(n)
  for (let i = 0; i < n; i++) {
    const key = groupKey(refs, i)
    keyOf[i] = key
    let g = byKey.get(key)
    if (g === undefined) {
      g = { key, members: [], anchors: [], region: 0, cost: 0 }
      byKey.set(key, g)
    }
    g.members.push(i)
    g.region += size[i]!
  }
  for (const g of byKey.values()) {
    if (g.members.length === 1) {
      g.anchors = g.members
      continue
    }
    const chainedTo = new Map<number, number>()
    for (const i of g.members) {
      const r = refs.rightClient[i]! >= 0 ? find(refs.rightClient[i]!, refs.rightClock[i]!) : -1
      if (r >= 0 && r !== i && keyOf[r] === g.key) chainedTo.set(r, (chainedTo.get(r) ?? 0) + 1)
      else g.anchors.push(i)
    }
    let cost = Math.max(0, g.anchors.length - 1) * g.region
    for (const count of chainedTo.values()) cost += (count - 1) * g.region
    g.cost = cost
  }
  return [...byKey.values()]
}

/** Stateless estimate: the sum of the groups' costs. Zero for updates without concurrent siblings. */
export const estimateUpdateCost = (groups: readonly ConflictGroup[]): number => {
  let cost = 0
  for (const g of groups) cost += g.cost
  return cost
}

type AnyItem = Y.Item

/**
 * Where `Item.integrate` stops walking for every anchor of a group: at a sibling (same insertion point) with a greater
 * client id than every anchor and the right origin all anchors share (Yjs: "conflicting and point to the same
 * integration points: the id decides"). `undefined` when the anchors' right origins differ (no such stop).
 */
interface SiblingStop {
  /** Greatest client id among the anchors. */
  client: number
  /** The anchors' common right origin (`null`: none, an append). */
  right: Y.ID | null
}

const sameId = (a: Y.ID | null, b: Y.ID | null): boolean =>
  a === b || (a !== null && b !== null && a.client === b.client && a.clock === b.clock)

/**
 * Walk a document's sibling list from `start` the way `Item.integrate` does: continue while an item's origin is the
 * insertion point or lies inside the region walked so far, and stop after a sibling that ends the walk of every
 * anchor (`stop`). Returns the number of items walked, stopping at `budget`.
 */
const walkRegion = (
  store: Y.Doc['store'],
  start: AnyItem | null,
  isInsertionPoint: (origin: Y.ID | null) => boolean,
  budget: number,
  stop: SiblingStop | undefined,
): number => {
  const visited = new Set<AnyItem | Y.GC>()
  let n = 0
  for (let o: AnyItem | null = start; o !== null && o !== undefined && n < budget; o = o.right) {
    if (!isInsertionPoint(o.origin)) {
      if (o.origin === null || Y.getState(store, o.origin.client) <= o.origin.clock) break
      if (!visited.has(Y.getItem(store, o.origin))) break
    } else if (stop !== undefined && o.id.client > stop.client && sameId(o.rightOrigin, stop.right)) {
      n++
      break
    }
    visited.add(o)
    n++
  }
  return n
}

/** The {@link SiblingStop} of a group's anchors, or `undefined` when their right origins differ. */
const siblingStop = (refs: StructRefs, anchors: readonly number[]): SiblingStop | undefined => {
  const first = anchors[0]!
  const rc = refs.rightClient[first]!
  const rk = refs.rightClock[first]!
  let client = refs.client[first]!
  for (const i of anchors) {
    if (refs.rightClient[i] !== rc || refs.rightClock[i] !== rk) return undefined
    client = Math.max(client, refs.client[i]!)
  }
  return { client, right: rc < 0 ? null : Y.createID(rc, rk) }
}

const isItem = (s: unknown): s is AnyItem => s instanceof Y.Item

/** The item of `doc` that contains `(client, clock)`, or null if the document does not have that clock. */
const itemAt = (doc: Y.Doc, client: number, clock: number): AnyItem | Y.GC | null =>
  clock < Y.getState(doc.store, client) ? Y.getItem(doc.store, Y.createID(client, clock)) : null

/** The parts of a Yjs type this module reads: its list head and its map-key heads. */
interface SiblingList {
  _start: AnyItem | null
  _map: Map<string, AnyItem>
}

/** The leftmost item of a parent's list, or of one key's history when `sub` is set. */
const firstChild = (type: SiblingList | undefined, sub: string | null): AnyItem | null => {
  if (type === undefined) return null
  if (sub === null) return type._start
  let o: AnyItem | null = type._map.get(sub) ?? null
  while (o !== null && o.left !== null) o = o.left
  return o
}

/**
 * Document-aware part of the estimate: for each group whose insertion point exists in `doc`, add
 * `members * walked region` (walked read-only). Stops early once the total exceeds `budget`.
 *
 * @returns The additional cost (may exceed `budget` by at most one region).
 */
export const estimateDocCost = (
  doc: Y.Doc,
  refs: StructRefs,
  groups: readonly ConflictGroup[],
  budget: number,
): number => {
  let cost = 0
  for (const g of groups) {
    if (cost > budget) break
    // chained members find their right origin next to the insertion point; only anchors walk the region
    const i = g.anchors[0]
    if (i === undefined) continue
    const k = g.anchors.length
    const remaining = Math.max(1, Math.ceil((budget - cost + 1) / k))
    let walked = 0
    if (refs.originClient[i]! >= 0) {
      const oc = refs.originClient[i]!
      const ok = refs.originClock[i]!
      const left = itemAt(doc, oc, ok)
      // origin inside a longer item: Yjs splits it and finds nothing in between; GC origin: integrated as GC
      if (!isItem(left) || left.id.clock + left.length - 1 !== ok || left.right === null) continue
      // a lone member whose right origin is the origin's current right neighbour does not loop at all
      if (k === 1 && refs.rightClient[i]! >= 0) {
        const right = itemAt(doc, refs.rightClient[i]!, refs.rightClock[i]!)
        if (right === left.right) continue
      }
      walked = walkRegion(
        doc.store,
        left.right,
        (origin) => origin !== null && origin.client === oc && origin.clock === ok,
        remaining,
        siblingStop(refs, g.anchors),
      )
    } else {
      let type: SiblingList | undefined
      let sub = refs.parentSub[i] ?? null
      const root = refs.parentRoot[i]
      if (root !== null && root !== undefined) {
        type = doc.share.get(root)
      } else if (refs.parentClient[i]! >= 0) {
        const p = itemAt(doc, refs.parentClient[i]!, refs.parentClock[i]!)
        const content = isItem(p) ? p.content : null
        type = content instanceof Y.ContentType ? content.type : undefined
      } else if (refs.rightClient[i]! >= 0) {
        const r = itemAt(doc, refs.rightClient[i]!, refs.rightClock[i]!)
        // a lone insert before the current first item does not loop
        if (k === 1 && isItem(r) && r.left === null) continue
        if (isItem(r) && r.parent instanceof Y.AbstractType) {
          type = r.parent
          sub = r.parentSub
        }
      }
      walked = walkRegion(doc.store, firstChild(type, sub), (origin) => origin === null, remaining, undefined)
    }
    cost += k * walked
  }
  return cost
}
