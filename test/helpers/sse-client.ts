/**
 * A minimal Server-Sent Events reader over `fetch` (eventsource-parser does the framing) for tests and benchmarks of
 * `GET /v1/watch`: collects every event with its id and type, tracks the last event id like `EventSource` does (also
 * from id-only frames), and closes on demand (`close()` drops the TCP connection, as a network failure would).
 *
 * @module
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import { waitFor } from './wait-for.js'

/** One received event; `data` parsed as JSON when it is JSON. */
export interface SseEvent {
  readonly id: string | undefined
  readonly event: string
  readonly data: unknown
  /** `performance.now()` when it arrived. */
  readonly at: number
}

/** An open stream. */
export interface SseStream {
  readonly status: number
  readonly events: SseEvent[]
  /** The last event id seen (from any frame with `id:`). */
  readonly lastEventId: string | undefined
  /** Comments seen (keep-alives). */
  readonly comments: number
  /** Resolves with the first event (already received or future) for which `match` holds. */
  next(match: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>
  /** Aborts the request (drops the connection). */
  close(): void
  /** Resolves when the server ended the stream or it was closed. */
  readonly ended: Promise<void>
  /** Called for every event as it arrives (set by benchmarks). */
  onEvent?: (e: SseEvent) => void
}

/** Opens `url` as an event stream; resolves once the response headers arrived (the server subscribed already). */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const controller = new AbortController()
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal })
  const events: SseEvent[] = []
  const state = { lastEventId: undefined as string | undefined, comments: 0 }
  let stream: SseStream
  const parser = createParser({
    onEvent(m: EventSourceMessage) {
      let data: unknown = m.data
      try {
        data = JSON.parse(m.data)
      } catch {
        // not JSON: keep the text
      }
      const e: SseEvent = { id: m.id, event: m.event ?? 'message', data, at: performance.now() }
      events.push(e)
      stream.onEvent?.(e)
    },
    onId(id: string) {
      state.lastEventId = id // also id-only frames, which dispatch no event
    },
    onComment() {
      state.comments++
    },
  })
  const ended = (async () => {
    if (res.body === null) return
    const decoder = new TextDecoder()
    try {
      for await (const chunk of res.body) {
        parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }))
      }
    } catch {
      // aborted or dropped
    }
  })()
  stream = {
    status: res.status,
    events,
    get lastEventId() {
      return state.lastEventId
    },
    get comments() {
      return state.comments
    },
    next: (match, timeoutMs = 15_000) =>
      waitFor(() => events.find(match), { timeoutMs, intervalMs: 5, message: 'an SSE event' }),
    close: () => controller.abort(),
    ended,
  }
  return stream
}
