/**
 * Errors of replicated schemas (`mesh.setSchema`, the local write check).
 *
 * @module
 */
import { ConfmeshError } from '../errors.js'

/** One reason a value breaks a schema. */
export interface SchemaIssue {
  /** Namespace of the key. */
  readonly namespace: string
  /** The key whose value breaks the schema. */
  readonly key: string
  /** The key pattern of the schema that refused it. */
  readonly pattern: string
  /** JSON pointer inside the value (`''` for the value itself), as Ajv reports it. */
  readonly path: string
  /** What is wrong, e.g. `must be <= 100`. */
  readonly message: string
  /** Set when the value is an active rollout's (`validate()` checks rollout values too): the rollout's id. */
  readonly rollout?: string
}

/**
 * A local write (or a `setSchema` the current values break) was refused by a schema. Nothing was written and nothing
 * was sent. `issues` lists every violation; `keys` the offending keys as `namespace/key`.
 */
export class SchemaValidationError extends ConfmeshError {
  static override readonly code: string = 'ERR_SCHEMA_VALIDATION'
  /** Every violation found. */
  readonly issues: readonly SchemaIssue[]
  /** The offending keys, `namespace/key`, sorted and without duplicates. */
  readonly keys: readonly string[]

  constructor(message: string, issues: readonly SchemaIssue[]) {
    const keys = [...new Set(issues.map((i) => `${i.namespace}/${i.key}`))].sort()
    const shown = issues
      .slice(0, 5)
      .map((i) => `${i.namespace}/${i.key}${i.path}: ${i.message}`)
      .join('; ')
    super(`${message}: ${shown}${issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''}`)
    this.issues = issues
    this.keys = keys
  }
}

/** A JSON Schema could not be compiled (not a schema, unknown `$schema`, bad `$ref`), or a key pattern is invalid. */
export class InvalidSchemaError extends ConfmeshError {
  static override readonly code: string = 'ERR_INVALID_SCHEMA'
}
