/**
 * Update authorisation: the security step of the ingest pipeline (`doc/ingest.ts`). Every update received by gossip or
 * catch-up is bounded by the update guard first (in the pipeline, with the limits of `doc/limits.ts`); this step then
 * checks who wrote it (`writers.ts`: writer set, client-id binding, first binding wins in the registry) on the
 * pipeline's one decoding of the update, before it is applied with the guard's `guardedApply`. A refusal anywhere in
 * the pipeline is a named error (`MalformedUpdateError`, `UpdateTooLargeError`, `UpdateTimeoutError`,
 * `ForbiddenContentError`, `UnauthorizedUpdateError`, ...), counted per name in {@link SecurityCounters}.
 *
 * Updates restored from this peer's own store are not authorised (the pipeline skips this step for them): the data
 * dir is trusted.
 *
 * @module
 */
import type { IngestCheck } from '../doc/ingest.js'
import type { ConfmeshError } from '../errors.js'
import type { ClientRegistry } from './client-registry.js'
import { checkUpdateAuthors, type WriterPolicy } from './writers.js'

/** Refusals by error name, plus checks passed. */
export interface SecurityCounters {
  /** Updates that passed every check. */
  accepted: number
  /** Refusals by error name (e.g. `MalformedUpdateError`). */
  [errorName: string]: number
}

/** Options of {@link createUpdateAuthorization}. */
export interface UpdateAuthorizationInit {
  /** Who may write. */
  policy: WriterPolicy
  /** Client ids bound to peers so far (first binding wins). Default: none (no collision check). */
  registry?: ClientRegistry
}

/** The authorisation step and its counters. */
export interface UpdateAuthorization {
  /** The check to add to the ingest pipeline. */
  readonly check: IngestCheck
  /** Counts a refusal of the pipeline by error name (its `onRefused`). */
  readonly count: (error: ConfmeshError) => void
  /** Counters. */
  readonly counters: SecurityCounters
}

/** Creates the authorisation step. */
export function createUpdateAuthorization(init: UpdateAuthorizationInit): UpdateAuthorization {
  const counters: SecurityCounters = { accepted: 0 }
  return {
    check: (parsed) => {
      const { via, from, epoch } = parsed.context
      if (via === 'storage') return
      checkUpdateAuthors(parsed.structs(), { via, from, epoch, policy: init.policy, registry: init.registry })
      counters.accepted++
    },
    count: (error) => {
      counters[error.name] = (counters[error.name] ?? 0) + 1
    },
    counters,
  }
}
