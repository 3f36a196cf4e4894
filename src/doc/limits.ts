/**
 * The ONE table of size and cost limits of everything a peer receives or stores. Every other file takes its bound
 * from here (the update guard's own defaults, `yjs-guard/limits.ts`, are the building blocks this table starts from).
 *
 * | what | bound | where it applies |
 * | --- | --- | --- |
 * | one value written by `set` | {@link DEFAULT_MAX_VALUE_BYTES} (16 MiB of JSON text) | `config/value.ts`, and the guard's `maxContentBytes` (4/3 of it, for a secret's base64) |
 * | one gossip message | {@link MAX_GOSSIP_MESSAGE_BYTES} (1 MiB) | sent as is below it, announced above it; gossipsub's inbound RPC limit |
 * | one gossip update | {@link DEFAULT_GOSSIP_LIMITS} (the message size, 250 ms of inspection) | ingest, `via: 'gossip'` |
 * | one catch-up reply or part | {@link DEFAULT_SYNC_LIMITS} (256 MiB, 4 M structs, 10 s) | ingest, `via: 'sync'` |
 * | causal slices of one catch-up reply over the conflict-cost bound | {@link MAX_SYNC_SLICES} (64, each within the bound) | ingest, `via: 'sync'` (`yjs-guard/planned-apply.ts`) |
 * | one catch-up reply on the stream | {@link MAX_CATCH_UP_REPLY_BYTES} (512 MiB) | the requester stops reading past it |
 * | one catch-up request | {@link MAX_SYNC_REQUEST_BYTES} (64 MiB: a state vector) | the responder's stream reader |
 * | one stored update | {@link STORAGE_LIMITS} (structure only: this peer's own disk is trusted for size) | ingest, `via: 'storage'` |
 *
 * `createMesh({ updateLimits: { gossip, sync } })` overrides fields of the two network rows.
 *
 * @module
 */
import type { UpdateLimits } from '../yjs-guard/limits.js'
import { ENTRIES_ROOT } from './entry.js'

/** Default largest value: 16 MiB of JSON text. Large values travel over the catch-up stream, never as one gossip message. */
export const DEFAULT_MAX_VALUE_BYTES = 16 * 1024 * 1024

/** Largest gossip message accepted or sent; larger changes are announced and travel over the catch-up stream. */
export const MAX_GOSSIP_MESSAGE_BYTES = 1024 * 1024

/** Largest catch-up reply a requester reads (the sum of its chunks). */
export const MAX_CATCH_UP_REPLY_BYTES = 512 * 1024 * 1024

/** Largest catch-up request (a state vector, possibly with a part prefix) a responder reads. */
export const MAX_SYNC_REQUEST_BYTES = 64 * 1024 * 1024

/** Default limits of one gossip update: the update guard's defaults, with the gossip message size. */
export const DEFAULT_GOSSIP_LIMITS: Readonly<UpdateLimits> = {
  maxBytes: MAX_GOSSIP_MESSAGE_BYTES + 1024,
  maxMillis: 250,
}

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

/**
 * Most causal slices one catch-up reply is applied in when, as one update, its estimated conflict cost exceeds the
 * bound (the merge after a long partition; see `yjs-guard/planned-apply.ts`). Each slice meets the bound, so one reply
 * costs at most this many bounded applies.
 */
export const MAX_SYNC_SLICES = 64

const UNBOUNDED = Number.MAX_SAFE_INTEGER

/**
 * Limits of an update restored from this peer's own storage: no size, count, time or cost bound (a compacted
 * document is one large update, and the data dir is trusted), but the full structural check of the guard, so a damaged
 * store is refused with a named error instead of reaching Yjs.
 */
export const STORAGE_LIMITS: Readonly<UpdateLimits> = {
  maxBytes: UNBOUNDED,
  maxStructs: UNBOUNDED,
  maxClients: UNBOUNDED,
  maxDeleteRanges: UNBOUNDED,
  maxContentBytes: UNBOUNDED,
  maxKeyBytes: UNBOUNDED,
  maxMillis: UNBOUNDED,
  maxIntegrationCost: UNBOUNDED,
}

/** The limits of each ingest channel. */
export interface ChannelLimits {
  readonly gossip: UpdateLimits
  readonly sync: UpdateLimits
  readonly storage: UpdateLimits
  /** Most causal slices of one catch-up reply ({@link MAX_SYNC_SLICES}). */
  readonly maxSyncSlices: number
}

/**
 * The limits of every channel: the defaults above, the guard's content bound raised so one value of `maxValueBytes`
 * fits (4/3 of it as a secret's base64), the caller's overrides, and the only root confmesh documents use.
 */
export function channelLimits(
  maxValueBytes: number = DEFAULT_MAX_VALUE_BYTES,
  overrides: { gossip?: UpdateLimits; sync?: UpdateLimits } = {},
): ChannelLimits {
  const maxContentBytes = Math.ceil((maxValueBytes * 4) / 3) + 4096
  const allowedRoots = [ENTRIES_ROOT]
  return {
    gossip: { ...DEFAULT_GOSSIP_LIMITS, maxContentBytes, ...overrides.gossip, allowedRoots },
    sync: { ...DEFAULT_SYNC_LIMITS, maxContentBytes, ...overrides.sync, allowedRoots },
    storage: { ...STORAGE_LIMITS, allowedRoots },
    maxSyncSlices: MAX_SYNC_SLICES,
  }
}
