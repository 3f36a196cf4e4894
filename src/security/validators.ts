/**
 * The security validators of the update applier (`sync/update-applier.ts`): every update received by gossip or
 * catch-up passes the update guard (bounded bytes, structs, clients, delete ranges, content, nesting, clocks,
 * conflict-resolution cost and inspection time; only the `entries` root; no sub-documents) and the writer check
 * (`writers.ts`) BEFORE Yjs sees it, and is then applied with the guard's hardened `guardedApply`. A refusal is a
 * named error (`MalformedUpdateError`, `UpdateTooLargeError`, `UpdateTimeoutError`, `ForbiddenContentError`,
 * `UnauthorizedUpdateError`), counted per name in {@link SecurityCounters}.
 *
 * Updates restored from this peer's own store (`via: 'storage'`) are not checked: the data dir is trusted.
 *
 * @module
 */
import type * as Y from 'yjs'
import { ConfmeshError } from '../errors.js'
import type { RemoteOrigin, UpdateContext, UpdateValidator } from '../sync/update-applier.js'
import { guardedApply, inspectUpdate, type UpdateLimits } from '../yjs-guard/index.js'
import type { ClientRegistry } from './client-registry.js'
import { checkUpdateAuthors, type WriterPolicy } from './writers.js'

/** The only root type confmesh documents use (`config/kv-store.ts` `ENTRIES_ROOT`). */
const ROOTS = ['entries']

/** Default limits of one gossip update: the update guard's defaults, with the gossip message size. */
export const DEFAULT_GOSSIP_LIMITS: Readonly<UpdateLimits> = { maxBytes: 1024 * 1024 + 1024, maxMillis: 250 }

/**
 * Default limits of one catch-up reply (a whole document for a new peer): 256 MiB, 4 million structs, a 10 s
 * inspection budget. The conflict-cost bound stays the guard's default.
 */
export const DEFAULT_SYNC_LIMITS: Readonly<UpdateLimits> = {
  maxBytes: 256 * 1024 * 1024,
  maxStructs: 4_000_000,
  maxDeleteRanges: 4_000_000,
  maxMillis: 10_000,
}

/** Refusals by error name, plus checks passed. */
export interface SecurityCounters {
  /** Updates that passed every check. */
  accepted: number
  /** Refusals by error name (e.g. `MalformedUpdateError`). */
  [errorName: string]: number
}

/** Options of {@link createSecurityValidators}. */
export interface SecurityValidatorsInit {
  /** Who may write. */
  policy: WriterPolicy
  /** Client ids bound to peers so far (first binding wins). Default: none (no collision check). */
  registry?: ClientRegistry
  /** Gossip limits. Default {@link DEFAULT_GOSSIP_LIMITS}. */
  gossipLimits?: UpdateLimits
  /** Catch-up limits. Default {@link DEFAULT_SYNC_LIMITS}. */
  syncLimits?: UpdateLimits
}

/** The validators and the hardened apply function for the update applier. */
export interface SecurityValidators {
  /** Validators, in order: the update guard, then the writer check. */
  readonly validators: UpdateValidator[]
  /** `guardedApply` with the limits of the update's channel. */
  readonly applyUpdate: (doc: Y.Doc, update: Uint8Array, origin: RemoteOrigin) => void
  /** Counters. */
  readonly counters: SecurityCounters
}

/** Creates the validators. */
export function createSecurityValidators(init: SecurityValidatorsInit): SecurityValidators {
  const counters: SecurityCounters = { accepted: 0 }
  const gossip: UpdateLimits = { ...DEFAULT_GOSSIP_LIMITS, ...init.gossipLimits, allowedRoots: ROOTS }
  const sync: UpdateLimits = { ...DEFAULT_SYNC_LIMITS, ...init.syncLimits, allowedRoots: ROOTS }
  const limitsOf = (context: UpdateContext): UpdateLimits => (context.via === 'gossip' ? gossip : sync)
  const counted =
    (fn: UpdateValidator): UpdateValidator =>
    (update, context) => {
      try {
        fn(update, context)
      } catch (err) {
        const name = err instanceof ConfmeshError ? err.name : 'Error'
        counters[name] = (counters[name] ?? 0) + 1
        throw err
      }
    }
  const guard: UpdateValidator = (update, context) => {
    if (context.via === 'storage') return
    inspectUpdate(update, limitsOf(context))
  }
  const authors: UpdateValidator = (update, context) => {
    if (context.via === 'storage') return
    checkUpdateAuthors(update, {
      via: context.via,
      from: context.from,
      epoch: context.epoch,
      policy: init.policy,
      registry: init.registry,
    })
    counters.accepted++
  }
  return {
    validators: [counted(guard), counted(authors)],
    applyUpdate: (doc, update, origin) => {
      try {
        guardedApply(doc, update, origin, limitsOf(origin.context))
      } catch (err) {
        const name = err instanceof ConfmeshError ? err.name : 'Error'
        counters[name] = (counters[name] ?? 0) + 1
        throw err
      }
    },
    counters,
  }
}
