/**
 * Member weights on the mesh's ring: the accepted range and the clamp applied to every announced weight.
 *
 * A heartbeat is signed by its sender but says whatever the sender wants; a peer claiming weight 1e9 must not take
 * the whole key space (nor make every peer allocate a billion virtual nodes). Every peer clamps every member's
 * weight, its own too, so all peers compute the same ring.
 *
 * @module
 */
import { InvalidOptionsError } from '../errors.js'

/** Smallest weight a member can have on the ring; smaller announced weights are raised to it. */
export const MIN_MEMBER_WEIGHT = 0.01
/** Largest weight a member can have on the ring; larger announced weights are lowered to it. */
export const MAX_MEMBER_WEIGHT = 100

/** Clamps a weight to {@link MIN_MEMBER_WEIGHT}..{@link MAX_MEMBER_WEIGHT} (non-numbers count as 1). */
export function clampWeight(weight: number): number {
  if (typeof weight !== 'number' || Number.isNaN(weight)) return 1
  return Math.min(MAX_MEMBER_WEIGHT, Math.max(MIN_MEMBER_WEIGHT, weight))
}

/** Throws {@link InvalidOptionsError} unless `weight` is a number in {@link MIN_MEMBER_WEIGHT}..{@link MAX_MEMBER_WEIGHT}. */
export function assertWeight(weight: unknown): asserts weight is number {
  if (
    typeof weight !== 'number' ||
    !Number.isFinite(weight) ||
    weight < MIN_MEMBER_WEIGHT ||
    weight > MAX_MEMBER_WEIGHT
  ) {
    throw new InvalidOptionsError(
      `weight must be a number in ${MIN_MEMBER_WEIGHT}..${MAX_MEMBER_WEIGHT}, got ${String(weight)}`,
    )
  }
}
