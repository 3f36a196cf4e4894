/**
 * The gray-release API every mesh exposes (`ConfigMesh` extends it). See the README section "Gray release".
 *
 * @module
 */
import type { JsonValue } from '../config/value.js'
import type { RolloutRecord } from './record.js'

/** Who gets a rollout's value. A peer matching any of the three is in the group. */
export interface RolloutOptions {
  /** Share of peers, 0..100, chosen by a stable hash of (peer id, rollout id). Default 0 (widening: unchanged). */
  readonly percent?: number
  /** Peers whose tags (`createMesh({ tags })`) include every pair of this selector. Default none. */
  readonly tags?: Readonly<Record<string, string>>
  /** Peer ids always in. Default none. */
  readonly peers?: readonly string[]
}

/** An active rollout as `rollouts()` lists it: its stored record and who is in. */
export interface RolloutInfo extends RolloutRecord {
  /** The rollout's id (what `rollout()` returned). */
  readonly id: string
  /** How many live members (this peer included) are in the group. */
  readonly members: number
  /** Their peer ids, sorted. */
  readonly memberIds: readonly string[]
  /** Whether this peer is in the group. */
  readonly self: boolean
}

/** Gray releases: a new value for a share of the fleet, widened step by step, then promoted or aborted. */
export interface MeshRollouts {
  /**
   * Starts a gradual release of `value` at (`namespace`, `key`), or widens the active one of that key (same value):
   * a peer in the group (listed, tags match, or its stable hash falls under `percent`) sees `value` through `get`,
   * `entries`, watchers and everything built on them; every other peer keeps the base value. Widening keeps every
   * peer that was in. The value is checked against the key's schemas. Resolves with the rollout's id.
   * Throws `InvalidRolloutError` (bad options, lower percent), `RolloutConflictError` (another value is rolling out).
   */
  rollout(namespace: string, key: string, value: JsonValue, options?: RolloutOptions): Promise<{ id: string }>
  /** Active rollouts, newest first, with how many live members are in each. */
  rollouts(): RolloutInfo[]
  /** Makes the rollout's value the base value everywhere and ends the rollout, in ONE versioned write. */
  promote(id: string): Promise<void>
  /** Ends the rollout: every peer sees the base value again. */
  abort(id: string): Promise<void>
}
