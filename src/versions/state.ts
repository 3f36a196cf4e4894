/**
 * The configuration at a version: per key, the last-writer-wins winner among the compacted base and every retained
 * history record the version includes. Pure functions over parsed records; nothing here touches the document.
 *
 * @module
 */
import type { JsonValue } from '../config/value.js'
import { compareWrites, type KeyWrite } from '../doc/lww.js'
import type { BaseState } from './base.js'
import type { HistoryRecord } from './record.js'
import { includesStruct, type VectorClock } from './vector-clock.js'

/** namespace -> key -> winning write (deletes included as `value: undefined`). */
export type ConfigState = ReadonlyMap<string, ReadonlyMap<string, KeyWrite>>

/**
 * The state at `clock` (every retained record when `clock` is undefined), on top of `base`. The caller checks that
 * `clock` includes the base's horizon; otherwise the result mixes pruned writes the version does not include.
 */
export function stateAt(base: BaseState, records: Iterable<HistoryRecord>, clock?: VectorClock): ConfigState {
  const out = new Map<string, Map<string, KeyWrite>>()
  for (const [name, keys] of base.writes) out.set(name, new Map(keys))
  for (const record of records) {
    if (clock !== undefined && !includesStruct(clock, record.client, record.clock)) continue
    for (const w of record.changes) {
      let ns = out.get(w.namespace)
      if (ns === undefined) {
        ns = new Map()
        out.set(w.namespace, ns)
      }
      const current = ns.get(w.key)
      if (current === undefined || compareWrites(w, current) > 0) ns.set(w.key, w)
    }
  }
  return out
}

/** The visible value of `namespace`/`key` in `state`. */
export function valueIn(state: ConfigState, namespace: string, key: string): JsonValue | undefined {
  return state.get(namespace)?.get(key)?.value
}

/** Visible `[key, value]` pairs of a namespace, sorted by key. */
export function entriesIn(state: ConfigState, namespace: string): Array<[string, JsonValue]> {
  const ns = state.get(namespace)
  if (ns === undefined) return []
  const out: Array<[string, JsonValue]> = []
  for (const [k, w] of ns) if (w.value !== undefined) out.push([k, w.value])
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
}

/** Names of namespaces with at least one visible key, sorted. */
export function namespacesIn(state: ConfigState): string[] {
  const out: string[] = []
  for (const [name, ns] of state) {
    for (const w of ns.values()) {
      if (w.value !== undefined) {
        out.push(name)
        break
      }
    }
  }
  return out.sort()
}
