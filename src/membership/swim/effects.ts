/**
 * What the sans-IO SWIM state machine asks of its host: messages to send, timers to schedule and membership events
 * to report. The host (the libp2p transport, or the simulation) drains them after every input and performs them;
 * the state machine itself never touches a socket, a clock or a timer. Every timer must be delivered back (late is
 * fine: Lifeguard assumes hosts are slow sometimes); a timer that no longer matters is ignored when it fires.
 *
 * @module
 */
import type { SwimMessageError } from './errors.js'
import type { SwimMember } from './member.js'

/** A timer the host schedules and hands back to `handleTimer` at (or after) `at`. */
export type SwimTimer =
  | { readonly kind: 'probe' }
  | { readonly kind: 'probe-timeout'; readonly seq: number }
  | { readonly kind: 'relay-timeout'; readonly seq: number }
  | { readonly kind: 'suspicion'; readonly id: string; readonly incarnation: number }
  | { readonly kind: 'reap'; readonly id: string; readonly incarnation: number }
  | { readonly kind: 'gossip' }
  | { readonly kind: 'push-pull' }
  | { readonly kind: 'reconnect' }

/** A membership change as seen by this peer. */
export interface SwimEvent {
  /**
   * `up`: a member is known alive for the first time or again after being down; `suspect`: it missed a probe and
   * may refute; `down`: declared failed (or `member.left`: it left); `updated`: new metadata, or a suspicion refuted.
   */
  readonly type: 'up' | 'suspect' | 'down' | 'updated'
  /** The member after the change. */
  readonly member: SwimMember
  /** Local time of the change. */
  readonly at: number
}

/** A message to send. */
export interface SwimSend {
  /** Recipient member id. */
  readonly to: string
  /** Encoded message. */
  readonly bytes: Uint8Array
  /** Whether it is a push-pull (a stream on a real transport) rather than a datagram-sized message. */
  readonly stream: boolean
}

/** A message that was refused (malformed); nothing changed. */
export interface SwimRefusal {
  /** Who sent it. */
  readonly from: string
  /** Why. */
  readonly error: SwimMessageError
}

/** Everything the state machine asks for since the last drain. */
export interface SwimEffects {
  readonly sends: SwimSend[]
  readonly timers: Array<{ readonly at: number; readonly timer: SwimTimer }>
  readonly events: SwimEvent[]
  readonly refused: SwimRefusal[]
}

/** An empty effects record. */
export function emptyEffects(): SwimEffects {
  return { sends: [], timers: [], events: [], refused: [] }
}
