/**
 * Errors of the transport seam (`transport.ts`). Both implementations throw these, never their library's own, so
 * callers match one set of names whatever runs underneath.
 *
 * @module
 */
import { ConfmeshError } from '../errors.js'

/** The transport was stopped (or its peer crashed in a simulation). */
export class TransportStoppedError extends ConfmeshError {
  static override readonly code: string = 'ERR_TRANSPORT_STOPPED'
}

/** A dial failed: no address answered, the peer is unreachable, or the dial was aborted. */
export class DialError extends ConfmeshError {
  static override readonly code: string = 'ERR_DIAL_FAILED'
}

/**
 * A dial every address of which was refused: the host answered that nothing listens there (a TCP reset), which is
 * what a peer whose process is gone (crashed, stopped) looks like while its host is up. Stronger evidence than a
 * dial that timed out (a partition, a dead host, a lost packet): SWIM suspects such a member at once with a short
 * suspicion.
 */
export class DialRefusedError extends DialError {
  static override readonly code: string = 'ERR_DIAL_REFUSED'
}

/** The remote peer does not handle the requested protocol. */
export class UnsupportedProtocolError extends ConfmeshError {
  static override readonly code: string = 'ERR_UNSUPPORTED_PROTOCOL'
}

/** The stream was reset: aborted by either side, its connection closed, or a peer stopped. */
export class StreamResetError extends ConfmeshError {
  static override readonly code: string = 'ERR_STREAM_RESET'
}

/** A stream message over the reader's limit arrived (the stream is reset). */
export class MessageTooLargeError extends ConfmeshError {
  static override readonly code: string = 'ERR_MESSAGE_TOO_LARGE'
}

/** A topic already has its subscriber on this transport. */
export class TopicInUseError extends ConfmeshError {
  static override readonly code: string = 'ERR_TOPIC_IN_USE'
}

/** An operation was aborted by its signal. */
export class TransportAbortedError extends ConfmeshError {
  static override readonly code: string = 'ERR_TRANSPORT_ABORTED'
}

/** A simulation's `runUntil` condition did not hold by its virtual deadline. */
export class SimulationDeadlineError extends ConfmeshError {
  static override readonly code: string = 'ERR_SIMULATION_DEADLINE'
}

/** A simulation's `runUntil` condition did not hold and nothing was left to happen (no event scheduled). */
export class SimulationStalledError extends ConfmeshError {
  static override readonly code: string = 'ERR_SIMULATION_STALLED'
}
