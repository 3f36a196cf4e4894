/**
 * The trace of a simulated run: every event, hashed as it happens, so two runs can be compared event for event by
 * one string. Two runs of the same seed and the same test code give the same hash; the first differing event changes
 * it. The last lines are kept (not hashed twice) to print when a run fails.
 *
 * @module
 */
import { createHash, type Hash } from 'node:crypto'

/** Default number of trace lines kept for printing. */
export const DEFAULT_TRACE_LINES = 200

/** The running trace of a simulation. */
export interface SimulationTrace {
  /** Hashes one event: its virtual time, a line describing it, and optionally its payload. */
  record(time: number, line: string, data?: Uint8Array): void
  /** Events recorded so far. */
  readonly events: number
  /** SHA-256 (hex, first 16 bytes) of every event so far; recording may go on. */
  hash(): string
  /** The last recorded lines, oldest first (`<time> <line>`). */
  lines(): string[]
}

/** Creates a trace that keeps the last `keep` lines. */
export function createSimulationTrace(keep = DEFAULT_TRACE_LINES): SimulationTrace {
  const hash: Hash = createHash('sha256')
  const ring: string[] = []
  let events = 0
  let start = 0
  return {
    record(time, line, data) {
      events++
      const text = `${time.toFixed(3)} ${line}`
      hash.update(text).update('\n')
      if (data !== undefined) hash.update(data)
      if (keep <= 0) return
      if (ring.length < keep) ring.push(text)
      else {
        ring[start] = text
        start = (start + 1) % keep
      }
    },
    get events() {
      return events
    },
    hash: () => hash.copy().digest('hex').slice(0, 32),
    lines: () => [...ring.slice(start), ...ring.slice(0, start)],
  }
}
