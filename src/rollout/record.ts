/**
 * How a rollout is stored: one key per rollout id in the reserved namespace {@link ROLLOUT_NAMESPACE}, last-writer-wins
 * like any config, so every step (start, widen, promote, abort) is a versioned write in history and reaches every peer.
 * Its value says what is released where: target key, new value, percent, tag selectors and listed peers.
 *
 * @module
 */
import type { JsonValue } from '../config/value.js'

/** Reserved namespace of active rollouts (key = rollout id). Rolled back with the rest of the config. */
export const ROLLOUT_NAMESPACE = '__confmesh.rollouts'

/** The stored value of one active rollout. */
export interface RolloutRecord {
  /** Namespace of the target key. */
  readonly namespace: string
  /** The target key. */
  readonly key: string
  /** The value peers in the group see instead of the base value. */
  readonly value: JsonValue
  /** Share of peers (by a stable hash of peer id and rollout id) in the group, 0..100. */
  readonly percent: number
  /** Tag selectors: a peer whose tags include every pair of ANY selector is in the group. */
  readonly tags: ReadonlyArray<Readonly<Record<string, string>>>
  /** Peer ids always in the group. */
  readonly peers: readonly string[]
  /** When the rollout started (ms since epoch, the starting peer's clock): orders rollouts of one key. */
  readonly started: number
}

const ID = /^r[0-9a-f]{16}$/

/** Whether `id` looks like a rollout id. */
export function isRolloutId(id: unknown): id is string {
  return typeof id === 'string' && ID.test(id)
}

/** Parses a stored value; `undefined` when it is not a rollout record (a peer's malformed record is ignored). */
export function parseRolloutRecord(value: JsonValue | undefined): RolloutRecord | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
  const { namespace, key, percent, tags, peers, started } = value
  if (typeof namespace !== 'string' || typeof key !== 'string' || !('value' in value)) return undefined
  if (typeof percent !== 'number' || !(percent >= 0 && percent <= 100)) return undefined
  if (typeof started !== 'number' || !Number.isFinite(started)) return undefined
  if (!Array.isArray(peers) || !peers.every((p) => typeof p === 'string')) return undefined
  if (!Array.isArray(tags) || !tags.every(isTagSelector)) return undefined
  return {
    namespace,
    key,
    value: value.value as JsonValue,
    percent,
    tags: tags as Array<Record<string, string>>,
    peers: peers as string[],
    started,
  }
}

/** Whether `t` is an object of string values. */
export function isTagSelector(t: unknown): t is Record<string, string> {
  return (
    t !== null &&
    typeof t === 'object' &&
    !Array.isArray(t) &&
    Object.values(t as object).every((v) => typeof v === 'string')
  )
}
