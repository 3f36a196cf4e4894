/**
 * The live change stream: `GET /v1/watch` (Server-Sent Events) read through `fetch`, because `EventSource` cannot send
 * the `Authorization` header. Frames are parsed by eventsource-parser. A dropped stream reconnects with
 * `Last-Event-ID` (the agent replays what was missed, or sends `event: reload` when it no longer holds it, and the
 * console then re-reads everything).
 *
 * @module
 */
import { createParser } from 'eventsource-parser'
import type { Api } from './api.js'
import type { WatchEvent } from './types.js'

/** What the stream reports. */
export interface WatchHandlers {
  onEvent(event: WatchEvent): void
  /** The agent could not replay what was missed: re-read the state. */
  onReload(): void
  /** Whether the stream is open now. */
  onState(open: boolean): void
  /** The token is no longer accepted. */
  onUnauthorized(): void
}

/** Opens the stream; returns the function that closes it. */
export function watchChanges(api: Api, handlers: WatchHandlers): () => void {
  const abort = new AbortController()
  let lastId: string | undefined
  let retryMs = 1000
  let failures = 0

  const run = async (): Promise<void> => {
    while (!abort.signal.aborted) {
      try {
        const headers: Record<string, string> = { ...api.headers(), accept: 'text/event-stream' }
        if (lastId !== undefined) headers['last-event-id'] = lastId
        const res = await fetch('/v1/watch', { headers, signal: abort.signal })
        if (res.status === 401) {
          handlers.onUnauthorized()
          return
        }
        if (!res.ok || res.body === null) throw new Error(`watch answered ${res.status}`)
        failures = 0
        handlers.onState(true)
        const parser = createParser({
          onEvent(message) {
            if (message.id !== undefined) lastId = message.id
            if (message.event === 'reload') handlers.onReload()
            else if (message.data !== '') handlers.onEvent(JSON.parse(message.data) as WatchEvent)
          },
          onRetry(ms) {
            retryMs = ms
          },
        })
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          parser.feed(value)
        }
      } catch {
        if (abort.signal.aborted) return
        failures++
      }
      handlers.onState(false)
      if (abort.signal.aborted) return
      const delay = Math.min(retryMs * 2 ** Math.min(failures, 3), 10_000)
      await new Promise((resolve) => setTimeout(resolve, delay))
    }
  }
  void run()
  return () => abort.abort()
}
