/**
 * `ConfmeshProvider`: an OpenFeature server provider whose flags are config in a namespace of the mesh (flagd's flag
 * definition format, see `flag-set.ts`), evaluated in this process by `@openfeature/flagd-core`: no flag server, no
 * network on the evaluation path, offline like every read of the mesh.
 *
 * Guarantees:
 * - Evaluation reads a flag set built once per change of the namespace (not per call): reasons as flagd-core reports
 *   them (`STATIC`, `TARGETING_MATCH`, `DEFAULT`, `DISABLED`, `ERROR` with `FLAG_NOT_FOUND`, `TYPE_MISMATCH`,
 *   `PARSE_ERROR`, `GENERAL`), plus `SPLIT` for a targeting match of a flag whose targeting is a root `fractional`.
 * - A flag that does not build (from a peer: peers' values are never refused) resolves to the caller's default with
 *   `PARSE_ERROR`; the other flags keep working.
 * - Any change of the namespace, made here or on any peer, emits `PROVIDER_CONFIGURATION_CHANGED` once per batch with
 *   the keys of the flags whose definition changed (flagd-core's diff: added, removed, changed; a changed `$evaluators`
 *   lists every flag using it). Rollouts of a flag key apply: a peer in the group evaluates the rolled-out definition.
 *
 * @module
 */
import {
  ErrorCode,
  type EvaluationContext,
  type JsonValue,
  type Logger,
  type ResolutionDetails,
} from '@openfeature/core'
import { FlagdCore, MemoryStorage } from '@openfeature/flagd-core'
import {
  type FlagValue,
  type FlagValueType,
  OpenFeatureEventEmitter,
  type Provider,
  ProviderEvents,
} from '@openfeature/server-sdk'
import type { Namespace } from '../config/namespace.js'
import { DEFAULT_FLAG_NAMESPACE, type FlagFile, flagFileOf, isRootSplit } from './flag-set.js'
import { silentLogger } from './silent-logger.js'

/** What the provider needs from a mesh (a `ConfigMesh` fits). */
export interface FlagSource {
  namespace(name: string): Namespace
}

/** Options of {@link ConfmeshProvider}. */
export interface ConfmeshProviderOptions {
  /** Namespace holding the flags. Default `'flags'`. */
  readonly namespace?: string
}

/** See the module documentation. */
export class ConfmeshProvider implements Provider {
  /** Provider metadata: `{ name: 'confmesh' }`. */
  readonly metadata = { name: 'confmesh' } as const
  /** A server-side provider. */
  readonly runsOn = 'server' as const
  /** Emits `PROVIDER_CONFIGURATION_CHANGED` with `flagsChanged`. */
  readonly events = new OpenFeatureEventEmitter()
  private readonly ns: Namespace
  private readonly core = new FlagdCore(new MemoryStorage(silentLogger), silentLogger)
  /** Flags that did not build, with why. */
  private broken = new Map<string, string>()
  /** Flags whose targeting matches are splits. */
  private splits = new Set<string>()
  private unsubscribe: (() => void) | undefined
  private rebuildQueued = false

  /** Reads and watches the flags of `mesh`'s namespace `options.namespace` (default `'flags'`). */
  constructor(mesh: FlagSource, options: ConfmeshProviderOptions = {}) {
    this.ns = mesh.namespace(options.namespace ?? DEFAULT_FLAG_NAMESPACE)
    this.rebuild()
    this.unsubscribe = this.ns.watch(() => this.queueRebuild())
  }

  /** Called by the SDK; the flag set is ready from construction on. */
  async initialize(): Promise<void> {}

  /** Stops watching the namespace. */
  async onClose(): Promise<void> {
    this.unsubscribe?.()
    this.unsubscribe = undefined
  }

  /** Resolves a boolean flag (see {@link ConfmeshProvider.resolve}). */
  resolveBooleanEvaluation(key: string, def: boolean, ctx: EvaluationContext, logger?: Logger) {
    return Promise.resolve(this.resolve('boolean', key, def, ctx, logger))
  }

  /** Resolves a string flag (see {@link ConfmeshProvider.resolve}). */
  resolveStringEvaluation(key: string, def: string, ctx: EvaluationContext, logger?: Logger) {
    return Promise.resolve(this.resolve('string', key, def, ctx, logger))
  }

  /** Resolves a number flag (see {@link ConfmeshProvider.resolve}). */
  resolveNumberEvaluation(key: string, def: number, ctx: EvaluationContext, logger?: Logger) {
    return Promise.resolve(this.resolve('number', key, def, ctx, logger))
  }

  /** Resolves an object flag (see {@link ConfmeshProvider.resolve}). */
  resolveObjectEvaluation<T extends JsonValue>(key: string, def: T, ctx: EvaluationContext, logger?: Logger) {
    return Promise.resolve(this.resolve('object', key, def, ctx, logger))
  }

  /** Synchronous resolution (what the four `resolve*Evaluation` methods wrap). */
  resolve<T extends FlagValue>(
    type: FlagValueType,
    key: string,
    def: T,
    ctx: EvaluationContext = {},
    logger?: Logger,
  ): ResolutionDetails<T> {
    const broken = this.broken.get(key)
    if (broken !== undefined) {
      return { value: def, reason: 'ERROR', errorCode: ErrorCode.PARSE_ERROR, errorMessage: broken }
    }
    const r = this.core.resolve(type, key, def, ctx, logger ?? silentLogger)
    return r.reason === 'TARGETING_MATCH' && this.splits.has(key) ? { ...r, reason: 'SPLIT' } : r
  }

  /** The flag file the namespace holds now (what flagd would load). */
  flagFile(): FlagFile {
    return flagFileOf(this.ns.entries())
  }

  private queueRebuild(): void {
    if (this.rebuildQueued) return
    this.rebuildQueued = true
    queueMicrotask(() => {
      this.rebuildQueued = false
      const changed = this.rebuild()
      if (changed.length > 0) this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: changed })
    })
  }

  /** Builds the flag set from the namespace; returns the keys of flags that changed (broken ones included). */
  private rebuild(): string[] {
    const file = this.flagFile()
    const broken = new Map<string, string>()
    let usable: FlagFile = file
    try {
      new MemoryStorage(silentLogger).setConfigurations(JSON.stringify(file))
    } catch {
      // one bad flag must not take the others down: build each alone, keep the ones that build
      usable = { ...file, flags: {} }
      for (const [key, flag] of Object.entries(file.flags)) {
        try {
          new MemoryStorage(silentLogger).setConfigurations(JSON.stringify({ ...file, flags: { [key]: flag } }))
          usable.flags[key] = flag
        } catch (err) {
          const cause = (err as { cause?: Error }).cause
          broken.set(key, `flag '${key}' does not parse: ${cause?.message ?? (err as Error).message}`)
        }
      }
    }
    const changed = new Set(this.core.setConfigurations(JSON.stringify(usable)))
    for (const key of new Set([...broken.keys(), ...this.broken.keys()])) {
      if (broken.get(key) !== this.broken.get(key)) changed.add(key)
    }
    this.broken = broken
    this.splits = new Set(Object.keys(usable.flags).filter((k) => isRootSplit(usable.flags[k]!, usable.$evaluators)))
    return [...changed].sort()
  }
}
