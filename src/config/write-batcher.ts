/**
 * Coalesces the local writes issued in one synchronous run (before the next microtask) into ONE transaction:
 * a loop of `set()` calls becomes one Yjs update, one gossip message, one history entry, and watchers everywhere
 * (local and remote alike) see the net change of the batch once. Within a batch the last write to a key wins.
 *
 * @module
 */
import type { WriteOp } from './kv-store.js'

/** Queues write operations; each returned promise settles when its batch was applied (or failed). */
export type WriteBatcher = (ops: readonly WriteOp[]) => Promise<void>

/**
 * Creates a batcher over `apply`, which receives the de-duplicated operations of one batch (ordered by each key's last
 * write) and may return a promise (e.g. durability). A throwing `apply` rejects every promise of its batch.
 */
export function createWriteBatcher(apply: (ops: WriteOp[]) => void | Promise<void>): WriteBatcher {
  let pending: Map<string, WriteOp> | undefined
  let settled: Promise<void> | undefined
  return (ops) => {
    if (pending === undefined) {
      const batch = new Map<string, WriteOp>()
      pending = batch
      settled = Promise.resolve().then(() => {
        pending = undefined
        return apply([...batch.values()])
      })
    }
    for (const op of ops) {
      const id = `${op.namespace}\u0000${op.key}`
      // Re-insert so a key keeps one slot holding its last value.
      pending.delete(id)
      pending.set(id, op)
    }
    return settled!
  }
}
