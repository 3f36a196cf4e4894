/**
 * Flags as config: one key per flag in a namespace (default {@link DEFAULT_FLAG_NAMESPACE}), its value the flag's
 * flagd definition unchanged (`state`, `variants`, `defaultVariant`, `targeting`, `metadata`). The flag set's shared
 * evaluators and metadata sit under the reserved keys {@link EVALUATORS_KEY} and {@link METADATA_KEY}. Reassembled,
 * the namespace is a flagd flag file again.
 *
 * @module
 */
import type { JsonValue } from '../config/value.js'

/** Namespace flags live in by default. */
export const DEFAULT_FLAG_NAMESPACE = 'flags'
/** Key of the flag file's `$evaluators` (shared targeting rules referenced by `$ref`). */
export const EVALUATORS_KEY = '$evaluators'
/** Key of the flag file's `metadata` (flag-set metadata). */
export const METADATA_KEY = '$metadata'

/** A flagd flag file. */
export interface FlagFile {
  flags: Record<string, JsonValue>
  $evaluators?: Record<string, JsonValue>
  metadata?: Record<string, JsonValue>
}

/** The flag file a namespace's entries stand for. */
export function flagFileOf(entries: ReadonlyArray<[string, JsonValue]>): FlagFile {
  const file: FlagFile = { flags: {} }
  for (const [key, value] of entries) {
    if (key === EVALUATORS_KEY) {
      if (isObject(value)) file.$evaluators = value
    } else if (key === METADATA_KEY) {
      if (isObject(value)) file.metadata = value
    } else {
      file.flags[key] = value
    }
  }
  return file
}

/** Whether `v` is a JSON object (not an array, not null). */
export function isObject(v: unknown): v is Record<string, JsonValue> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/**
 * Whether the flag's targeting is a `fractional` split at its root (after resolving a root `$ref`): its targeting
 * matches are then reported with reason `SPLIT`. (flagd-core reports every targeting match as `TARGETING_MATCH`; a
 * split nested in an `if` stays `TARGETING_MATCH`.)
 */
export function isRootSplit(flag: JsonValue, evaluators: Record<string, JsonValue> | undefined): boolean {
  if (!isObject(flag) || !isObject(flag.targeting)) return false
  let root: JsonValue = flag.targeting
  const ref = root.$ref
  if (typeof ref === 'string' && Object.keys(root).length === 1 && evaluators !== undefined) {
    root = evaluators[ref] ?? root
  }
  return isObject(root) && Object.keys(root).length === 1 && 'fractional' in root
}
