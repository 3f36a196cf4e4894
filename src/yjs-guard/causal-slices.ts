/**
 * Causal slices of an update: cut one (large) Yjs v1 update into consecutive slices that Yjs can integrate one after
 * the other, each on its own, without parking structs for later.
 *
 * Why: the conflict-cost bound (`integration-cost.ts`) is an upper bound that assumes the worst order of
 * integration, so it grows with the square of the update for the honest case of a long partition: both sides
 * appended concurrently to one list, every group of concurrent appends "may walk" everything appended after it. Yjs
 * integrates in causal order and walks a few items per group instead. Applied in causal slices, each slice's estimate
 * covers only what precedes it in that slice (about `1/n^2` of the whole for `n` slices), so every slice is checked
 * against the same per-update bound and a stalling update is still refused.
 *
 * What a slice is: {@link causalOrder} lists the update's structs in an order Yjs can integrate them in (modelled on
 * Yjs's own `integrateStructs`: clients by descending id, each in clock order, a struct's missing origin, right
 * origin or parent first). In that order every client's structs stay in clock order, so the structs between two
 * positions form, per client, one run of consecutive clocks: a valid v1 update ({@link encodeSlice}). The slice that
 * ends the order carries the whole delete set (deletes of structs in later slices would wait as pending deletes).
 *
 * Guarantees: the slices of `0..n` cover every struct of the update exactly once and, applied in order, give the same
 * document as the update. Structs whose dependencies are neither in the document nor in the update (and reference
 * cycles, which only a forged update has) are placed where their client's turn puts them; Yjs parks them as pending,
 * exactly as it would the whole update. Nothing is decoded here: the caller hands in `Y.decodeUpdate(update)`.
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import type { DeleteRange } from './inspect.js'

/** A struct of a decoded update. */
export type DecodedStruct = Y.Item | Y.GC | Y.Skip

/** The structs of one client in the update, in clock order. */
interface ClientRun {
  client: number
  structs: DecodedStruct[]
  /** Next struct to place. */
  next: number
}

/** A struct's position in the causal order: which client run, which struct of it. */
export interface OrderedStruct {
  readonly client: number
  readonly index: number
}

/** The update's structs in an order Yjs integrates them in, and the runs they come from. */
export interface CausalOrder {
  readonly order: readonly OrderedStruct[]
  readonly runs: ReadonlyMap<number, readonly DecodedStruct[]>
}

/** The ids a struct needs integrated before it: origin, right origin, parent item (not its own client's). */
function dependencies(s: DecodedStruct): Y.ID[] {
  if (!(s instanceof Y.Item)) return []
  const deps: Y.ID[] = []
  if (s.origin !== null) deps.push(s.origin)
  if (s.rightOrigin !== null) deps.push(s.rightOrigin)
  if (s.parent instanceof Y.ID) deps.push(s.parent)
  return deps
}

/**
 * The causal order of `structs` (the structs of `Y.decodeUpdate(update)`) against a document whose state vector is
 * `state` (`Y.getState` per client). O(structs) plus the stack of dependency chains.
 */
export function causalOrder(structs: readonly DecodedStruct[], state: (client: number) => number): CausalOrder {
  const byClient = new Map<number, ClientRun>()
  for (const s of structs) {
    let run = byClient.get(s.id.client)
    if (run === undefined) {
      run = { client: s.id.client, structs: [], next: 0 }
      byClient.set(s.id.client, run)
    }
    run.structs.push(s)
  }
  // Integrated so far, per client: the document's state, then every placed struct's end.
  const known = new Map<number, number>()
  const knownOf = (client: number): number => {
    let k = known.get(client)
    if (k === undefined) {
      k = state(client)
      known.set(client, k)
    }
    return k
  }
  const order: OrderedStruct[] = []
  const place = (run: ClientRun): void => {
    const s = run.structs[run.next]!
    order.push({ client: run.client, index: run.next++ })
    known.set(run.client, Math.max(knownOf(run.client), s.id.clock + s.length))
  }
  /** The run that must advance before `s` can be integrated, or undefined when nothing it needs is in the update. */
  const blocker = (s: DecodedStruct): ClientRun | undefined => {
    for (const dep of dependencies(s)) {
      if (dep.client === s.id.client || dep.clock < knownOf(dep.client)) continue
      const run = byClient.get(dep.client)
      if (run !== undefined && run.next < run.structs.length) return run
    }
    return undefined
  }
  const clients = [...byClient.keys()].sort((a, b) => b - a)
  const onStack = new Set<ClientRun>()
  for (const client of clients) {
    const root = byClient.get(client)!
    const stack: ClientRun[] = []
    let current: ClientRun | undefined = root
    while (current !== undefined) {
      if (current.next >= current.structs.length) {
        onStack.delete(current)
        current = stack.pop()
        continue
      }
      const needs = blocker(current.structs[current.next]!)
      if (needs !== undefined && !onStack.has(needs)) {
        // Yjs does the same: put this struct aside and integrate the other client's structs up to what it needs.
        onStack.add(current)
        stack.push(current)
        current = needs
        continue
      }
      // Integrable now (or part of a cycle, or waiting for what only the network has: Yjs parks it either way).
      place(current)
      if (stack.length > 0) {
        onStack.delete(current)
        current = stack.pop()
      }
    }
  }
  const runs = new Map<number, DecodedStruct[]>()
  for (const [client, run] of byClient) runs.set(client, run.structs)
  return { order, runs }
}

/**
 * Encodes the structs at positions `[from, to)` of `order` as a Yjs v1 update, with `deleteSet` (the update's, in
 * encoding order) when given, else an empty delete set. Read-only.
 */
export function encodeSlice(
  causal: CausalOrder,
  from: number,
  to: number,
  deleteSet: readonly DeleteRange[] | undefined,
): Uint8Array {
  // Per client, the first and last struct index in the slice (contiguous by construction of the order).
  const span = new Map<number, [number, number]>()
  for (let i = from; i < to; i++) {
    const { client, index } = causal.order[i]!
    const s = span.get(client)
    if (s === undefined) span.set(client, [index, index])
    else s[1] = Math.max(s[1], index)
  }
  const encoder = new Y.UpdateEncoderV1()
  const clients = [...span.keys()].sort((a, b) => b - a)
  encoding.writeVarUint(encoder.restEncoder, clients.length)
  for (const client of clients) {
    const [first, last] = span.get(client)!
    const structs = causal.runs.get(client)!
    encoding.writeVarUint(encoder.restEncoder, last - first + 1)
    encoder.writeClient(client)
    encoding.writeVarUint(encoder.restEncoder, structs[first]!.id.clock)
    for (let i = first; i <= last; i++) structs[i]!.write(encoder, 0)
  }
  writeDeleteSet(encoder, deleteSet ?? [])
  return encoder.toUint8Array()
}

/** Writes delete ranges (grouped by client, in encoding order) in the v1 delete-set format. */
export function writeDeleteSet(encoder: Y.UpdateEncoderV1, ranges: readonly DeleteRange[]): void {
  const byClient = new Map<number, DeleteRange[]>()
  for (const r of ranges) {
    const list = byClient.get(r.client)
    if (list === undefined) byClient.set(r.client, [r])
    else list.push(r)
  }
  encoding.writeVarUint(encoder.restEncoder, byClient.size)
  for (const [client, list] of byClient) {
    encoding.writeVarUint(encoder.restEncoder, client)
    encoding.writeVarUint(encoder.restEncoder, list.length)
    for (const r of list) {
      encoder.writeDsClock(r.clock)
      encoder.writeDsLen(r.len)
    }
  }
}
