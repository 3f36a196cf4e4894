/**
 * The schema API every mesh exposes (`ConfigMesh` extends it). See the README section "Schemas".
 *
 * @module
 */
import type { JsonValue } from '../config/value.js'
import type { SchemaIssue } from './errors.js'

/** Options of `setSchema`. */
export interface SetSchemaOptions {
  /** Store the schema even though current values break it (they stay, and `validate()` lists them). Default false. */
  readonly force?: boolean
}

/** A schema as `schemas()` lists it. */
export interface SchemaInfo {
  /** Namespace whose keys it checks. */
  readonly namespace: string
  /** Exact key or glob (`*` any run of characters, `?` one) of the keys it checks. */
  readonly pattern: string
  /** The JSON Schema. */
  readonly schema: JsonValue
  /** Peer id of the writer that stored this version of it. */
  readonly author: string
  /** Hybrid-clock time of that write (ms since epoch). */
  readonly time: number
}

/** Replicated JSON Schemas checked on every local write. */
export interface MeshSchemas {
  /**
   * Stores `jsonSchema` (JSON Schema 2020-12, or draft-07 by `$schema`) for the keys of `namespace` matching
   * `keyPattern` (an exact key or a glob such as `limits.*`). From then on every local write of a matching key
   * (`set`, `update`, `rollback`, rollouts) must satisfy it, or throws `SchemaValidationError` and changes nothing.
   * A schema is config: replicated, versioned, in history, writers only. Throws `SchemaValidationError` listing the
   * offending keys when current values break it (unless `force`), `InvalidSchemaError` when it does not compile.
   */
  setSchema(namespace: string, keyPattern: string, jsonSchema: JsonValue, options?: SetSchemaOptions): Promise<void>
  /** Removes the schema of (`namespace`, `keyPattern`) (a no-op if absent). */
  deleteSchema(namespace: string, keyPattern: string): Promise<void>
  /** Every stored schema, sorted by namespace and pattern. */
  schemas(): SchemaInfo[]
  /**
   * The current values that break a stored schema: values that arrived from peers are never refused (replicas must
   * converge; a peer may hold an older schema), so they are listed here instead. Empty when everything is valid.
   */
  validate(): SchemaIssue[]
}
