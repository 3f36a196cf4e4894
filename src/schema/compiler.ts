/**
 * Compiles JSON Schemas with Ajv: draft 2020-12 (`ajv/dist/2020`) by default, draft-07 when the schema says so in
 * `$schema` (valibot's `toJsonSchema` default). Formats from `ajv-formats`. Every compiled validator is cached by the
 * schema's JSON text, so a schema version is compiled once per process however often it is used or re-read.
 *
 * A schema's top-level `$id` is ignored (two stored schemas may share one; Ajv would refuse the second).
 *
 * @module
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import type { JsonValue } from '../config/value.js'
import { InvalidSchemaError } from './errors.js'

// ajv-formats is CommonJS with `exports.default`
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (
  ajv: Ajv | Ajv2020,
) => void

const DRAFT_07 = /^https?:\/\/json-schema\.org\/draft-07\/schema#?$/

/** A compiled schema: returns the violations of `value` (empty when valid). */
export type CompiledSchema = (value: unknown) => Array<{ path: string; message: string }>

/** Compiles schemas, caching validators by JSON text. */
export interface SchemaCompiler {
  /** Compiles `schema` (cached); throws {@link InvalidSchemaError} when it is not a usable JSON Schema. */
  compile(schema: JsonValue): CompiledSchema
  /** Validators compiled so far (for diagnostics and tests). */
  readonly compiled: number
}

/** Most validators kept; past it the cache starts over (a mesh holds a handful of schemas). */
const MAX_CACHED = 1_000

/** Creates a compiler with its own Ajv instances. */
export function createSchemaCompiler(): SchemaCompiler {
  const options = { allErrors: true, strict: false, validateFormats: true } as const
  const ajv2020 = new Ajv2020(options)
  const ajv07 = new Ajv(options)
  addFormats(ajv2020)
  addFormats(ajv07)
  const cache = new Map<string, CompiledSchema>()
  let compiled = 0
  return {
    get compiled() {
      return compiled
    },
    compile(schema) {
      const text = JSON.stringify(schema)
      const hit = cache.get(text)
      if (hit !== undefined) return hit
      if (typeof schema !== 'boolean' && (schema === null || typeof schema !== 'object' || Array.isArray(schema))) {
        throw new InvalidSchemaError('a JSON Schema must be an object or a boolean')
      }
      let validate: ValidateFunction
      try {
        const copy = typeof schema === 'boolean' ? schema : { ...(schema as Record<string, JsonValue>) }
        let ajv: Ajv | Ajv2020 = ajv2020
        if (typeof copy === 'object') {
          delete copy.$id
          if (typeof copy.$schema === 'string' && DRAFT_07.test(copy.$schema)) {
            ajv = ajv07
            delete copy.$schema
          }
        }
        validate = ajv.compile(copy)
      } catch (err) {
        throw new InvalidSchemaError(`not a usable JSON Schema: ${(err as Error).message}`, { cause: err })
      }
      const fn: CompiledSchema = (value) => (validate(value) ? [] : issuesOf(validate.errors ?? []))
      if (cache.size >= MAX_CACHED) cache.clear()
      cache.set(text, fn)
      compiled++
      return fn
    },
  }
}

function issuesOf(errors: readonly ErrorObject[]): Array<{ path: string; message: string }> {
  return errors.map((e) => {
    const extra =
      e.keyword === 'additionalProperties'
        ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
        : ''
    return { path: e.instancePath, message: `${e.message ?? e.keyword}${extra}` }
  })
}
