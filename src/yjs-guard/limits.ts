/**
 * The ONE table of limits of the update guard: every bound an incoming Yjs update is checked against, with its
 * default, and their resolution into a complete set. The mesh's per-channel limits (gossip, catch-up, disk) are built
 * from this table in `src/doc/limits.ts`; no other file defines a bound on remote updates.
 *
 * @module
 */

/** Default {@link UpdateLimits.maxBytes}: 8 MiB (gossipsub drops messages above 4 MiB anyway). */
export const DEFAULT_MAX_UPDATE_BYTES = 8 * 1024 * 1024
/** Default {@link UpdateLimits.maxStructs}: 200,000 structs (each becomes a Yjs object of roughly 100-200 bytes). */
export const DEFAULT_MAX_STRUCTS = 200_000
/** Default {@link UpdateLimits.maxClients}: 65,536 distinct client ids in one update (struct or delete section). */
export const DEFAULT_MAX_CLIENTS = 65_536
/** Default {@link UpdateLimits.maxDeleteRanges}: 200,000 delete-set ranges. */
export const DEFAULT_MAX_DELETE_RANGES = 200_000
/** Default {@link UpdateLimits.maxContentBytes}: 1 MiB for any single string, binary, JSON text or `any` string. */
export const DEFAULT_MAX_CONTENT_BYTES = 1024 * 1024
/** Default {@link UpdateLimits.maxKeyBytes}: 4 KiB for map keys, root type names, format keys and XML node names. */
export const DEFAULT_MAX_KEY_BYTES = 4096
/** Default {@link UpdateLimits.maxNesting}: 64 nested arrays/objects inside one `any` or JSON value. */
export const DEFAULT_MAX_NESTING = 64
/** Default {@link UpdateLimits.maxClock}: 2^32. Every clock and every `clock + length` must be at most this. */
export const DEFAULT_MAX_CLOCK = 2 ** 32
/**
 * Default {@link UpdateLimits.maxIntegrationCost}: 1,000,000 estimated conflict-resolution steps (Yjs walks roughly
 * 2-5 million per second), so an accepted update costs well under a second of `Item.integrate` work.
 */
export const DEFAULT_MAX_INTEGRATION_COST = 1_000_000
/** Default {@link UpdateLimits.maxMillis}: 1000 ms wall-clock budget for one inspection. */
export const DEFAULT_MAX_MILLIS = 1000

/** Bounds and policy applied by {@link inspectUpdate}. Every field is optional; defaults are the `DEFAULT_*` constants. */
export interface UpdateLimits {
  /** Maximum update size in bytes. Default {@link DEFAULT_MAX_UPDATE_BYTES}. */
  maxBytes?: number
  /** Maximum number of structs (items, GC and Skip) in the update. Default {@link DEFAULT_MAX_STRUCTS}. */
  maxStructs?: number
  /** Maximum number of client blocks in the struct section and in the delete set. Default {@link DEFAULT_MAX_CLIENTS}. */
  maxClients?: number
  /** Maximum number of delete-set ranges. Default {@link DEFAULT_MAX_DELETE_RANGES}. */
  maxDeleteRanges?: number
  /** Maximum bytes of one string / binary / JSON text / `any` string. Default {@link DEFAULT_MAX_CONTENT_BYTES}. */
  maxContentBytes?: number
  /** Maximum bytes of a key, root name, format key or XML node name. Default {@link DEFAULT_MAX_KEY_BYTES}. */
  maxKeyBytes?: number
  /** Maximum nesting of arrays/objects inside an `any` or JSON value. Default {@link DEFAULT_MAX_NESTING}. */
  maxNesting?: number
  /** Upper bound for every clock and `clock + length` in the update. Default {@link DEFAULT_MAX_CLOCK}. */
  maxClock?: number
  /** Wall-clock budget for one inspection in milliseconds. Default {@link DEFAULT_MAX_MILLIS}. */
  maxMillis?: number
  /**
   * Bound on the estimated YATA conflict-resolution work (see `integration-cost.ts`): stateless in
   * {@link inspectUpdate}, plus the document's existing siblings in {@link guardedApply}.
   * Default {@link DEFAULT_MAX_INTEGRATION_COST}.
   */
  maxIntegrationCost?: number
  /**
   * If set, structs may only name these root types explicitly; any other root name is refused with
   * {@link ForbiddenContentError}. Default: any root name is accepted (and reported in {@link UpdateInfo.roots}).
   */
  allowedRoots?: Iterable<string>
  /** Accept sub-documents (`ContentDoc`). Default `false`: confmesh does not use them and they widen the attack surface. */
  allowSubdocs?: boolean
}

/** {@link UpdateLimits} with every default filled in. */
export interface ResolvedLimits {
  maxBytes: number
  maxStructs: number
  maxClients: number
  maxDeleteRanges: number
  maxContentBytes: number
  maxKeyBytes: number
  maxNesting: number
  maxClock: number
  maxMillis: number
  maxIntegrationCost: number
  allowedRoots: ReadonlySet<string> | null
  allowSubdocs: boolean
}

const positiveOr = (value: number | undefined, fallback: number, name: string): number => {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new TypeError(`UpdateLimits.${name} must be a non-negative number`)
  }
  return value
}

/** Fills in the defaults; throws `TypeError` on a negative or non-numeric bound. */
export const resolveLimits = (limits: UpdateLimits | undefined): ResolvedLimits => ({
  maxBytes: positiveOr(limits?.maxBytes, DEFAULT_MAX_UPDATE_BYTES, 'maxBytes'),
  maxStructs: positiveOr(limits?.maxStructs, DEFAULT_MAX_STRUCTS, 'maxStructs'),
  maxClients: positiveOr(limits?.maxClients, DEFAULT_MAX_CLIENTS, 'maxClients'),
  maxDeleteRanges: positiveOr(limits?.maxDeleteRanges, DEFAULT_MAX_DELETE_RANGES, 'maxDeleteRanges'),
  maxContentBytes: positiveOr(limits?.maxContentBytes, DEFAULT_MAX_CONTENT_BYTES, 'maxContentBytes'),
  maxKeyBytes: positiveOr(limits?.maxKeyBytes, DEFAULT_MAX_KEY_BYTES, 'maxKeyBytes'),
  maxNesting: positiveOr(limits?.maxNesting, DEFAULT_MAX_NESTING, 'maxNesting'),
  maxClock: Math.min(positiveOr(limits?.maxClock, DEFAULT_MAX_CLOCK, 'maxClock'), Number.MAX_SAFE_INTEGER),
  maxMillis: positiveOr(limits?.maxMillis, DEFAULT_MAX_MILLIS, 'maxMillis'),
  maxIntegrationCost: positiveOr(limits?.maxIntegrationCost, DEFAULT_MAX_INTEGRATION_COST, 'maxIntegrationCost'),
  allowedRoots: limits?.allowedRoots === undefined ? null : new Set(limits.allowedRoots),
  allowSubdocs: limits?.allowSubdocs === true,
})
