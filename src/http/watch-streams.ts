/**
 * `GET /v1/watch`: Server-Sent Events streams of the agent's watch events.
 *
 * Each stream starts with a frame that sets the client's last event id to the log's current position (so even a
 * client that saw no event yet resumes without a gap), replays what a `Last-Event-ID` missed (or sends
 * `event: reload` when the log no longer holds it), then streams live events matching its filter, one frame each
 * (`id:` + `data:` one JSON line). Replay and subscription happen in one synchronous step: no event falls between.
 * Keep-alive comments go out every `keepAliveMs`. A client that does not read (its unsent data passes
 * `maxBufferedBytes`) is disconnected; it resumes with `Last-Event-ID` like after any dropped connection.
 *
 * @module
 */
import type { ServerResponse } from 'node:http'
import type { EventLog, LoggedEvent } from './event-log.js'

/** Which events a stream wants. */
export interface WatchFilter {
  namespace?: string
  prefix?: string
  key?: string
}

/** Options of {@link createWatchStreams}. */
export interface WatchStreamsOptions {
  /** Period of keep-alive comments in ms. Default {@link DEFAULT_KEEP_ALIVE_MS}. */
  keepAliveMs?: number
  /** Unsent bytes (already queued when the next frame is due) after which a slow client is dropped. Default 8 MiB. */
  maxBufferedBytes?: number
  /** SSE `retry:` hint to clients, ms. Default 1000. */
  retryMs?: number
}

/** Default keep-alive period: 15 s (below the common 30-60 s idle timeouts of proxies). */
export const DEFAULT_KEEP_ALIVE_MS = 15_000

/** The open watch streams of one API. */
export interface WatchStreams {
  /** Serves one stream on `res` (already hijacked from the framework) until the client leaves or {@link closeAll}. */
  open(res: ServerResponse, filter: WatchFilter, lastEventId: string | undefined): void
  /** Ends every stream (at shutdown). */
  closeAll(): void
  /** Streams open now. */
  readonly size: number
}

/** Creates the stream set over `log`. */
export function createWatchStreams(log: EventLog, options: WatchStreamsOptions = {}): WatchStreams {
  const maxBuffered = options.maxBufferedBytes ?? 8 * 1024 * 1024
  /** Open streams, each with its writer (which drops a closed or too slow stream instead of writing). */
  const streams = new Map<ServerResponse, (frame: string) => void>()
  const timer = setInterval(() => {
    for (const send of streams.values()) send(': keep-alive\n\n')
  }, options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS)
  timer.unref()

  return {
    open(res, filter, lastEventId) {
      const wanted = matcher(filter)
      const send = (frame: string): void => {
        if (res.writableEnded || res.destroyed) return
        // the backlog before this frame decides: one frame larger than the bound still goes out to a reading client
        if (res.writableLength > maxBuffered) res.destroy()
        else res.write(frame)
      }
      const frameOf = (e: LoggedEvent): string => `id: ${e.id}\ndata: ${e.data}\n\n`
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      })
      // replay + subscribe in one synchronous step
      const resume = lastEventId === undefined ? { events: [] } : log.since(lastEventId)
      let first = `retry: ${options.retryMs ?? 1000}\n`
      if (resume.events === undefined) {
        first += `id: ${log.currentId()}\nevent: reload\ndata: ${JSON.stringify({ reason: resume.reload })}\n\n`
      } else {
        for (const e of resume.events) if (wanted(e)) first += frameOf(e)
        first += `id: ${log.currentId()}\n\n`
      }
      const unsubscribe = log.subscribe((e) => {
        if (wanted(e)) send(frameOf(e))
      })
      streams.set(res, send)
      res.on('close', () => {
        unsubscribe()
        streams.delete(res)
      })
      send(first)
    },
    closeAll() {
      clearInterval(timer)
      for (const res of streams.keys()) res.end()
      streams.clear()
    },
    get size() {
      return streams.size
    },
  }
}

function matcher(filter: WatchFilter): (e: LoggedEvent) => boolean {
  const { namespace, prefix, key } = filter
  return ({ event }) =>
    (namespace === undefined || event.namespace === namespace) &&
    (key === undefined || event.key === key) &&
    (prefix === undefined || event.key.startsWith(prefix))
}
