/**
 * Versions as vector clocks. A version of the document is its Yjs state vector: for every writer (Yjs client id) the
 * number of structs it has written that the version includes. Every write to the config is an insertion, so a state
 * vector names exactly which writes a version includes, on any peer.
 *
 * The id of a version is `base64url(Y.encodeStateVector(clock))`: compact (a few bytes per writer), canonical (entries
 * sorted by client id, zero counters omitted) and meaningful on every peer.
 *
 * @module
 */
import * as Y from 'yjs'
import { UnknownVersionError } from './errors.js'

/** A vector clock: Yjs client id -> number of that client's structs included. Missing clients count 0. */
export type VectorClock = ReadonlyMap<number, number>

/**
 * A version of the configuration. `clock` is the document's state vector keyed by the Yjs client id as a decimal
 * string (a peer may use several client ids over its life, so client ids, not peer ids, are the exact writers);
 * `id` is the same clock encoded compactly, usable on any peer.
 */
export interface Version {
  /** `base64url(Y.encodeStateVector(clock))`. */
  readonly id: string
  /** Yjs client id (decimal) -> counter. */
  readonly clock: Readonly<Record<string, number>>
}

/** A version or its id. */
export type VersionRef = string | Version

/** Vector-clock order of two versions: `a` is `'before'` `b` when `b` includes everything `a` includes, and more. */
export type VersionOrder = 'before' | 'after' | 'equal' | 'concurrent'

/** Longest version id accepted (characters): about 4,000 writers. */
export const MAX_VERSION_ID_LENGTH = 64 * 1024

const BASE64URL = /^[A-Za-z0-9_-]*$/
const MAX_CLIENT = 2 ** 32 - 1

/** The state vector of `doc` (what `Y.encodeStateVector` encodes), without encoding it. */
export function stateVectorOf(doc: Y.Doc): Map<number, number> {
  const sv = new Map<number, number>()
  doc.store.clients.forEach((structs, client) => {
    const last = structs[structs.length - 1]
    if (last !== undefined) sv.set(client, last.id.clock + last.length)
  })
  return sv
}

/** Encodes a clock as a version id (canonical: zero counters dropped, clients sorted as Yjs sorts them). */
export function encodeVersionId(clock: VectorClock): string {
  const nonZero = new Map<number, number>()
  for (const [client, n] of clock) if (n > 0) nonZero.set(client, n)
  return Buffer.from(Y.encodeStateVector(nonZero)).toString('base64url')
}

/**
 * Decodes a version id. Throws {@link UnknownVersionError} unless `id` is a canonical encoding of a state vector
 * (anything else is a garbage id: re-encoding must give back exactly the same text).
 */
export function decodeVersionId(id: string): Map<number, number> {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_VERSION_ID_LENGTH || !BASE64URL.test(id)) {
    throw new UnknownVersionError(`not a version id: ${describe(id)}`)
  }
  let clock: Map<number, number>
  try {
    clock = Y.decodeStateVector(Buffer.from(id, 'base64url'))
  } catch (err) {
    throw new UnknownVersionError(`not a version id: ${describe(id)}`, { cause: err })
  }
  for (const [client, n] of clock) {
    if (client > MAX_CLIENT || n <= 0 || !Number.isSafeInteger(n)) {
      throw new UnknownVersionError(`not a version id: ${describe(id)}`)
    }
  }
  if (encodeVersionId(clock) !== id) throw new UnknownVersionError(`not a canonical version id: ${describe(id)}`)
  return clock
}

/** The {@link Version} of a clock. */
export function toVersion(clock: VectorClock): Version {
  const record: Record<string, number> = {}
  for (const [client, n] of [...clock].sort((a, b) => a[0] - b[0])) if (n > 0) record[String(client)] = n
  return Object.freeze({ id: encodeVersionId(clock), clock: Object.freeze(record) })
}

/**
 * The clock of a version or id. A {@link Version} is read from its `id` when it has one, else from its `clock`.
 * Throws {@link UnknownVersionError} for anything that is not a well-formed version.
 */
export function clockOf(ref: VersionRef): Map<number, number> {
  if (typeof ref === 'string') return decodeVersionId(ref)
  if (ref === null || typeof ref !== 'object') throw new UnknownVersionError(`not a version: ${describe(ref)}`)
  if (typeof ref.id === 'string') return decodeVersionId(ref.id)
  const record = ref.clock as unknown
  if (record === null || typeof record !== 'object') throw new UnknownVersionError('version has neither id nor clock')
  const clock = new Map<number, number>()
  for (const [key, n] of Object.entries(record as Record<string, unknown>)) {
    const client = Number(key)
    if (!/^(0|[1-9][0-9]*)$/.test(key) || client > MAX_CLIENT || typeof n !== 'number' || !Number.isSafeInteger(n)) {
      throw new UnknownVersionError(`not a version clock entry: ${describe(key)}: ${describe(n)}`)
    }
    if (n < 0) throw new UnknownVersionError(`negative counter in version clock: ${key}: ${n}`)
    if (n > 0) clock.set(client, n)
  }
  return clock
}

/** Whether `a` includes everything `b` includes (`a[c] >= b[c]` for every client). */
export function dominates(a: VectorClock, b: VectorClock): boolean {
  for (const [client, n] of b) if ((a.get(client) ?? 0) < n) return false
  return true
}

/** Whether a version with clock `clock` includes the struct `(client, structClock)`. */
export function includesStruct(clock: VectorClock, client: number, structClock: number): boolean {
  return (clock.get(client) ?? 0) > structClock
}

/** Vector-clock order of `a` relative to `b`. */
export function compareClocks(a: VectorClock, b: VectorClock): VersionOrder {
  const aCoversB = dominates(a, b)
  const bCoversA = dominates(b, a)
  if (aCoversB && bCoversA) return 'equal'
  if (bCoversA) return 'before'
  if (aCoversB) return 'after'
  return 'concurrent'
}

/** Element-wise maximum of two clocks (a new map). */
export function mergeClocks(a: VectorClock, b: VectorClock): Map<number, number> {
  const out = new Map(a)
  for (const [client, n] of b) if ((out.get(client) ?? 0) < n) out.set(client, n)
  return out
}

function describe(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v) : String(v)
  return s
}
