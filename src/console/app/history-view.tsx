/**
 * History: the mesh's versions newest first (author, time, message, changed keys), each one's changes side by side,
 * "roll back to this version", and snapshots with a message. History is replicated: any agent shows the whole mesh's.
 * The list re-reads itself when a change arrives on the watch stream.
 *
 * @module
 */
import { useCallback, useEffect, useState } from 'preact/hooks'
import { ApiError } from './api.js'
import { ErrorLine, NoticeLine, PeerName, READ_ONLY_HINT, Time } from './common.js'
import type { ViewProps } from './config-view.js'
import { DiffTable } from './diff-table.js'
import { RollbackDialog } from './rollback-dialog.js'
import type { HistoryEntry } from './types.js'

/** Newest versions listed. */
const LIMIT = 200

/** The History view. */
export function HistoryView({ api, access, self, lastEvent, reloads }: ViewProps) {
  const readOnly = access === 'read'
  const [entries, setEntries] = useState<HistoryEntry[]>()
  const [open, setOpen] = useState<Set<string>>(new Set())
  const [rollingBack, setRollingBack] = useState<HistoryEntry>()
  const [message, setMessage] = useState('')
  const [error, setError] = useState<string>()
  const [notice, setNotice] = useState<string>()

  const load = useCallback(async () => {
    try {
      const { entries: list } = await api.get<{ entries: HistoryEntry[] }>(`/v1/history?limit=${LIMIT}`)
      setEntries(list)
    } catch (err) {
      setError((err as Error).message)
    }
  }, [api])

  useEffect(() => {
    void load()
  }, [load, reloads])
  // a burst of changes re-reads once
  useEffect(() => {
    if (lastEvent === undefined) return
    const t = setTimeout(() => void load(), 250)
    return () => clearTimeout(t)
  }, [lastEvent, load])

  const snapshot = async (e: Event) => {
    e.preventDefault()
    try {
      const body = message.trim() === '' ? {} : { message: message.trim() }
      const { version } = await api.send<{ version: { id: string } }>('POST', '/v1/snapshot', body)
      setMessage('')
      setNotice(`Snapshot recorded (version ${version.id.slice(0, 12)}).`)
      void load()
    } catch (err) {
      setError(err instanceof ApiError ? `Refused by the agent (${err.code}): ${err.message}` : String(err))
    }
  }

  const toggle = (id: string) =>
    setOpen((cur) => {
      const next = new Set(cur)
      if (next.has(id)) next.delete(id)
      else next.add(id)
      return next
    })

  return (
    <section class="view history" aria-labelledby="history-title">
      <div class="view-head">
        <h1 id="history-title">History</h1>
        <form class="snapshot" onSubmit={snapshot}>
          <label>
            <span class="sr-only">Snapshot message</span>
            <input
              placeholder="Snapshot message"
              value={message}
              maxLength={4096}
              disabled={readOnly}
              onInput={(e) => setMessage(e.currentTarget.value)}
            />
          </label>
          <button type="submit" class="primary" disabled={readOnly} title={readOnly ? READ_ONLY_HINT : undefined}>
            Take snapshot
          </button>
        </form>
      </div>
      <ErrorLine message={error} />
      <NoticeLine message={notice} />
      {entries?.length === 0 ? <p class="muted">No version yet.</p> : null}
      <ol class="versions">
        {(entries ?? []).map((h) => {
          const shown = open.has(h.id)
          return (
            <li key={h.id} class="version" data-version={h.id}>
              <div class="version-head">
                <Time ms={h.time} />
                <span class="by">
                  by <PeerName peerId={h.author} self={self} />
                </span>
                <span class="message">
                  {h.message ??
                    (h.changes.length === 0
                      ? 'snapshot'
                      : `${h.changes.length} key${h.changes.length === 1 ? '' : 's'} changed`)}
                </span>
                <code class="vid" title={h.id}>
                  {h.id}
                </code>
              </div>
              {h.changes.length > 0 ? (
                <ul class="chips" aria-label="Changed keys">
                  {h.changes.map((c) => (
                    <li key={`${c.namespace}/${c.key}`}>
                      {c.namespace}/{c.key}
                    </li>
                  ))}
                </ul>
              ) : null}
              <div class="version-actions">
                {h.changes.length > 0 ? (
                  <button type="button" aria-expanded={shown} onClick={() => toggle(h.id)}>
                    {shown ? 'Hide changes' : 'Show changes'}
                  </button>
                ) : null}
                <button
                  type="button"
                  disabled={readOnly || !h.available}
                  title={
                    readOnly
                      ? READ_ONLY_HINT
                      : h.available
                        ? undefined
                        : 'This peer cannot rebuild this version (pruned, or still catching up)'
                  }
                  onClick={() => setRollingBack(h)}
                >
                  Roll back to this version…
                </button>
              </div>
              {shown ? <DiffTable changes={h.changes} /> : null}
            </li>
          )
        })}
      </ol>
      {rollingBack !== undefined ? (
        <RollbackDialog
          api={api}
          entry={rollingBack}
          onClose={() => setRollingBack(undefined)}
          onDone={(n) => {
            setRollingBack(undefined)
            setNotice(`Rolled back: ${n} key${n === 1 ? '' : 's'} written.`)
            void load()
          }}
        />
      ) : null}
    </section>
  )
}
