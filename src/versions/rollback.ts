/**
 * Rollback planning: the write batch that makes the live configuration (or one namespace, or some keys of one
 * namespace) equal to a past version again.
 *
 * A rollback is an ordinary forward change: every key whose live value differs from the target gets a fresh write
 * (a set, or a delete for keys the target did not have) with a new hybrid timestamp. So it reaches every peer like any
 * write, appears in history, and meets concurrent writes under last-writer-wins, key by key: a write made elsewhere
 * after the rollback's timestamp wins its key, an earlier concurrent one loses it. Keys that already equal the target
 * are not written.
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
import type { Version } from './vector-clock.js'

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

/** Options of `rollback()`. */
export interface RollbackOptions extends ChangeScope {
  /** Only this namespace. Default: every namespace but internal ones (or `'default'` when `keys` is given). */
  readonly namespace?: string
  /** Only these keys of `namespace`. Default: every key. */
  readonly keys?: readonly string[]
  /** History message. Default `rollback to <id>` (plus the scope). */
  readonly message?: string
}

/** What a rollback did. */
export interface RollbackResult {
  /** The version right after the rollback's change set (a new version, after every earlier one on this peer). */
  readonly version: Version
  /** The keys written: `before` = live value before the rollback, `after` = the restored value. */
  readonly changes: readonly HistoryChange[]
}

/** Read access to the live configuration. */
export interface LiveConfig {
  get(namespace: string, key: string): JsonValue | undefined
  entries(namespace: string): Array<[string, JsonValue]>
  namespaces(): string[]
}

/** Validates `options` and returns the scope it names (`keys` imply a namespace, by default `'default'`). */
export function resolveRollbackScope(options: RollbackOptions = {}): ChangeScope {
  if (options === null || typeof options !== 'object') throw new TypeError('rollback options must be an object')
  const { namespace, keys } = options
  if (namespace !== undefined) assertValidNamespace(namespace)
  if (keys === undefined) return namespace === undefined ? {} : { namespace }
  if (!Array.isArray(keys)) throw new TypeError('rollback option keys must be an array of keys')
  for (const k of keys) assertValidKey(k)
  return { namespace: namespace ?? DEFAULT_NAMESPACE, keys: [...new Set(keys)] }
}

/** The writes that make `live` equal to `target` within `scope`, and the changes they make. */
export function planRollback(
  target: ConfigState,
  live: LiveConfig,
  scope: ChangeScope,
): { ops: WriteOp[]; changes: HistoryChange[] } {
  const names =
    scope.namespace !== undefined
      ? [scope.namespace]
      : [...new Set([...target.keys(), ...live.namespaces()])].filter((n) => !isInternalNamespace(n)).sort(compareText)
  const ops: WriteOp[] = []
  const changes: HistoryChange[] = []
  for (const namespace of names) {
    const keys =
      scope.keys ??
      [...new Set([...(target.get(namespace)?.keys() ?? []), ...live.entries(namespace).map(([k]) => k)])].sort(
        compareText,
      )
    for (const key of keys) {
      const want = target.get(namespace)?.get(key)?.value
      const have = live.get(namespace, key)
      if (jsonEqual(want, have)) continue
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
