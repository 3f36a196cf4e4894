/**
 * Replicas of the versions module on plain Y.Docs (a key-value store and its history, no network), and the exchanges
 * the catch-up protocol would do between them: shared by the versions unit tests.
 */
import { expect } from 'vitest'
import * as Y from 'yjs'
import { createKvStore, type KvStore, type WriteOp } from '../../src/config/kv-store.js'
import type { JsonValue } from '../../src/config/value.js'
import { ENTRIES_ROOT } from '../../src/doc/entry.js'
import { createHybridLogicalClock } from '../../src/doc/hlc.js'
import type { RetentionOptions } from '../../src/versions/retention.js'
import { createVersions, type Versions, type WriteBatch } from '../../src/versions/versions.js'

export interface Replica {
  name: string
  doc: Y.Doc
  store: KvStore
  versions: Versions
  write: WriteBatch
}

export function replica(
  name: string,
  retention?: RetentionOptions,
  wall?: () => number,
  clientID?: number,
  mayPrune?: () => boolean,
): Replica {
  const doc = new Y.Doc({ gc: true })
  if (clientID !== undefined) doc.clientID = clientID
  const clock = createHybridLogicalClock(wall)
  const versions = createVersions({
    doc,
    author: name,
    clock,
    ...(retention === undefined ? {} : { retention }),
    ...(wall === undefined ? {} : { now: wall }),
    ...(mayPrune === undefined ? {} : { mayPrune }),
  })
  const store = createKvStore({ doc, author: name, clock, onLocalWrite: versions.onLocalWrite })
  const write: WriteBatch = async (ops, meta) => store.write(ops, meta)
  return { name, doc, store, versions, write }
}

export const set = (r: Replica, key: string, value: JsonValue | undefined, namespace = 'default') =>
  r.store.write([{ namespace, key, value }])
export const batch = (r: Replica, changes: Record<string, JsonValue | undefined>, namespace = 'default') =>
  r.store.write(Object.entries(changes).map(([key, value]): WriteOp => ({ namespace, key, value })))

/** Full state-vector exchange (what the catch-up protocol does). */
export function exchange(a: Replica, b: Replica): void {
  Y.applyUpdate(b.doc, Y.encodeStateAsUpdate(a.doc, Y.encodeStateVector(b.doc)), 'remote')
  Y.applyUpdate(a.doc, Y.encodeStateAsUpdate(b.doc, Y.encodeStateVector(a.doc)), 'remote')
}

export function syncAll(rs: Replica[]): void {
  for (let round = 0; round < 2; round++) for (const x of rs) for (const y of rs) if (x !== y) exchange(x, y)
}

/** The live configuration, every namespace. */
export function live(r: Replica): Record<string, Record<string, JsonValue>> {
  return Object.fromEntries(r.store.namespaces().map((n) => [n, Object.fromEntries(r.store.entries(n))]))
}

export function expectConverged(rs: Replica[]): void {
  const sv = (r: Replica) => JSON.stringify([...Y.decodeStateVector(Y.encodeStateVector(r.doc))].sort())
  for (const r of rs) {
    expect(r.doc.store.pendingStructs).toBeNull()
    expect(r.doc.store.pendingDs).toBeNull()
    expect(live(r)).toEqual(live(rs[0]!))
    expect(sv(r)).toBe(sv(rs[0]!))
    expect(r.versions.history()).toEqual(rs[0]!.versions.history())
    expect(r.doc.getArray(ENTRIES_ROOT).toJSON()).toEqual(rs[0]!.doc.getArray(ENTRIES_ROOT).toJSON())
    // the current version shows exactly the live configuration
    expect(r.versions.at(r.versions.version()).toJSONAll()).toEqual(live(r))
  }
}
