/**
 * How a schema is stored: one key per (namespace, key pattern) in the reserved namespace {@link SCHEMA_NAMESPACE},
 * last-writer-wins like any config. The key is `JSON.stringify([namespace, pattern])` (a key may not hold control
 * characters, so no separator would be safe); the value repeats both next to the schema, so a reader never parses keys.
 *
 * @module
 */
import type { JsonValue } from '../config/value.js'

/** Reserved namespace holding every schema. Replicated, versioned and rolled back like any config. */
export const SCHEMA_NAMESPACE = '__confmesh.schemas'

/** The stored value of one schema. */
export interface StoredSchema {
  /** Namespace whose keys it checks. */
  readonly namespace: string
  /** Exact key or glob (`*`, `?`) of the keys it checks. */
  readonly pattern: string
  /** The JSON Schema (2020-12 by default; draft-07 when its `$schema` says so). */
  readonly schema: JsonValue
}

/** The key under which the schema of (`namespace`, `pattern`) is stored. */
export function schemaKey(namespace: string, pattern: string): string {
  return JSON.stringify([namespace, pattern])
}

/** Parses a stored value; `undefined` if it is not a schema record stored under `key`. */
export function parseStoredSchema(key: string, value: JsonValue | undefined): StoredSchema | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
  const { namespace, pattern, schema } = value
  if (typeof namespace !== 'string' || typeof pattern !== 'string' || schema === undefined) return undefined
  if (schemaKey(namespace, pattern) !== key) return undefined
  return { namespace, pattern, schema }
}
