/**
 * `mesh.importFlags(json)`: loads a flagd flag file into a namespace, unchanged, after checking it against flagd's
 * flag-definition schema (the validators `@openfeature/flagd-core` ships, in strict mode) and building every flag
 * with flagd-core. A file that fails either is refused with {@link InvalidFlagsError} and nothing is written; a good
 * one is written as ONE change (one version in history, one gossip message).
 *
 * @module
 */
import { MemoryStorage } from '@openfeature/flagd-core'
import type { Namespace } from '../config/namespace.js'
import type { JsonValue } from '../config/value.js'
import { InvalidFlagsError } from './errors.js'
import { DEFAULT_FLAG_NAMESPACE, EVALUATORS_KEY, isObject, METADATA_KEY } from './flag-set.js'
import { silentLogger } from './silent-logger.js'

/** Options of `importFlags`. */
export interface ImportFlagsOptions {
  /** Namespace to load into. Default `'flags'`. */
  readonly namespace?: string
  /** Delete flags of the namespace that the file does not have. Default false (the file's flags are added/replaced). */
  readonly replace?: boolean
}

/** What `importFlags` wrote. */
export interface ImportFlagsResult {
  /** Keys of the flags in the file, sorted. */
  readonly flags: string[]
}

/** Validates `json` (a flagd flag file, as text or parsed) and writes it into the namespace `namespaceOf` returns. */
export async function importFlags(
  namespaceOf: (name: string) => Namespace,
  json: string | JsonValue,
  options: ImportFlagsOptions = {},
): Promise<ImportFlagsResult> {
  const text = typeof json === 'string' ? json : JSON.stringify(json)
  let file: JsonValue
  try {
    file = JSON.parse(text) as JsonValue
  } catch (err) {
    throw new InvalidFlagsError(`flag file is not JSON: ${(err as Error).message}`)
  }
  try {
    new MemoryStorage(silentLogger).setConfigurations(text, true) // flagd's schema, then flagd-core's own checks
  } catch (err) {
    const cause = (err as { cause?: Error }).cause
    throw new InvalidFlagsError(`${(err as Error).message}${cause === undefined ? '' : `: ${cause.message}`}`, {
      cause: err,
    })
  }
  if (!isObject(file) || !isObject(file.flags)) throw new InvalidFlagsError('flag file has no "flags" object')
  const flags = file.flags
  for (const reserved of [EVALUATORS_KEY, METADATA_KEY]) {
    if (reserved in flags) throw new InvalidFlagsError(`flag key ${reserved} is reserved by confmesh`)
  }
  const ns = namespaceOf(options.namespace ?? DEFAULT_FLAG_NAMESPACE)
  const changes: Record<string, JsonValue | undefined> = {}
  if (options.replace === true) for (const key of ns.keys()) changes[key] = undefined
  Object.assign(changes, flags)
  if (isObject(file.$evaluators)) changes[EVALUATORS_KEY] = file.$evaluators
  if (isObject(file.metadata)) changes[METADATA_KEY] = file.metadata
  await ns.update(changes)
  return { flags: Object.keys(flags).sort() }
}
