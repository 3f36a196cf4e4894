/**
 * Rollback planning: the write batch that makes the live configuration (or one namespace, or some keys of one
 * namespace) equal to a past version again.
 *
 * A rollback is an ordinary forward change: keys get fresh writes (a set, or a tombstone for keys the target did not
 * have) with a new hybrid timestamp. So it reaches every peer like any write, appears in history, and meets concurrent
 * writes under last-writer-wins, key by key: a write made elsewhere after the rollback's timestamp wins its key, an
 * earlier one loses it, including one that reaches this peer only after the rollback. For that, a rollback writes not
 * only the keys whose live value differs from the target, but every key some peer may have changed since the target:
 * - every key named in `keys`, even when it already equals the target here (a tombstone where the target had none);
 * - every key whose winning entry here is newer than the target (not included in the target's clock), even when its
 *   value equals the target's (a key changed and changed back, or deleted and absent at the target too);
 * - with `rewrite: 'all'`, every key of the scope this peer knows.
 *
 * Guaranteed: after the rollback's writes have reached every peer, each key it wrote holds the target value unless a
 * write with a later hybrid timestamp was made. Not guaranteed: a key the rollback did not write (by default: equal
 * to the target here and last written at or before the target) keeps a concurrent earlier write this peer has not
 * received; name the keys or pass `rewrite: 'all'` when that matters. A key this peer has never heard of cannot be
 * rolled back unless named.
 *
 * @module
 */
import { assertValidKey, assertValidNamespace } from '../config/key.js'
import type { WriteOp } from '../config/kv-store.js'
import { DEFAULT_NAMESPACE } from '../config/namespace.js'
import { type JsonValue, jsonEqual } from '../config/value.js'
import { ROLLOUT_NAMESPACE } from '../rollout/record.js'
import { SCHEMA_NAMESPACE } from '../schema/stored-schema.js'
import type { ChangeScope, HistoryChange } from './diff.js'
import { compareText } from './diff.js'
import type { ConfigState } from './state.js'
import { includesStruct, type VectorClock, type Version } from './vector-clock.js'
import type { VersionWaitOptions } from './version-wait.js'

/**
 * Namespaces whose names start with this prefix belong to confmesh itself (the writer set, lease records): a rollback
 * of the whole config leaves them alone (rolling back a writer set or lease tokens must be deliberate); naming one in
 * `namespace` rolls it back like any other.
 */
export const INTERNAL_NAMESPACE_PREFIX = '__confmesh'

/**
 * Internal namespaces that ARE config and roll back with everything else: schemas (`src/schema`) and active rollouts
 * (`src/rollout`). A whole-config rollback restores the schemas and rollouts of the target version together with its
 * values, and is checked against those schemas.
 */
export const ROLLED_BACK_INTERNAL_NAMESPACES: ReadonlySet<string> = new Set([SCHEMA_NAMESPACE, ROLLOUT_NAMESPACE])

/** Whether `namespace` is internal (see {@link INTERNAL_NAMESPACE_PREFIX}) and left alone by a whole rollback. */
export function isInternalNamespace(namespace: string): boolean {
  return namespace.startsWith(INTERNAL_NAMESPACE_PREFIX) && !ROLLED_BACK_INTERNAL_NAMESPACES.has(namespace)
}

/** Which keys of the scope a rollback writes (see the module comment). */
export type RollbackRewrite = 'changed' | 'all'

/** Options of `rollback()`. */
export interface RollbackOptions extends ChangeScope, VersionWaitOptions {
  /** Only this namespace. Default: every namespace but internal ones (or `'default'` when `keys` is given). */
  readonly namespace?: string
  /** Only these keys of `namespace`; each is written even if it already equals the target. Default: every key. */
  readonly keys?: readonly string[]
  /**
   * `'changed'`: keys whose value differs from the target or whose entry is newer than the target, and every named
   * key. `'all'`: every key of the scope this peer knows (wins over concurrent writes of keys unchanged here, at the
   * cost of writing them all). Default `'changed'`.
   */
  readonly rewrite?: RollbackRewrite
  /** History message. Default `rollback to <id>` (plus the scope). */
  readonly message?: string
}

/** What a rollback did. */
export interface RollbackResult {
  /** The version right after the rollback's change set (a new version, after every earlier one on this peer). */
  readonly version: Version
  /**
   * The keys written: `before` = live value before the rollback, `after` = the restored value (equal for a key that
   * was written only to win over writes this peer may not have received).
   */
  readonly changes: readonly HistoryChange[]
}

/** Read access to the live configuration (the key-value store). */
export interface LiveConfig {
  /** The visible value of a key. */
  get(namespace: string, key: string): JsonValue | undefined
  /** Every key with a known winning entry (tombstones included) and that entry's Yjs id. */
  forEachWinner(fn: (namespace: string, key: string, client: number, clock: number, deleted: boolean) => void): void
}

/** Validates `options` and returns the scope it names (`keys` imply a namespace, by default `'default'`). */
export function resolveRollbackScope(options: RollbackOptions = {}): ChangeScope {
  if (options === null || typeof options !== 'object') throw new TypeError('rollback options must be an object')
  const { namespace, keys } = options
  if (namespace !== undefined) assertValidNamespace(namespace)
  if (options.rewrite !== undefined && options.rewrite !== 'changed' && options.rewrite !== 'all') {
    throw new TypeError(`rollback option rewrite must be 'changed' or 'all', got ${String(options.rewrite)}`)
  }
  if (keys === undefined) return namespace === undefined ? {} : { namespace }
  if (!Array.isArray(keys)) throw new TypeError('rollback option keys must be an array of keys')
  for (const k of keys) assertValidKey(k)
  return { namespace: namespace ?? DEFAULT_NAMESPACE, keys: [...new Set(keys)] }
}

/**
 * The writes that make `live` equal to `target` (the state at `targetClock`) within `scope`, and the changes they
 * make: see the module comment for which keys are written.
 */
export function planRollback(
  target: ConfigState,
  targetClock: VectorClock,
  live: LiveConfig,
  scope: ChangeScope,
  rewrite: RollbackRewrite = 'changed',
): { ops: WriteOp[]; changes: HistoryChange[] } {
  const inScope = (namespace: string): boolean =>
    scope.namespace !== undefined ? namespace === scope.namespace : !isInternalNamespace(namespace)
  /** namespace -> key -> whether it must be written whatever its value */
  const candidates = new Map<string, Map<string, boolean>>()
  const add = (namespace: string, key: string, force: boolean): void => {
    let keys = candidates.get(namespace)
    if (keys === undefined) {
      keys = new Map()
      candidates.set(namespace, keys)
    }
    if (force || !keys.has(key)) keys.set(key, force || keys.get(key) === true)
  }
  if (scope.keys !== undefined) {
    for (const key of scope.keys) add(scope.namespace ?? '', key, true)
  } else {
    for (const [namespace, keys] of target) {
      if (inScope(namespace)) for (const key of keys.keys()) add(namespace, key, rewrite === 'all')
    }
    live.forEachWinner((namespace, key, client, clock) => {
      if (inScope(namespace)) add(namespace, key, rewrite === 'all' || !includesStruct(targetClock, client, clock))
    })
  }
  const ops: WriteOp[] = []
  const changes: HistoryChange[] = []
  for (const namespace of [...candidates.keys()].sort(compareText)) {
    const keys = candidates.get(namespace)!
    for (const key of [...keys.keys()].sort(compareText)) {
      const want = target.get(namespace)?.get(key)?.value
      const have = live.get(namespace, key)
      if (keys.get(key) !== true && jsonEqual(want, have)) continue
      ops.push({ namespace, key, value: want })
      changes.push({ namespace, key, before: have, after: want })
    }
  }
  return { ops, changes }
}

/** The default history message of a rollback. */
export function rollbackMessage(id: string, scope: ChangeScope): string {
  if (scope.keys !== undefined) return `rollback to ${id} (${scope.namespace}: ${scope.keys.join(', ')})`
  if (scope.namespace !== undefined) return `rollback to ${id} (namespace ${scope.namespace})`
  return `rollback to ${id}`
}
