/**
 * The schema registry: reads the schemas stored in {@link SCHEMA_NAMESPACE}, checks local writes against them, lists
 * what current values break, and marks changes that break them.
 *
 * Guarantees:
 * - {@link SchemaRegistry.assertValid} runs on every local write batch BEFORE it is applied: a batch with one
 *   violation throws `SchemaValidationError` and nothing of it is written, recorded or sent. A batch is checked
 *   against the schemas as they are AFTER the batch (a batch that changes a schema and values together, e.g. a
 *   rollback, is checked against the schemas it leaves). A schema record that is malformed or does not compile is
 *   refused too (`InvalidSchemaError`).
 * - Each schema version is compiled once (Ajv, cached by JSON text); with no schema stored a write costs one lookup.
 * - Values from peers are never refused: {@link SchemaRegistry.annotate} marks their changes `valid: false` and
 *   counts them, {@link SchemaRegistry.validate} lists every current violation (active rollouts' values included,
 *   marked with the rollout's id). On converged replicas `validate()`
 *   returns the same list everywhere (it is a pure function of the replicated state).
 *
 * Does NOT guarantee: that the mesh never holds an invalid value (a concurrent schema change and write on two peers
 * both pass their local checks; `validate()` then lists the value everywhere).
 *
 * @module
 */
import { assertValidNamespace } from '../config/key.js'
import type { Change, KvStore, WriteOp } from '../config/kv-store.js'
import { assertJsonValue, type JsonValue } from '../config/value.js'
import { InvalidNamespaceError } from '../errors.js'
import type { MeshLogger } from '../logger.js'
import type { SchemaInfo, SetSchemaOptions } from './api.js'
import { type CompiledSchema, createSchemaCompiler } from './compiler.js'
import { InvalidSchemaError, type SchemaIssue, SchemaValidationError } from './errors.js'
import { assertValidKeyPattern, keyMatches } from './key-pattern.js'
import { parseStoredSchema, SCHEMA_NAMESPACE, type StoredSchema, schemaKey } from './stored-schema.js'

/** Namespaces of confmesh itself: no schema may be set on them (leases, writers, schemas, rollouts). */
const INTERNAL_PREFIX = '__confmesh'

/** A change as watchers receive it, with `valid: false` when its new value breaks a schema. */
export type CheckedChange = Change & { readonly valid?: false }

/** Options of {@link createSchemaRegistry}. */
export interface SchemaRegistryInit {
  /** The replica's store (base values, not rollout overlays). */
  store: Pick<KvStore, 'get' | 'entries' | 'meta' | 'onChanges'>
  /** Writes a batch through the mesh's local write path (authorisation, this registry's check, batching). */
  write(ops: WriteOp[]): Promise<void>
  /** Where malformed schemas received from peers are reported. */
  logger: MeshLogger
  /** Values held besides the store's, checked by `validate()` too (active rollouts' values). Default none. */
  extraValues?: () => ReadonlyArray<{ namespace: string; key: string; value: JsonValue; rollout: string }>
}

/** Counters of a registry (in `mesh.diagnostics()` as `schema.*`). */
export interface SchemaCounters {
  /** Changes applied whose new value broke a schema (only peers' values can: local ones are checked first). */
  invalidChanges: number
  /** Schema versions compiled by this process. */
  compiled: number
  /** Stored schema records skipped because they are malformed or do not compile. */
  unusable: number
}

/** See the module documentation. */
export interface SchemaRegistry {
  /** `mesh.setSchema`: checks the schema (and, unless `force`, the current values) and writes it. */
  set(namespace: string, pattern: string, schema: JsonValue, options?: SetSchemaOptions): Promise<void>
  /** `mesh.deleteSchema`: writes the schema's removal. */
  delete(namespace: string, pattern: string): Promise<void>
  /** `mesh.schemas()`. */
  list(): SchemaInfo[]
  /** `mesh.validate()`: every current violation, sorted by namespace then key order of the store. */
  validate(): SchemaIssue[]
  /** Throws `SchemaValidationError` / `InvalidSchemaError` unless every op of the batch is valid (see module doc). */
  assertValid(ops: readonly WriteOp[]): void
  /** Marks the changes whose new value breaks a schema `valid: false` (and counts them). */
  annotate(changes: readonly Change[]): CheckedChange[]
  /** The issues of `value` at (`namespace`, `key`) under the current schemas. */
  check(namespace: string, key: string, value: JsonValue): SchemaIssue[]
  readonly counters: SchemaCounters
}

interface ActiveSchema {
  readonly pattern: string
  readonly validate: CompiledSchema
}

/** Schemas by namespace. */
type SchemaIndex = ReadonlyMap<string, readonly ActiveSchema[]>

/** Creates the registry over `init.store`. */
export function createSchemaRegistry(init: SchemaRegistryInit): SchemaRegistry {
  const { store, logger } = init
  const compiler = createSchemaCompiler()
  const counters = { invalidChanges: 0, unusable: 0 }
  let index: SchemaIndex | undefined

  const compileStored = (s: StoredSchema): ActiveSchema => ({
    pattern: s.pattern,
    validate: compiler.compile(s.schema),
  })

  const current = (): SchemaIndex => {
    if (index !== undefined) return index
    const built = new Map<string, ActiveSchema[]>()
    for (const [key, value] of store.entries(SCHEMA_NAMESPACE)) {
      const stored = parseStoredSchema(key, value)
      let active: ActiveSchema | undefined
      try {
        active = stored === undefined ? undefined : compileStored(stored)
      } catch (err) {
        logger.error(`schema ${key} does not compile, ignored: ${(err as Error).message}`)
      }
      if (stored === undefined || active === undefined) {
        counters.unusable++
        continue
      }
      const list = built.get(stored.namespace) ?? []
      list.push(active)
      built.set(stored.namespace, list)
    }
    index = built
    return built
  }
  store.onChanges((changes) => {
    if (changes.some((c) => c.namespace === SCHEMA_NAMESPACE)) index = undefined
  })

  const issuesIn = (idx: SchemaIndex, namespace: string, key: string, value: JsonValue): SchemaIssue[] => {
    const list = idx.get(namespace)
    if (list === undefined) return []
    const out: SchemaIssue[] = []
    for (const s of list) {
      if (!keyMatches(s.pattern, key)) continue
      for (const i of s.validate(value)) out.push({ namespace, key, pattern: s.pattern, ...i })
    }
    return out
  }

  /** The index after applying the schema ops of a batch; throws on a malformed or uncompilable record. */
  const indexAfter = (ops: readonly WriteOp[]): SchemaIndex => {
    const base = current()
    const schemaOps = ops.filter((o) => o.namespace === SCHEMA_NAMESPACE)
    if (schemaOps.length === 0) return base
    const next = new Map<string, ActiveSchema[]>()
    for (const [ns, list] of base) next.set(ns, [...list])
    for (const op of schemaOps) {
      const previous = parseStoredSchema(op.key, store.get(SCHEMA_NAMESPACE, op.key) ?? null)
      if (previous !== undefined) {
        const list = next.get(previous.namespace) ?? []
        next.set(
          previous.namespace,
          list.filter((s) => s.pattern !== previous.pattern),
        )
      }
      if (op.value === undefined) continue
      const stored = parseStoredSchema(op.key, op.value)
      if (stored === undefined) {
        throw new InvalidSchemaError(
          `${SCHEMA_NAMESPACE}/${op.key}: not a schema record { namespace, pattern, schema } stored under its key`,
        )
      }
      const list = (next.get(stored.namespace) ?? []).filter((s) => s.pattern !== stored.pattern)
      list.push(compileStored(stored))
      next.set(stored.namespace, list)
    }
    return next
  }

  const registry: SchemaRegistry = {
    counters: {
      get invalidChanges() {
        return counters.invalidChanges
      },
      get compiled() {
        return compiler.compiled
      },
      get unusable() {
        return counters.unusable
      },
    },

    async set(namespace, pattern, schema, options = {}) {
      assertValidNamespace(namespace)
      if (namespace.startsWith(INTERNAL_PREFIX)) {
        throw new InvalidNamespaceError(`namespace ${namespace} belongs to confmesh: no schema can be set on it`)
      }
      assertValidKeyPattern(pattern)
      assertJsonValue(schema)
      const compiled = compiler.compile(schema)
      if (options.force !== true) {
        const issues: SchemaIssue[] = []
        for (const [key, value] of store.entries(namespace)) {
          if (!keyMatches(pattern, key)) continue
          for (const i of compiled(value)) issues.push({ namespace, key, pattern, ...i })
        }
        for (const extra of init.extraValues?.() ?? []) {
          if (extra.namespace !== namespace || !keyMatches(pattern, extra.key)) continue
          for (const i of compiled(extra.value))
            issues.push({ namespace, key: extra.key, pattern, ...i, rollout: extra.rollout })
        }
        if (issues.length > 0) {
          throw new SchemaValidationError(
            `schema ${namespace}/${pattern} refused: current values break it (pass { force: true } to store it anyway)`,
            issues,
          )
        }
      }
      const value: StoredSchema = { namespace, pattern, schema: structuredClone(schema) }
      await init.write([{ namespace: SCHEMA_NAMESPACE, key: schemaKey(namespace, pattern), value: { ...value } }])
    },

    async delete(namespace, pattern) {
      assertValidNamespace(namespace)
      assertValidKeyPattern(pattern)
      await init.write([{ namespace: SCHEMA_NAMESPACE, key: schemaKey(namespace, pattern), value: undefined }])
    },

    list() {
      const out: SchemaInfo[] = []
      for (const [key, value] of store.entries(SCHEMA_NAMESPACE)) {
        const s = parseStoredSchema(key, value)
        const meta = store.meta(SCHEMA_NAMESPACE, key)
        if (s !== undefined && meta !== undefined) out.push({ ...s, author: meta.author, time: meta.time })
      }
      return out.sort((a, b) => compare(a.namespace, b.namespace) || compare(a.pattern, b.pattern))
    },

    validate() {
      const idx = current()
      const out: SchemaIssue[] = []
      for (const ns of [...idx.keys()].sort(compare)) {
        for (const [key, value] of store.entries(ns)) out.push(...issuesIn(idx, ns, key, value))
      }
      for (const extra of init.extraValues?.() ?? []) {
        for (const i of issuesIn(idx, extra.namespace, extra.key, extra.value))
          out.push({ ...i, rollout: extra.rollout })
      }
      return out
    },

    assertValid(ops) {
      if (ops.length === 0) return
      const idx = indexAfter(ops)
      if (idx.size === 0) return
      const issues: SchemaIssue[] = []
      for (const op of ops) {
        if (op.value === undefined || op.namespace === SCHEMA_NAMESPACE) continue
        issues.push(...issuesIn(idx, op.namespace, op.key, op.value))
      }
      if (issues.length > 0) throw new SchemaValidationError('write refused by schema', issues)
    },

    annotate(changes) {
      if (changes.some((c) => c.namespace === SCHEMA_NAMESPACE)) index = undefined
      const idx = current()
      if (idx.size === 0) return changes as CheckedChange[]
      return changes.map((c) => {
        if (c.value === undefined || issuesIn(idx, c.namespace, c.key, c.value).length === 0) return c
        counters.invalidChanges++
        return { ...c, valid: false as const }
      })
    },

    check(namespace, key, value) {
      return issuesIn(current(), namespace, key, value)
    },
  }
  return registry
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
