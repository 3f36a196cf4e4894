/**
 * The writer set: which peers may change the config. It is itself config, stored under the reserved key
 * {@link WRITERS_NAMESPACE}/{@link WRITERS_KEY} as `{ writers: [...peerIds], former: [...peerIds] }`, last-writer-wins
 * like any key, and only a current writer can change it. `createMesh({ writers })` is the set used while the document
 * holds none (it is never written by itself: a peer restarted with a stale option must not undo a later change); the
 * first `setWriters()` stores it. `former` lists every peer removed so far (kept for operators and audits).
 *
 * Guarantees (enforced by {@link checkUpdateAuthors}, an authorisation step of the ingest pipeline `doc/ingest.ts`, on
 * every replica, before an update is applied or forwarded):
 * - gossip: the signed publisher (gossipsub `StrictSign`) is a current writer; every struct of the update is under
 *   the Yjs client id `clientIdFor(publisher, epoch)` (epoch from the message header); every element naming an author
 *   (`a`) names the publisher and every entry's epoch (`e`) is the header's. A removed writer's later messages are
 *   therefore refused, and nobody can write under another peer's client id.
 * - catch-up and its parts (with or without a writer set): a reply is accepted only from a current writer (everyone in
 *   an open mesh; the stream is Noise-authenticated, so the responder's peer id is proven); every entry in it must
 *   carry an epoch and be under the client id bound to its author and epoch, `clientIdFor(a, e)`, and that client id
 *   must not be bound to another peer already; a history record must not sit under a client id bound to another
 *   peer. So an outsider cannot write under another peer's client id over catch-up either.
 *
 * Does NOT guarantee: that a catch-up reply's entries were written by the author they name (the responder vouches
 * for them: with the author's own epoch, which every member sees in gossip, a responder can serve an entry in that
 * author's name; in an open mesh every member may respond); structs that carry no author (deleted content, GC) are
 * not bound on catch-up; anything against a malicious *current* writer (it may write, delete or roll back any key, and
 * vouches for what it serves by catch-up); that a removal is seen everywhere at once (a change the removed writer
 * made concurrently with its removal is accepted by peers that had not yet applied the removal).
 *
 * @module
 */
import * as Y from 'yjs'
import { asRecord, namesKey } from '../doc/entry.js'
import type { DecodedStruct } from '../doc/ingest.js'
import { UnauthorizedUpdateError } from './authorization-errors.js'
import { clientIdFor } from './client-id.js'
import type { ClientRegistry } from './client-registry.js'

/** Reserved namespace of mesh-level settings. Only {@link WRITERS_KEY} may be written in it. */
export const WRITERS_NAMESPACE = '__confmesh'
/** Key of the writer set in {@link WRITERS_NAMESPACE}. */
export const WRITERS_KEY = 'writers'
/** Most peers a writer set (current or former) may list. */
export const MAX_WRITERS = 1024
const PEER_ID = /^[1-9A-HJ-NP-Za-km-z]{20,128}$/

/** The stored value of the writer set. */
export type WriterSetValue = {
  /** Peer ids allowed to change config. */
  writers: string[]
  /** Peer ids removed so far. */
  former: string[]
}

/** Whether `x` can be part of a hybrid timestamp: a non-negative safe integer. */
function isClockValue(x: unknown): boolean {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
}

/** Whether `peerId` looks like a libp2p peer id (base58btc, 20..128 characters). */
export function isPeerIdString(peerId: unknown): peerId is string {
  return typeof peerId === 'string' && PEER_ID.test(peerId)
}

/** Validates a list of peer ids (deduplicated, sorted); throws `TypeError` naming `what` otherwise. */
export function normalizeWriters(list: unknown, what = 'writers'): string[] {
  if (!Array.isArray(list)) throw new TypeError(`${what} must be an array of peer ids`)
  if (list.length > MAX_WRITERS) throw new TypeError(`${what} lists more than ${MAX_WRITERS} peers`)
  for (const p of list) if (!isPeerIdString(p)) throw new TypeError(`${what}: ${JSON.stringify(p)} is not a peer id`)
  return [...new Set(list as string[])].sort()
}

/** Parses a stored writer-set value; `undefined` if it is not one. */
export function parseWriterSet(value: unknown): WriterSetValue | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
  const v = value as Record<string, unknown>
  try {
    return { writers: normalizeWriters(v.writers), former: normalizeWriters(v.former ?? [], 'former') }
  } catch {
    return undefined
  }
}

/** The next stored value when the writer set changes from `previous` to `next`. */
export function nextWriterSet(
  previous: readonly string[] | undefined,
  next: readonly string[],
  former: readonly string[] = [],
): WriterSetValue {
  const writers = normalizeWriters([...next])
  const removed = (previous ?? []).filter((p) => !writers.includes(p))
  return {
    writers,
    former: normalizeWriters(
      [...former, ...removed].filter((p) => !writers.includes(p)),
      'former',
    ),
  }
}

/** Who may write, as this replica sees it now. */
export interface WriterPolicy {
  /** The current writer set; `undefined` means everyone may write. */
  current(): ReadonlySet<string> | undefined
  /** Whether `peerId` may change config now. */
  mayWrite(peerId: string): boolean
}

/** Options of {@link createWriterPolicy}. */
export interface WriterPolicyInit {
  /** The set used while the document holds none (`createMesh({ writers })`). Default: none (everyone). */
  seed?: readonly string[]
  /** Reads the stored value of {@link WRITERS_NAMESPACE}/{@link WRITERS_KEY} (e.g. from the key-value store). */
  read: () => unknown
}

/** Creates the policy over the stored writer set (re-read on every call; cached by value identity). */
export function createWriterPolicy(init: WriterPolicyInit): WriterPolicy {
  const seed = init.seed === undefined ? undefined : new Set(normalizeWriters([...init.seed]))
  let cachedValue: unknown
  let cachedSet: ReadonlySet<string> | undefined
  const current = (): ReadonlySet<string> | undefined => {
    const stored = init.read()
    if (stored === undefined) return seed
    if (stored !== cachedValue) {
      cachedValue = stored
      cachedSet = new Set(parseWriterSet(stored)?.writers ?? [])
    }
    return cachedSet
  }
  return {
    current,
    mayWrite: (peerId) => {
      const set = current()
      return set === undefined || set.has(peerId)
    },
  }
}

/** What {@link checkUpdateAuthors} needs to know about the update's origin. */
export interface AuthorCheck {
  /** Channel: `gossip` (one signed publisher) or `sync` (a catch-up reply vouched for by its responder). */
  via: 'gossip' | 'sync'
  /** The publisher (gossip) or responder (catch-up). */
  from: string
  /** Gossip: the publisher's epoch from the message header. */
  epoch?: number | undefined
  /** The policy (the responder/publisher check). */
  policy: WriterPolicy
  /** Client ids already bound to peers (first binding wins); extended when the update passes. Default: none. */
  registry?: ClientRegistry | undefined
}

/**
 * Checks who wrote an update (see the module comment): its bytes, or its structs as the ingest pipeline decoded them.
 * Call it only on updates the update guard accepted: bytes are decoded with `Y.decodeUpdate`, which trusts its input.
 *
 * @throws {@link UnauthorizedUpdateError} naming the first violation.
 */
export function checkUpdateAuthors(update: Uint8Array | readonly DecodedStruct[], check: AuthorCheck): void {
  const { from, via, epoch, policy } = check
  const writers = policy.current()
  if (writers !== undefined && !writers.has(from)) {
    throw new UnauthorizedUpdateError(
      via === 'gossip'
        ? `${from} is not a writer`
        : `catch-up replies are accepted from writers only; ${from} is not one`,
    )
  }
  const structs = update instanceof Uint8Array ? Y.decodeUpdate(update).structs : update
  let bound: number | undefined
  if (via === 'gossip') {
    const hasStructs = structs.some((s) => !(s instanceof Y.Skip))
    if (hasStructs) {
      if (epoch === undefined) throw new UnauthorizedUpdateError(`update from ${from} carries no writer epoch`)
      bound = clientIdFor(from, epoch)
      const owner = check.registry?.owner(bound)
      if (owner !== undefined && owner !== from) {
        throw new UnauthorizedUpdateError(`client id ${bound} belongs to ${owner}, not to ${from}`)
      }
    }
  }
  const bindings = new Map<number, string>()
  if (bound !== undefined) bindings.set(bound, from)
  for (const s of structs) {
    if (s instanceof Y.Skip) continue
    const client = s.id.client
    if (bound !== undefined && client !== bound) {
      throw new UnauthorizedUpdateError(`update from ${from} holds structs of client ${client}, not its own (${bound})`)
    }
    if (!(s instanceof Y.Item)) continue // GC: deleted content, nothing to check
    // confmesh writes plain values into one Y.Array: any other content kind or a map key is not ours
    if (s.parentSub !== null)
      throw new UnauthorizedUpdateError(`update from ${from} writes a map key; confmesh has none`)
    if (s.content instanceof Y.ContentDeleted) continue
    if (!(s.content instanceof Y.ContentAny)) {
      throw new UnauthorizedUpdateError(
        `update from ${from} holds ${s.content.constructor.name}; confmesh writes values only`,
      )
    }
    for (const el of s.content.arr) checkElement(el, client, check, bindings)
  }
  if (check.registry !== undefined) for (const [client, peer] of bindings) check.registry.bind(client, peer)
}

function checkElement(el: unknown, client: number, check: AuthorCheck, bindings: Map<number, string>): void {
  const r = asRecord(el)
  if (r === undefined || !('a' in r)) return
  const { from, via, epoch } = check
  if (typeof r.a !== 'string') throw new UnauthorizedUpdateError(`update from ${from} has an element without author`)
  if (via === 'gossip' && r.a !== from) {
    throw new UnauthorizedUpdateError(`update published by ${from} names another author (${r.a})`)
  }
  if (!namesKey(r)) {
    // a history record (author, no epoch): on catch-up, its client id must not be bound to another peer
    const owner = via === 'sync' ? (check.registry?.owner(client) ?? bindings.get(client)) : undefined
    if (owner !== undefined && owner !== r.a) {
      throw new UnauthorizedUpdateError(`record of ${r.a} is under client ${client}, which belongs to ${owner}`)
    }
    return
  }
  // Last-writer-wins orders entries by (t, c): anything but non-negative safe integers breaks it (NaN compares with
  // nothing, so the winner depends on arrival order; Infinity wins forever and drags every observing clock with it).
  if (!isClockValue(r.t) || !isClockValue(r.c)) {
    throw new UnauthorizedUpdateError(`entry of ${String(r.a)} has an invalid hybrid timestamp (t, c)`)
  }
  if ('e' in r) {
    if (via === 'gossip' && r.e !== epoch) throw new UnauthorizedUpdateError(`entry epoch differs from the message's`)
    let expected: number
    try {
      expected = clientIdFor(r.a, r.e as number)
    } catch {
      throw new UnauthorizedUpdateError(`entry of ${r.a} has an invalid epoch`)
    }
    if (expected !== client) {
      throw new UnauthorizedUpdateError(`entry of ${r.a} is under client ${client}, not the author's (${expected})`)
    }
    const owner = check.registry?.owner(client) ?? bindings.get(client)
    if (owner !== undefined && owner !== r.a) {
      throw new UnauthorizedUpdateError(`client id ${client} belongs to ${owner}, not to ${r.a}`)
    }
    bindings.set(client, r.a)
  } else if (via === 'sync' || check.policy.current() !== undefined) {
    // Gossip binds an epoch-less entry by the message's header; a catch-up reply has no header to bind it by, so in
    // an open mesh too, an entry there without an epoch could sit under any client id: refused.
    throw new UnauthorizedUpdateError(`entry of ${r.a} carries no writer epoch`)
  }
  if (r.n === WRITERS_NAMESPACE) {
    if (r.k !== WRITERS_KEY) throw new UnauthorizedUpdateError(`reserved key ${WRITERS_NAMESPACE}/${String(r.k)}`)
    if (r.x === 1 || parseWriterSet(r.v) === undefined) {
      throw new UnauthorizedUpdateError('malformed writer set (a writer set cannot be deleted, only replaced)')
    }
  }
}
