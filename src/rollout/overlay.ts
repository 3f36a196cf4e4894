/**
 * What this peer sees while rollouts are active: the base value of a key, or the value of the newest active rollout
 * of that key whose group this peer is in (see `assignment.ts`). Reads through {@link RolloutOverlay.view} (every
 * namespace's `get`/`entries`, hence the HTTP API and rendered files) and watch events through
 * {@link RolloutOverlay.translate} show that effective value.
 *
 * Guarantees: a watcher is called exactly when the effective value changes: a base change hidden by a rollout this
 * peer is in fires nothing; a rollout step (start, widen, promote, abort, a rollback) fires an event on every peer
 * whose effective value it changes, and none elsewhere. Version views, history and rollback work on base values.
 *
 * @module
 */
import type { Change, KvStore } from '../config/kv-store.js'
import { type JsonValue, jsonEqual } from '../config/value.js'
import { inRollout } from './assignment.js'
import { parseRolloutRecord, ROLLOUT_NAMESPACE, type RolloutRecord } from './record.js'

/** An active rollout and its id. */
export interface ActiveRollout {
  readonly id: string
  readonly record: RolloutRecord
}

/** Active rollouts by target (`namespace \0 key`), newest first (by `started`, then id). */
type RolloutIndex = ReadonlyMap<string, readonly ActiveRollout[]>

const target = (namespace: string, key: string): string => `${namespace}\u0000${key}`

/** Options of {@link createRolloutOverlay}. */
export interface RolloutOverlayInit {
  /** The replica's store (base values). */
  store: KvStore
  /** This peer's id. */
  self: string
  /** This peer's tags. */
  tags: Readonly<Record<string, string>>
}

/** See the module documentation. */
export interface RolloutOverlay {
  /** Every active rollout, newest first. */
  active(): ActiveRollout[]
  /** The newest active rollout of (`namespace`, `key`), whoever is in it. */
  activeFor(namespace: string, key: string): ActiveRollout | undefined
  /** The rollout value this peer sees at (`namespace`, `key`), or `undefined` (it sees the base value). */
  effective(namespace: string, key: string): { value: JsonValue; id: string } | undefined
  /** The store as this peer sees it: `get`/`has`/`entries` give effective values, everything else is the store's. */
  readonly view: KvStore
  /** Maps one transaction's base changes to changes of effective values (call once per transaction, in order). */
  translate(changes: readonly Change[]): Change[]
}

/** Creates the overlay over `init.store`. */
export function createRolloutOverlay(init: RolloutOverlayInit): RolloutOverlay {
  const { store, self, tags } = init
  const build = (): RolloutIndex => {
    const out = new Map<string, ActiveRollout[]>()
    for (const [id, value] of store.entries(ROLLOUT_NAMESPACE)) {
      const record = parseRolloutRecord(value)
      if (record === undefined) continue
      const t = target(record.namespace, record.key)
      const list = out.get(t) ?? []
      list.push({ id, record })
      out.set(t, list)
    }
    for (const list of out.values()) {
      list.sort((a, b) => b.record.started - a.record.started || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    }
    return out
  }
  let index = build()
  const effectiveIn = (idx: RolloutIndex, namespace: string, key: string) => {
    const list = idx.get(target(namespace, key))
    if (list === undefined) return undefined
    for (const r of list) if (inRollout(r.id, r.record, self, tags)) return { value: r.record.value, id: r.id }
    return undefined
  }
  const compareKeys = (a: [string, JsonValue], b: [string, JsonValue]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)

  const view: KvStore = {
    get: (namespace, key) =>
      index.size === 0
        ? store.get(namespace, key)
        : (effectiveIn(index, namespace, key)?.value ?? store.get(namespace, key)),
    has: (namespace, key) => view.get(namespace, key) !== undefined,
    entries(namespace) {
      const base = store.entries(namespace)
      if (index.size === 0) return base
      const merged = new Map(base)
      let touched = false
      for (const list of index.values()) {
        const r = list[0]
        if (r === undefined || r.record.namespace !== namespace) continue
        const e = effectiveIn(index, namespace, r.record.key)
        if (e === undefined) continue
        merged.set(r.record.key, e.value)
        touched = true
      }
      return touched ? [...merged].sort(compareKeys) : base
    },
    namespaces: () => store.namespaces(),
    meta: (namespace, key) => store.meta(namespace, key),
    forEachWinner: (fn) => store.forEachWinner(fn),
    write: (ops, meta) => store.write(ops, meta),
    onChanges: (listener) => store.onChanges(listener),
    entryCount: () => store.entryCount(),
    destroy: () => store.destroy(),
  }

  return {
    view,
    active: () => [...index.values()].flat().sort((a, b) => b.record.started - a.record.started),
    activeFor: (namespace, key) => index.get(target(namespace, key))?.[0],
    effective: (namespace, key) => effectiveIn(index, namespace, key),
    translate(changes) {
      const stepped = changes.filter((c) => c.namespace === ROLLOUT_NAMESPACE)
      if (stepped.length === 0 && index.size === 0) return changes as Change[]
      const before = index
      if (stepped.length > 0) index = build()
      const out: Change[] = []
      const seen = new Set<string>()
      for (const c of changes) {
        if (c.namespace === ROLLOUT_NAMESPACE) {
          out.push(c) // the step itself, for watchAll
          continue
        }
        seen.add(target(c.namespace, c.key))
        const previous = effectiveIn(before, c.namespace, c.key)?.value ?? c.previous
        const value = effectiveIn(index, c.namespace, c.key)?.value ?? c.value
        if (!jsonEqual(previous, value)) out.push({ ...c, previous, value })
      }
      // targets of rollout steps whose base did not change in this transaction
      for (const step of stepped) {
        for (const raw of [step.previous, step.value]) {
          const r = parseRolloutRecord(raw)
          if (r === undefined || seen.has(target(r.namespace, r.key))) continue
          seen.add(target(r.namespace, r.key))
          const base = store.get(r.namespace, r.key)
          const previous = effectiveIn(before, r.namespace, r.key)?.value ?? base
          const value = effectiveIn(index, r.namespace, r.key)?.value ?? base
          if (jsonEqual(previous, value)) continue
          out.push({ ...step, namespace: r.namespace, key: r.key, previous, value })
        }
      }
      return out
    },
  }
}
