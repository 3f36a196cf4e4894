/**
 * The agent's bounded log of recent watch events, so an SSE client that lost its connection can resume with
 * `Last-Event-ID` and get exactly what it missed.
 *
 * Guarantees: ids are unique per log (`<epoch>-<seq>`, the epoch random per start, so an id from before a restart is
 * never mistaken for a current one); events are kept in order, each serialised once; the log holds at most
 * `maxEvents` events and about `maxBytes` of serialised data, dropping the oldest. {@link EventLog.since} either
 * returns every event after an id, or says the client must reload (the id is from another epoch, unknown, or older
 * than what the log still holds). Not guaranteed: anything across agent restarts (the log lives in memory).
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { WatchEvent } from '../config/watch.js'

/** One logged event. */
export interface LoggedEvent {
  /** The SSE id: `<epoch>-<seq>`. */
  readonly id: string
  readonly seq: number
  readonly event: WatchEvent
  /** The event as the JSON of an SSE `data:` line. */
  readonly data: string
}

/** Options of {@link createEventLog}. */
export interface EventLogOptions {
  /** Most events kept. Default {@link DEFAULT_EVENT_LOG_EVENTS}. */
  maxEvents?: number
  /** About this many bytes of serialised events kept. Default {@link DEFAULT_EVENT_LOG_BYTES}. */
  maxBytes?: number
}

/** Default `maxEvents`. */
export const DEFAULT_EVENT_LOG_EVENTS = 10_000
/** Default `maxBytes`: 32 MiB. */
export const DEFAULT_EVENT_LOG_BYTES = 32 * 1024 * 1024

/** What a resuming client gets. */
export type Resume =
  | { readonly events: readonly LoggedEvent[]; readonly reload?: undefined }
  | { readonly reload: string; readonly events?: undefined }

/** A bounded, in-order log of watch events. */
export interface EventLog {
  /** Logs `event`; returns it with its id; tells every subscriber. */
  append(event: WatchEvent): LoggedEvent
  /** Every event after `lastEventId`, or why the client must reload. */
  since(lastEventId: string): Resume
  /** Calls `listener` for every event appended from now on; returns the unsubscribe function. */
  subscribe(listener: (event: LoggedEvent) => void): () => void
  /** The id of the newest event (`<epoch>-0` before the first): where a client that saw everything stands. */
  currentId(): string
  /** Events held now. */
  readonly size: number
}

/** Creates an empty log with a fresh epoch. */
export function createEventLog(options: EventLogOptions = {}): EventLog {
  const maxEvents = options.maxEvents ?? DEFAULT_EVENT_LOG_EVENTS
  const maxBytes = options.maxBytes ?? DEFAULT_EVENT_LOG_BYTES
  const epoch = randomBytes(6).toString('hex')
  const events: LoggedEvent[] = []
  let head = 0 // index of the oldest event held (events before it are dropped; compacted in bulk)
  let bytes = 0
  let nextSeq = 1
  const listeners = new Set<(event: LoggedEvent) => void>()

  const trim = (): void => {
    while (events.length - head > maxEvents || (bytes > maxBytes && events.length - head > 1)) {
      bytes -= events[head]!.data.length
      head++
    }
    if (head > 1024 && head * 2 > events.length) {
      events.splice(0, head)
      head = 0
    }
  }

  return {
    append(event) {
      const seq = nextSeq++
      const logged: LoggedEvent = { id: `${epoch}-${seq}`, seq, event, data: serialise(event) }
      events.push(logged)
      bytes += logged.data.length
      trim()
      for (const listener of listeners) {
        try {
          listener(logged)
        } catch {
          // one subscriber's failure (a broken socket) must not keep the event from the others
        }
      }
      return logged
    },
    since(lastEventId) {
      const m = /^([0-9a-f]+)-(\d{1,15})$/.exec(lastEventId)
      if (m === null) return { reload: 'unknown event id' }
      if (m[1] !== epoch) return { reload: 'the agent restarted since that event' }
      const seq = Number(m[2])
      if (seq >= nextSeq) return { reload: 'unknown event id' }
      const oldest = events[head]?.seq ?? nextSeq
      if (seq < oldest - 1) return { reload: 'events after that one were dropped from the log' }
      return { events: events.slice(head + (seq - oldest + 1)) }
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
    currentId() {
      return `${epoch}-${nextSeq - 1}`
    },
    get size() {
      return events.length - head
    },
  }
}

/** The JSON of an event: `value`/`previous` omitted when absent, `deleted` explicit, `valid: false` passed on. */
export function serialise(e: WatchEvent): string {
  return JSON.stringify({
    namespace: e.namespace,
    key: e.key,
    value: e.value,
    previous: e.previous,
    deleted: e.value === undefined,
    source: e.source,
    author: e.author,
    time: e.time,
    ...(e.valid === false ? { valid: false } : {}),
  })
}
