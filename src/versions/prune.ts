/**
 * Pruning: folds history records into the compacted base and deletes them, in one transaction.
 *
 * For every key the pruned records wrote, their LWW winner is pushed to the base when it beats the base's current
 * write (which is then deleted); the horizon mark of every writer is raised to cover the pruned records; the records
 * are deleted. Pruning the same records twice, or different overlapping sets on different peers at the same time,
 * converges to the same base and horizon (LWW per key, maximum per writer) and deletes each record once.
 *
 * @module
 */
import * as Y from 'yjs'
import { type BaseState, type StoredHorizon, storedBaseWrite } from './base.js'
import { compareStamps, compareWrites, type KeyWrite } from './lww.js'
import type { HistoryRecord } from './record.js'
import { deleteElement } from './yjs-util.js'

/** Folds `victims` into the base and deletes them, inside transaction `tr`. */
export function pruneRecords(
  tr: Y.Transaction,
  baseArray: Y.Array<unknown>,
  base: BaseState,
  victims: readonly HistoryRecord[],
): void {
  if (victims.length === 0) return
  const winners = new Map<string, KeyWrite>()
  const reach = new Map<number, number>()
  for (const record of victims) {
    if ((reach.get(record.client) ?? 0) < record.clock + 1) reach.set(record.client, record.clock + 1)
    for (const w of record.changes) {
      const fk = `${w.namespace}\u0000${w.key}`
      const current = winners.get(fk)
      if (current === undefined || compareWrites(w, current) > 0) winners.set(fk, w)
    }
  }
  const push: unknown[] = []
  for (const w of winners.values()) {
    const current = base.writes.get(w.namespace)?.get(w.key)
    // an equal stamp is the same write, already folded (by this peer or another)
    if (current !== undefined && compareStamps(w, current) <= 0) continue
    if (current !== undefined) deleteElement(tr, Y.createID(current.client, current.clock))
    push.push(storedBaseWrite(w))
  }
  for (const [client, h] of reach) {
    if ((base.horizon.get(client) ?? 0) >= h) continue
    const old = base.horizonIds.get(client)
    if (old !== undefined) deleteElement(tr, old)
    const mark: StoredHorizon = { q: client, h }
    push.push(mark)
  }
  if (push.length > 0) baseArray.push(push)
  for (const record of victims) deleteElement(tr, Y.createID(record.client, record.clock))
}
