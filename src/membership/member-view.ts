/**
 * The view of the mesh's membership that the rest of a peer reads (the ring, leases, join sync, `/v1/status`, the
 * peers listing, metrics): live members with weight, tags, addresses, readiness and start time, `change` and
 * `update` events, `setWeight`, readiness announcements. Two implementations satisfy it: the SWIM membership
 * (`swim-membership.ts`, the default: constant cost per peer) and the all-to-all signed heartbeats
 * (`membership.ts`, `membership: { protocol: 'heartbeat' }`).
 *
 * @module
 */
import type { TypedEventEmitter } from 'main-event'
import type { KnownPeer } from './known-peers.js'

/** A live member of the mesh as this peer sees it. */
export interface Member {
  /** The member's peer id. */
  readonly peerId: string
  /** Dialable multiaddrs, each ending in `/p2p/<peerId>`. */
  readonly addresses: readonly string[]
  /** Capacity weight (default 1). */
  readonly weight: number
  /** Free-form metadata (zone, role, ...). */
  readonly tags: Readonly<Record<string, string>>
  /** When the member started (its clock, ms since epoch). */
  readonly startedAt: number
  /** When this peer last heard from it (local clock). */
  readonly lastSeen: number
  /** Whether this peer holds an open connection to it. */
  readonly connected: boolean
  /** Whether it holds its first full state and serves joiners (heartbeats without the field: `true`). */
  readonly ready: boolean
  /** How many live members it sees, itself included: announced in heartbeats; 0 when unknown (a heartbeat without it, or any remote member under SWIM, which does not announce it; a peer's own entry always has it). */
  readonly meshSize: number
}

/** Detail of a membership `update` event: a known member announced a new weight, tags or readiness. */
export interface MemberUpdate {
  /** The member (this peer too, after `setWeight`). */
  readonly peerId: string
  /** What changed. */
  readonly changed: ReadonlyArray<'weight' | 'tags' | 'ready'>
}

/** Detail of a membership `change` event. */
export interface MembershipChange {
  /** Members seen for the first time (or again after they left). */
  readonly joined: readonly string[]
  /** Members that said goodbye or timed out. */
  readonly left: readonly string[]
  /** Live member ids after the change (including this peer), sorted. */
  readonly members: readonly string[]
}

/** Events of {@link Membership}. */
export interface MembershipEvents {
  /** Members joined or left. */
  change: CustomEvent<MembershipChange>
  /** A known member announced a new weight, tags or readiness. */
  update: CustomEvent<MemberUpdate>
}

/** Live membership of one mesh. */
export interface Membership extends TypedEventEmitter<MembershipEvents> {
  /** Starts failure detection, dissemination and discovery. */
  start(): Promise<void>
  /** Says goodbye (a `leave`) and stops. */
  stop(): Promise<void>
  /** Live members other than this peer. */
  peers(): Member[]
  /** Live member ids including this peer, sorted. */
  memberIds(): string[]
  /** A live member by id (this peer included). */
  get(peerId: string): Member | undefined
  /** Addresses of the members seen (at most `maxKnownPeers`, most recently heard last), for re-dials. */
  knownAddresses(): string[]
  /**
   * The members heard from (live or not: at most `maxKnownPeers`, most recently heard last) with when they were last
   * heard: the peers met, for the address book. A member dropped a moment ago (a stall longer than the member timeout)
   * is still here.
   */
  knownPeers(): KnownPeer[]
  /** Changes this peer's announced weight (validated by the caller) and announces it at once. */
  setWeight(weight: number): void
  /** Announces this peer's metadata now (e.g. after it became ready). */
  announce(): void
  /**
   * Whether this peer's view already holds every member another member knew (SWIM: a whole table was merged, e.g.
   * the answer to its join). Absent or `false`: unknown (heartbeats announce `meshSize` instead).
   */
  hasFullView?(): boolean
  /**
   * Counters of the failure detector for diagnostics and metrics (e.g. SWIM: members seen up, suspected, declared
   * down; messages; local health). Absent: the protocol keeps none.
   */
  counters?(): Record<string, number>
}
