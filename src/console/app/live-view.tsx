/**
 * Live: the changes this agent sees, newest first, as they arrive on the watch stream: which key, the value before and
 * after, who wrote it (this agent or another peer) and when. New rows are highlighted for a moment.
 *
 * @module
 */
import { JsonValue, PeerName, Time } from './common.js'
import type { WatchEvent } from './types.js'

/** A change as the console received it. */
export interface LiveEvent {
  /** Arrival order (1, 2, ...). */
  seq: number
  event: WatchEvent
  /** `Date.now()` on arrival. */
  receivedAt: number
}

/** The Live view. */
export function LiveView(props: { events: LiveEvent[]; self: string | undefined; connected: boolean }) {
  return (
    <section class="view live" aria-labelledby="live-title">
      <div class="view-head">
        <h1 id="live-title">Live changes</h1>
        <p class={props.connected ? 'stream on' : 'stream off'} role="status">
          {props.connected ? 'Watching: changes appear as they happen' : 'Reconnecting to the change stream…'}
        </p>
      </div>
      {props.events.length === 0 ? (
        <p class="muted">No change since this page opened. Changes made on any peer appear here without a reload.</p>
      ) : null}
      <ol class="feed" aria-live="polite">
        {props.events.map(({ seq, event, receivedAt }) => (
          <li key={seq} class={Date.now() - receivedAt < 4000 ? 'change flash' : 'change'}>
            <div class="change-head">
              <strong class="change-key">
                {event.namespace}/{event.key}
              </strong>
              <span class={event.deleted ? 'tag del' : event.previous === undefined ? 'tag add' : 'tag upd'}>
                {event.deleted ? 'deleted' : event.previous === undefined ? 'added' : 'updated'}
              </span>
              <span class="by">
                by <PeerName peerId={event.author} self={props.self} /> at <Time ms={event.time} />
                {event.source === 'remote' ? ' (from another peer)' : ' (through this agent)'}
              </span>
            </div>
            <div class="before-after">
              <div>
                <span class="label">Before</span>
                <JsonValue value={event.previous} />
              </div>
              <div>
                <span class="label">After</span>
                <JsonValue value={event.deleted ? undefined : event.value} />
              </div>
            </div>
          </li>
        ))}
      </ol>
    </section>
  )
}
