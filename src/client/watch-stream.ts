/**
 * A reconnecting reader of the agent's Server-Sent-Events watch (`GET /v1/watch`), framed by `eventsource-parser`
 * over `fetch`. Guarantees:
 * - every change event the agent sends is delivered once, in order, with its `id`;
 * - a dropped connection is re-opened (backoff from {@link DEFAULT_WATCH_RETRY_MS} up to {@link MAX_WATCH_RETRY_MS},
 *   or the agent's `retry:` hint) with `Last-Event-ID` set to the last id seen, so the agent replays what was missed;
 *   when it no longer holds those events it sends a `reload` event, handed to `onReload` (re-read the state);
 * - a refusal (401/403/404/other 4xx) is final: the stream ends and `closed` rejects with the typed error;
 * - `stop()` ends the stream; `closed` then resolves.
 *
 * @module
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import type { JsonValue } from '../config/value.js'
import { type ApiClient, describeFetchError, query, readAnswer } from './api-client.js'
import { ApiError, ApiRefusedError, ApiServerError, ApiUnreachableError } from './errors.js'

/** First reconnect delay after a dropped watch connection (ms); doubles per failed attempt. */
export const DEFAULT_WATCH_RETRY_MS = 250
/** Longest reconnect delay (ms). */
export const MAX_WATCH_RETRY_MS = 5_000

/** A change as the watch stream carries it (the agent's watch event). */
export interface ApiWatchEvent {
  readonly namespace: string
  readonly key: string
  readonly value?: JsonValue
  readonly previous?: JsonValue
  /** `true` after a delete (then `value` is absent). */
  readonly deleted?: boolean
  readonly source?: 'local' | 'remote'
  readonly author?: string
  readonly time?: number
}

/** Options of {@link openWatchStream}. */
export interface WatchStreamOptions {
  /** Only this namespace. Default: all. */
  namespace?: string
  /** Only keys starting with this prefix. Default: all. */
  prefix?: string
  /** Only this key. Default: all. */
  key?: string
  /** Resume after this event id (sent as `Last-Event-ID` on the first connection too). Default: from now on. */
  lastEventId?: string
  /** Called with every change event, in order. */
  onEvent(event: ApiWatchEvent, id: string | undefined): void
  /** Called when the agent cannot replay what this stream missed: re-read the state. Default: nothing. */
  onReload?(): void
  /** Called when a connection is open (the first and every re-opened one). */
  onOpen?(reconnected: boolean): void
  /** Called when a connection dropped and will be re-opened. */
  onDisconnect?(err: Error): void
  /** First reconnect delay (ms); given, it overrides the agent's `retry:` hint. Default {@link DEFAULT_WATCH_RETRY_MS}. */
  retryMs?: number
}

/** An open watch stream. */
export interface WatchStream {
  /** The last event id seen (what a reconnect sends as `Last-Event-ID`). */
  readonly lastEventId: string | undefined
  /** Resolves after `stop()`; rejects with the {@link ApiError} that ended the stream for good (a refusal). */
  readonly closed: Promise<void>
  /** Ends the stream. */
  stop(): Promise<void>
}

/** Opens the watch stream of `client`'s agent. */
export function openWatchStream(client: ApiClient, options: WatchStreamOptions): WatchStream {
  const abort = new AbortController()
  let lastEventId = options.lastEventId
  let retryMs = options.retryMs ?? DEFAULT_WATCH_RETRY_MS
  const path = `/v1/watch${query({ namespace: options.namespace, prefix: options.prefix, key: options.key })}`

  const dispatch = (message: EventSourceMessage): void => {
    if (message.id !== undefined && message.id !== '') lastEventId = message.id
    if (message.event === 'reload') {
      options.onReload?.()
      return
    }
    let data: unknown
    try {
      data = JSON.parse(message.data)
    } catch {
      return // not a change (the agent's own announcements); nothing to deliver
    }
    const d = data as { type?: unknown; namespace?: unknown; key?: unknown }
    if (d !== null && typeof d === 'object' && d.type === 'reload') options.onReload?.()
    else if (d !== null && typeof d === 'object' && typeof d.namespace === 'string' && typeof d.key === 'string') {
      options.onEvent(d as ApiWatchEvent, message.id)
    }
  }

  /** One connection: resolves when the server ends the stream; rejects on refusal or network failure. */
  const connectOnce = async (reconnected: boolean): Promise<void> => {
    let res: Response
    try {
      res = await fetch(client.url(path), {
        headers: {
          ...client.headers(),
          accept: 'text/event-stream',
          ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
        },
        signal: abort.signal,
      })
    } catch (err) {
      throw new ApiUnreachableError(`cannot reach ${client.endpoint}: ${describeFetchError(err)}`, 0, undefined, {
        cause: err,
      })
    }
    if (!res.ok) await readAnswer(res, `GET ${path}`) // throws the typed error
    if (res.body === null) throw new ApiServerError(`GET ${path}: the agent answered without a body`, res.status)
    retryMs = options.retryMs ?? DEFAULT_WATCH_RETRY_MS
    options.onOpen?.(reconnected)
    const parser = createParser({
      onEvent: dispatch,
      onId: (id) => {
        lastEventId = id // also from id-only frames: the agent marks where a stream stands
      },
      onRetry: (ms) => {
        if (options.retryMs === undefined && ms > 0) retryMs = Math.min(ms, MAX_WATCH_RETRY_MS)
      },
    })
    const decoder = new TextDecoder()
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      parser.feed(decoder.decode(chunk, { stream: true }))
    }
  }

  const run = async (): Promise<void> => {
    let reconnected = false
    while (!abort.signal.aborted) {
      try {
        await connectOnce(reconnected)
        if (abort.signal.aborted) return
        options.onDisconnect?.(new ApiServerError('the agent ended the watch stream', 0))
      } catch (err) {
        if (abort.signal.aborted) return
        if (err instanceof ApiRefusedError || (err instanceof ApiError && err.status >= 400 && err.status < 500)) {
          throw err
        }
        options.onDisconnect?.(err as Error)
      }
      reconnected = true
      await delay(retryMs, abort.signal)
      retryMs = Math.min(retryMs * 2, MAX_WATCH_RETRY_MS)
    }
  }

  const closed = run()
  closed.catch(() => {}) // observed through `closed`; never an unhandled rejection
  return {
    get lastEventId() {
      return lastEventId
    },
    closed,
    async stop() {
      abort.abort()
      await closed.catch(() => {})
    },
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}
