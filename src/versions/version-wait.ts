/**
 * Waiting for a version this peer has not fully received: pull the missing writes from connected peers, within a
 * deadline, then fail with an {@link UnknownVersionError} that names the writers still missing.
 *
 * A version taken on another peer (`a.version()` right after `a.set(...)`) names writes that reach this peer a moment
 * later, by gossip or catch-up. `rollback`, `atAsync` and `diffAsync` therefore do not fail at once: they start a
 * pull round from every connected peer (the mesh's `syncNow`), resolve as soon as the document includes the version
 * (by whatever path the writes arrive), and pull again, with growing pauses, until the deadline.
 *
 * Guaranteed: resolves only once the document's state vector includes every write the version names; rejects only
 * after `timeoutMs` (or at once with `timeoutMs: 0` or without a pull function). Not guaranteed: that a writer that is
 * not connected to any peer this one reaches is ever heard from.
 *
 * @module
 */

import type * as Y from 'yjs'
import { type Clock, systemClock, type TimerHandle } from '../clock.js'
import { type MissingWriter, UnknownVersionError } from './errors.js'
import { dominates, stateVectorOf, type VectorClock } from './vector-clock.js'

/** Default time `rollback`/`atAsync`/`diffAsync` wait for writes a version names that this peer lacks. */
export const DEFAULT_VERSION_WAIT_MS = 5_000
/** First pause between two pull rounds; doubles up to {@link MAX_PULL_PAUSE_MS}. */
const FIRST_PULL_PAUSE_MS = 50
/** Longest pause between two pull rounds. */
const MAX_PULL_PAUSE_MS = 1_000

/** Options of the calls that may wait for a version's writes. */
export interface VersionWaitOptions {
  /**
   * How long to wait (ms) for writes the version includes that this peer has not received yet, pulling them from
   * connected peers meanwhile; `0` fails at once. Default {@link DEFAULT_VERSION_WAIT_MS} (5 s).
   */
  readonly timeoutMs?: number
}

/** What {@link awaitVersion} needs besides the document. */
export interface VersionWaitInit {
  /** One pull round from every connected peer (resolves when every exchange finished). Default: none (no waiting). */
  readonly pull?: () => Promise<void>
  /** The peer a Yjs client id belongs to, when known. */
  readonly writerOf?: (client: number) => string | undefined
  /** Timers of the deadline and the pauses between pull rounds (virtual on a simulated network). Default: the system's. */
  readonly timers?: Clock
}

/** Validates `options.timeoutMs` and returns it (default {@link DEFAULT_VERSION_WAIT_MS}). */
export function resolveWaitMs(options: VersionWaitOptions | undefined): number {
  if (options === undefined) return DEFAULT_VERSION_WAIT_MS
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  const ms = options.timeoutMs ?? DEFAULT_VERSION_WAIT_MS
  if (typeof ms !== 'number' || !(ms >= 0) || ms > 2 ** 31 - 1) {
    throw new TypeError(`timeoutMs must be a number of milliseconds >= 0, got ${String(ms)}`)
  }
  return ms
}

/** The writers whose writes `need` includes and `have` lacks, by client id. */
export function missingWriters(
  have: VectorClock,
  need: VectorClock,
  writerOf?: (client: number) => string | undefined,
): MissingWriter[] {
  const out: MissingWriter[] = []
  for (const [client, n] of need) {
    const got = have.get(client) ?? 0
    if (got < n) out.push({ client, peerId: writerOf?.(client), have: got, need: n })
  }
  return out.sort((a, b) => a.client - b.client)
}

/** The error for a version whose writes `doc` still lacks. */
export function notReceivedError(
  doc: Y.Doc,
  clock: VectorClock,
  id: string,
  waitedMs: number,
  writerOf?: (client: number) => string | undefined,
): UnknownVersionError {
  const missing = missingWriters(stateVectorOf(doc), clock, writerOf)
  const list = missing
    .map((m) => `client ${m.client} (${m.peerId ?? 'peer unknown'}): has ${m.have} of ${m.need}`)
    .join('; ')
  const waited = waitedMs > 0 ? ` after pulling from connected peers for ${waitedMs} ms` : ''
  return new UnknownVersionError(`version ${id} includes writes this peer has not received${waited}: ${list}`, {
    missing,
  })
}

/**
 * Resolves once `doc` includes every write of `clock`, pulling from connected peers meanwhile; rejects with
 * {@link UnknownVersionError} (naming the missing writers) after `timeoutMs`.
 */
export function awaitVersion(
  doc: Y.Doc,
  clock: VectorClock,
  id: string,
  timeoutMs: number,
  init: VersionWaitInit,
): Promise<void> {
  const reached = () => dominates(stateVectorOf(doc), clock)
  if (reached()) return Promise.resolve()
  const pull = init.pull
  if (pull === undefined || timeoutMs === 0) return Promise.reject(notReceivedError(doc, clock, id, 0, init.writerOf))
  return new Promise<void>((resolve, reject) => {
    let done = false
    const timers = init.timers ?? systemClock
    let pause: TimerHandle | undefined
    const finish = (err?: Error): void => {
      if (done) return
      done = true
      timers.clearTimeout(deadline)
      timers.clearTimeout(pause)
      doc.off('afterTransaction', onTransaction)
      if (err === undefined) resolve()
      else reject(err)
    }
    const onTransaction = (): void => {
      if (reached()) finish()
    }
    const deadline = timers.setTimeout(() => {
      finish(reached() ? undefined : notReceivedError(doc, clock, id, timeoutMs, init.writerOf))
    }, timeoutMs)
    doc.on('afterTransaction', onTransaction)
    const round = (wait: number): void => {
      pull()
        .catch(() => {}) // a failed exchange is retried; the deadline decides
        .then(() => {
          if (done) return
          if (reached()) return finish()
          pause = timers.setTimeout(() => round(Math.min(MAX_PULL_PAUSE_MS, wait * 2)), wait)
        })
    }
    round(FIRST_PULL_PAUSE_MS)
  })
}
