/**
 * Pruning: folds history records into the compacted base and deletes them, in one transaction.
 *
 * For every key the pruned records wrote, their LWW winner is pushed to the base when it beats the base's current
 * write (which is then deleted); the horizon mark of every writer is raised to cover the pruned records; the records
 * are deleted. Pruning the same records twice, or different overlapping sets on different peers at the same time,
 * converges to the same base and horizon (LWW per key, maximum per writer) and deletes each record once. The base
 * elements that lost to concurrent prunes (see `base.ts`) of a key or writer are deleted along with its new winner.
 *
 * Recorded entries (`h: 1`, values the records and the base refer to) are deleted here, and only here: a pruned
 * record's entry is deleted unless the base now refers to it (it is its key's greatest pruned write), and the entry of
 * a base write is deleted along with that base write. Each prune deletes only entries strictly older (LWW) than the
 * base write it leaves for their key, so the greatest base write after any merge of concurrent prunes, every retained
 * record's entries and every key's live winner keep their entries.
 *
 * @module
 */
import * as Y from 'yjs'
import { appendElements, deleteElement } from '../config/yjs-elements.js'
import { compareStamps, compareWrites, type KeyWrite } from '../doc/lww.js'
import { type BaseState, baseKey, idKey, type StoredHorizon, storedBaseWrite } from './base.js'
import type { HistoryRecord } from './record.js'

/**
 * Folds `victims` into the base and deletes them, inside transaction `tr`. Returns the base as it is after the
 * transaction (so the caller need not read it back from the document). `tail` is the id of an element near the end of
 * the array (where the base writes are appended), e.g. the newest record.
 */
export function pruneRecords(
  tr: Y.Transaction,
  baseArray: Y.Array<unknown>,
  base: BaseState,
  victims: readonly HistoryRecord[],
  tail?: Y.ID,
): BaseState {
  if (victims.length === 0) return base
  const winners = new Map<string, KeyWrite>()
  const reach = new Map<number, number>()
  /** The entry of every change of a record of the reference format. */
  const entryOf = new Map<KeyWrite, Y.ID>()
  /** Per key, the pruned changes whose entries this prune may delete. */
  const pruned = new Map<string, KeyWrite[]>()
  for (const record of victims) {
    if ((reach.get(record.client) ?? 0) < record.clock + 1) reach.set(record.client, record.clock + 1)
    const first = record.clock - record.changes.length
    record.changes.forEach((w, i) => {
      const fk = baseKey(w.namespace, w.key)
      if (record.byRef) {
        entryOf.set(w, Y.createID(record.client, first + i))
        const list = pruned.get(fk)
        if (list === undefined) pruned.set(fk, [w])
        else list.push(w)
      }
      const current = winners.get(fk)
      if (current === undefined || compareWrites(w, current) > 0) winners.set(fk, w)
    })
  }
  const own = tr.doc.clientID
  let next = Y.getState(tr.doc.store, own) // deletions do not advance the clock: the pushed elements get these ids
  const writes = new Map(base.writes)
  const copied = new Set<string>()
  const horizon = new Map(base.horizon)
  const horizonIds = new Map(base.horizonIds)
  const writeLosers = new Map(base.writeLosers)
  const horizonLosers = new Map(base.horizonLosers)
  const refs = new Map(base.refs)
  let size = base.size
  const push: unknown[] = []
  /** Deletes a base element and the entry it refers to. */
  const dropBase = (id: Y.ID) => {
    deleteElement(tr, id)
    const k = idKey(id.client, id.clock)
    const entry = refs.get(k)
    if (entry !== undefined) deleteElement(tr, entry)
    refs.delete(k)
  }
  for (const [fk, w] of winners) {
    const current = base.writes.get(w.namespace)?.get(w.key)
    // the pruned entries of this key older than what the base keeps for it go (not the one the base refers to)
    const kept = current !== undefined && compareStamps(w, current) <= 0 ? current : w
    for (const x of pruned.get(fk) ?? []) if (compareStamps(x, kept) < 0) deleteElement(tr, entryOf.get(x)!)
    // an equal stamp is the same write, already folded (by this peer or another)
    if (kept === current) continue
    if (current !== undefined) dropBase(Y.createID(current.client, current.clock))
    else size++
    for (const id of writeLosers.get(fk) ?? []) dropBase(id)
    writeLosers.delete(fk)
    const entry = entryOf.get(w)
    push.push(storedBaseWrite(w, entry))
    if (entry !== undefined) refs.set(idKey(own, next), entry)
    if (!copied.has(w.namespace)) {
      writes.set(w.namespace, new Map(base.writes.get(w.namespace)))
      copied.add(w.namespace)
    }
    ;(writes.get(w.namespace) as Map<string, KeyWrite>).set(w.key, { ...w, client: own, clock: next++ })
  }
  for (const [client, h] of reach) {
    if ((base.horizon.get(client) ?? 0) >= h) continue
    const old = base.horizonIds.get(client)
    if (old !== undefined) deleteElement(tr, old)
    for (const id of horizonLosers.get(client) ?? []) deleteElement(tr, id)
    horizonLosers.delete(client)
    const mark: StoredHorizon = { q: client, h }
    push.push(mark)
    horizon.set(client, h)
    horizonIds.set(client, Y.createID(own, next++))
  }
  if (push.length > 0) appendElements(tr, baseArray, push, tail)
  for (const record of victims) deleteElement(tr, Y.createID(record.client, record.clock))
  return { writes, horizon, horizonIds, writeLosers, horizonLosers, size, refs, lost: base.lost }
}
