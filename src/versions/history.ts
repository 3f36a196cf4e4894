/**
 * The history log as users see it: one entry per retained record, newest first, identical on every peer. An entry's
 * `changes` give, per key, the value written (`after`) and the value it replaced in last-writer-wins order (`before`:
 * the greatest earlier write of that key among the compacted base and all retained records).
 *
 * @module
 */

import { compareStamps, compareWrites, type KeyWrite } from '../doc/lww.js'
import type { BaseState } from './base.js'
import type { HistoryChange } from './diff.js'
import { compareRecords, type HistoryRecord } from './record.js'
import { dominates, includesStruct, toVersion, type VectorClock, type Version } from './vector-clock.js'

/** One recorded change set (or labelled snapshot). Its `id`/`clock` are the version right after it on its writer. */
export interface HistoryEntry extends Version {
  /** Peer id of the writer. */
  readonly author: string
  /** When it was written (hybrid timestamp, ms since epoch). */
  readonly time: number
  /** The message given to `snapshot()` or `rollback()`, if any. */
  readonly message?: string
  /** The keys written, in the order written; empty for a snapshot. */
  readonly changes: readonly HistoryChange[]
  /**
   * Whether `at(id)` / `rollback(id)` can reconstruct this version on this peer now. `false` for a change set that was
   * concurrent with history another peer has pruned already (for good), and for one whose writer had seen writes this
   * peer has not received yet (Yjs integrates a record without the other writers' structs its version includes): it
   * becomes available once this peer caught up with them.
   */
  readonly available: boolean
}

/** Options of `history()`. */
export interface HistoryOptions {
  /** At most this many entries (the newest). Default: all retained. */
  limit?: number
  /** Only change sets that touched this namespace (and only their changes there). */
  namespace?: string
  /** Only change sets that touched this key (of `namespace`, default every namespace). */
  key?: string
  /** Only change sets written by this peer id. */
  author?: string
}

const versions = new WeakMap<HistoryRecord, Version>()

/** The version of a record (cached). */
export function recordVersion(record: HistoryRecord): Version {
  let v = versions.get(record)
  if (v === undefined) {
    v = toVersion(record.version)
    versions.set(record, v)
  }
  return v
}

/**
 * Lists `records` as history entries, newest first, filtered by `options`. `received` is the listing peer's state
 * vector: an entry is available iff its version includes the base's horizon and `received` includes its version.
 */
export function listHistory(
  records: readonly HistoryRecord[],
  base: BaseState,
  received: VectorClock,
  options: HistoryOptions = {},
): HistoryEntry[] {
  const inScope = (w: KeyWrite) =>
    (options.namespace === undefined || w.namespace === options.namespace) &&
    (options.key === undefined || w.key === options.key)
  const filtering = options.namespace !== undefined || options.key !== undefined
  const selected: Array<{ record: HistoryRecord; changes: KeyWrite[] }> = []
  for (const record of [...records].sort(compareRecords).reverse()) {
    if (options.limit !== undefined && selected.length >= options.limit) break
    if (options.author !== undefined && record.author !== options.author) continue
    const changes = filtering ? record.changes.filter(inScope) : [...record.changes]
    if (filtering && changes.length === 0) continue
    selected.push({ record, changes })
  }
  const before = previousValues(
    records,
    base,
    selected.flatMap((s) => s.changes),
  )
  const lost = records.filter((r) => r.lost > 0)
  return selected.map(({ record, changes }) => {
    const v = recordVersion(record)
    const entry: HistoryEntry = {
      id: v.id,
      clock: v.clock,
      author: record.author,
      time: record.t,
      ...(record.message === undefined ? {} : { message: record.message }),
      changes: changes.map((w) => ({
        namespace: w.namespace,
        key: w.key,
        before: before.get(w)?.value,
        after: w.value,
      })),
      available:
        base.lost === 0 &&
        !lost.some((r) => includesStruct(record.version, r.client, r.clock)) &&
        dominates(record.version, base.horizon) &&
        dominates(received, record.version),
    }
    return entry
  })
}

/** For every write in `wanted`: the write of the same key just before it in LWW order (base and all records). */
function previousValues(
  records: readonly HistoryRecord[],
  base: BaseState,
  wanted: readonly KeyWrite[],
): Map<KeyWrite, KeyWrite | undefined> {
  const fk = (w: KeyWrite) => `${w.namespace}\u0000${w.key}`
  const timelines = new Map<string, KeyWrite[]>()
  for (const w of wanted) timelines.set(fk(w), [])
  const add = (w: KeyWrite) => timelines.get(fk(w))?.push(w)
  for (const ns of base.writes.values()) for (const w of ns.values()) add(w)
  for (const r of records) for (const w of r.changes) add(w)
  const out = new Map<KeyWrite, KeyWrite | undefined>()
  for (const line of timelines.values()) {
    line.sort(compareWrites)
    for (let i = 0; i < line.length; i++) {
      // the same write may sit in the base and in a record (pruned by one peer, retained by another): skip copies
      let j = i - 1
      while (j >= 0 && compareStamps(line[j]!, line[i]!) === 0) j--
      out.set(line[i]!, j < 0 ? undefined : line[j])
    }
  }
  return out
}
