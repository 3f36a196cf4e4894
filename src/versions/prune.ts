/**
 * Pruning: folds history records into the compacted base and deletes them, in one transaction.
 *
 * For every key the pruned records wrote, their LWW winner is pushed to the base when it beats the base's current
 * write (which is then deleted); the horizon mark of every writer is raised to cover the pruned records; the records
 * are deleted. Pruning the same records twice, or different overlapping sets on different peers at the same time,
 * converges to the same base and horizon (LWW per key, maximum per writer) and deletes each record once. The base
 * elements that lost to concurrent prunes (see `base.ts`) of a key or writer are deleted along with its new winner.
 *
 * @module
 */
import * as Y from 'yjs'
import { appendElements, deleteElement } from '../config/yjs-elements.js'
import { compareStamps, compareWrites, type KeyWrite } from '../doc/lww.js'
import { type BaseState, baseKey, type StoredHorizon, storedBaseWrite } from './base.js'
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
  for (const record of victims) {
    if ((reach.get(record.client) ?? 0) < record.clock + 1) reach.set(record.client, record.clock + 1)
    for (const w of record.changes) {
      const fk = baseKey(w.namespace, w.key)
      const current = winners.get(fk)
      if (current === undefined || compareWrites(w, current) > 0) winners.set(fk, w)
    }
  }
  const own = tr.doc.clientID
  let next = Y.getState(tr.doc.store, own) // deletions do not advance the clock: the pushed elements get these ids
  const writes = new Map(base.writes)
  const copied = new Set<string>()
  const horizon = new Map(base.horizon)
  const horizonIds = new Map(base.horizonIds)
  const writeLosers = new Map(base.writeLosers)
  const horizonLosers = new Map(base.horizonLosers)
  let size = base.size
  const push: unknown[] = []
  for (const w of winners.values()) {
    const current = base.writes.get(w.namespace)?.get(w.key)
    // an equal stamp is the same write, already folded (by this peer or another)
    if (current !== undefined && compareStamps(w, current) <= 0) continue
    if (current !== undefined) deleteElement(tr, Y.createID(current.client, current.clock))
    else size++
    const fk = baseKey(w.namespace, w.key)
    for (const id of writeLosers.get(fk) ?? []) deleteElement(tr, id)
    writeLosers.delete(fk)
    push.push(storedBaseWrite(w))
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
  return { writes, horizon, horizonIds, writeLosers, horizonLosers, size }
}
