/**
 * Group commit: writes submitted in the same tick are handed to one `commit()` call, and their promises settle
 * together. With a synchronous, fsync-bound engine (better-sqlite3) this turns "one sync per write" into "one sync per
 * batch": the event loop is blocked once per batch, however many writes the batch holds.
 *
 * The first submit of a batch schedules a commit with `setImmediate`, so everything submitted before the event loop
 * next checks for immediates (the rest of this tick, its microtasks, and I/O callbacks of the same loop iteration)
 * joins the batch. `flush()` commits the pending batch at once (for reads that must see it, and for close).
 *
 * @module
 */

/** Options of {@link createGroupCommit}. */
export interface GroupCommitInit<Op> {
  /**
   * Makes a batch of writes durable, in order, all or nothing. Runs synchronously; throwing rejects every write of the
   * batch with the thrown error.
   */
  commit: (ops: readonly Op[]) => void
  /**
   * Whether to group writes. When `false`, each `submit()` commits its write at once, alone (one transaction per
   * write): only useful to measure what grouping saves. Default {@link DEFAULT_GROUP_COMMIT}.
   */
  enabled?: boolean
}

/** Default of {@link GroupCommitInit.enabled}. */
export const DEFAULT_GROUP_COMMIT = true

/** A write queue that commits in batches. */
export interface GroupCommit<Op> {
  /** Queues `op`; resolves once the batch holding it is committed, rejects if that commit throws. */
  submit(op: Op): Promise<void>
  /** Commits the pending batch now, synchronously. Does nothing when nothing is pending. */
  flush(): void
  /** Number of writes waiting for a commit. */
  readonly pending: number
}

interface Entry<Op> {
  op: Op
  resolve: () => void
  reject: (err: unknown) => void
}

/** Creates a {@link GroupCommit} queue around `init.commit`. */
export function createGroupCommit<Op>(init: GroupCommitInit<Op>): GroupCommit<Op> {
  const enabled = init.enabled ?? DEFAULT_GROUP_COMMIT
  let queue: Entry<Op>[] = []
  let timer: ReturnType<typeof setImmediate> | undefined

  const flush = (): void => {
    if (timer !== undefined) {
      clearImmediate(timer)
      timer = undefined
    }
    if (queue.length === 0) return
    const batch = queue
    queue = []
    try {
      init.commit(batch.map((entry) => entry.op))
    } catch (err) {
      for (const entry of batch) entry.reject(err)
      return
    }
    for (const entry of batch) entry.resolve()
  }

  return {
    submit(op: Op): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        queue.push({ op, resolve, reject })
        if (!enabled) flush()
        else if (timer === undefined) timer = setImmediate(flush)
      })
    },
    flush,
    get pending(): number {
      return queue.length
    },
  }
}
