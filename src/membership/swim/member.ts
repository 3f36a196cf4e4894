/**
 * What SWIM knows about a member: its state (alive, suspect, down), incarnation number and metadata (weight, tags,
 * addresses, readiness, start time), and the update records peers exchange about members. The precedence rules of
 * SWIM live here, as pure functions, so the state machine and the tests share one definition:
 *
 * - `alive(i)` beats `alive(j)` and `suspect(j)` when i > j, and brings a `down(j)` member back when i > j;
 * - `suspect(i)` beats `alive(j)` when i >= j (a suspect of the same incarnation is a confirmation);
 * - `down(i)` beats `alive(j)` and `suspect(j)` when i >= j.
 *
 * Only the member itself raises its incarnation (to refute a suspicion, or to announce new metadata), so a live
 * member can always out-vote a stale rumour about it.
 *
 * @module
 */

/** Member metadata carried with every `alive` record (the ring and joins read it). */
export interface MemberMeta {
  /** Capacity weight (finite, >= 0). */
  readonly weight: number
  /** Free-form tags (zone, role, ...). */
  readonly tags: Readonly<Record<string, string>>
  /** Dialable addresses. */
  readonly addresses: readonly string[]
  /** Whether the member holds its first full state and serves joiners. */
  readonly ready: boolean
  /** When the member started (its clock, ms since epoch); tells a restarted process from its predecessor. */
  readonly startedAt: number
}

/** State of a member. */
export type MemberState = 'alive' | 'suspect' | 'down'

/** A member as one peer sees it. */
export interface SwimMember {
  /** Member id (the peer id on the wire). */
  readonly id: string
  /** Its state here. */
  readonly state: MemberState
  /** Highest incarnation heard. */
  readonly incarnation: number
  /** Latest metadata. */
  readonly meta: MemberMeta
  /** Local time (ms) of the last state change. */
  readonly changedAt: number
  /** For a down member: whether it left on purpose (it announced its own departure). */
  readonly left: boolean
}

/** An `alive` rumour: the member with this incarnation is alive with this metadata. */
export interface AliveUpdate {
  readonly type: 'alive'
  readonly id: string
  readonly incarnation: number
  readonly meta: MemberMeta
  /** The member's signature over the record's unsigned encoding (`encodeAliveBody`), when it signs. */
  readonly signature?: Uint8Array
}

/** A `suspect` or `down` rumour, with the peer that raised it (`from === id` on a down: the member left). */
export interface AccuseUpdate {
  readonly type: 'suspect' | 'down'
  readonly id: string
  readonly incarnation: number
  readonly from: string
}

/** One membership update as disseminated and exchanged in push-pull. */
export type MemberUpdate = AliveUpdate | AccuseUpdate

/** Whether an `alive(incarnation)` rumour changes a member at `current` (in any state, a down one included). */
export function aliveOverrides(current: number, incarnation: number): boolean {
  return incarnation > current
}

/** Whether a `suspect(incarnation)` rumour changes a member in `state` at `current` (confirmations aside). */
export function suspectOverrides(state: MemberState, current: number, incarnation: number): boolean {
  if (state === 'down') return false
  if (state === 'suspect') return incarnation > current
  return incarnation >= current
}

/** Whether a `down(incarnation)` rumour changes a member in `state` at `current`. */
export function downOverrides(state: MemberState, current: number, incarnation: number): boolean {
  return state !== 'down' && incarnation >= current
}

/** Whether two metadata values are equal (weight, readiness, start, addresses in order, tags as a set). */
export function sameMeta(a: MemberMeta, b: MemberMeta): boolean {
  if (a === b) return true
  if (a.weight !== b.weight || a.ready !== b.ready || a.startedAt !== b.startedAt) return false
  if (a.addresses.length !== b.addresses.length) return false
  for (let i = 0; i < a.addresses.length; i++) if (a.addresses[i] !== b.addresses[i]) return false
  const ak = Object.keys(a.tags)
  if (ak.length !== Object.keys(b.tags).length) return false
  for (const k of ak) if (a.tags[k] !== b.tags[k]) return false
  return true
}
