/**
 * Config: namespaces, their keys and values, search by key, add / edit / delete. Changes arriving on the watch stream
 * (from this agent or any other peer) update the table in place and are highlighted for a moment with who wrote them
 * and when. The last writer of each key comes from the namespace's history (one request), then from live events.
 *
 * @module
 */
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks'
import { type Api, keyPath, namespacePath } from './api.js'
import { ErrorLine, JsonValue, Modal, NoticeLine, PeerName, READ_ONLY_HINT, Refusal, Time } from './common.js'
import { isInternalNamespace } from './format.js'
import type { LiveEvent } from './live-view.js'
import type { Access, HistoryEntry, Json } from './types.js'
import { type EditTarget, ValueEditor } from './value-editor.js'

interface KeyMeta {
  author: string
  time: number
  /** The live event that changed it (its row is highlighted for a moment after it arrived). */
  seq?: number
  seenAt?: number
}

/** Props shared by the views. */
export interface ViewProps {
  api: Api
  access: Access
  self: string | undefined
  /** The newest change seen on the watch stream. */
  lastEvent: LiveEvent | undefined
  /** Increments when everything must be re-read (the watch stream missed events). */
  reloads: number
}

const DEFAULT_NAMESPACE = 'default'
/** How long a changed row stays highlighted (the CSS animation's length). */
const FLASH_MS = 4000

function pickNamespace(list: string[], current: string | undefined): string {
  if (current !== undefined && list.includes(current)) return current
  return list.find((n) => n === DEFAULT_NAMESPACE) ?? list.find((n) => !isInternalNamespace(n)) ?? list[0] ?? 'default'
}

/** The Config view. */
export function ConfigView({ api, access, self, lastEvent, reloads }: ViewProps) {
  const readOnly = access === 'read'
  const [namespaces, setNamespaces] = useState<string[]>([])
  const [selected, setSelected] = useState<string>()
  const [entries, setEntries] = useState<Record<string, Json>>({})
  const [meta, setMeta] = useState<Record<string, KeyMeta>>({})
  const [search, setSearch] = useState('')
  const [editing, setEditing] = useState<EditTarget>()
  const [deleting, setDeleting] = useState<string>()
  const [error, setError] = useState<string>()
  const [notice, setNotice] = useState<string>()

  const loadNamespaces = useCallback(async () => {
    try {
      const { namespaces: list } = await api.get<{ namespaces: string[] }>('/v1/kv')
      setNamespaces(list)
      setSelected((cur) => pickNamespace(list, cur))
    } catch (err) {
      setError((err as Error).message)
    }
  }, [api])

  const loadEntries = useCallback(
    async (ns: string) => {
      try {
        const [{ entries: e }, { entries: history }] = await Promise.all([
          api.get<{ entries: Record<string, Json> }>(namespacePath(ns)),
          api.get<{ entries: HistoryEntry[] }>(`/v1/history?namespace=${encodeURIComponent(ns)}&limit=1000`),
        ])
        const m: Record<string, KeyMeta> = {}
        for (const h of history) {
          for (const c of h.changes) if (c.namespace === ns && m[c.key] === undefined) m[c.key] = h
        }
        setEntries(e)
        setMeta(m)
        setError(undefined)
      } catch (err) {
        setError((err as Error).message)
      }
    },
    [api],
  )

  useEffect(() => {
    void loadNamespaces()
  }, [loadNamespaces, reloads])
  useEffect(() => {
    if (selected !== undefined) void loadEntries(selected)
  }, [selected, loadEntries, reloads])

  // live changes: applied in place, highlighted
  useEffect(() => {
    if (lastEvent === undefined) return
    const { event, seq } = lastEvent
    if (!event.deleted && !namespaces.includes(event.namespace)) {
      setNamespaces((list) => [...list, event.namespace].sort())
    }
    if (event.deleted) void loadNamespaces() // the namespace may be empty now
    if (event.namespace !== selected) return
    setEntries((cur) => {
      const next = { ...cur }
      if (event.deleted) delete next[event.key]
      else next[event.key] = event.value as Json
      return next
    })
    setMeta((cur) => ({
      ...cur,
      [event.key]: { author: event.author, time: event.time, seq, seenAt: lastEvent.receivedAt },
    }))
  }, [lastEvent])

  const keys = useMemo(() => {
    const needle = search.trim().toLowerCase()
    return Object.keys(entries)
      .filter((k) => needle === '' || k.toLowerCase().includes(needle))
      .sort()
  }, [entries, search])

  const saved = (what: string) => {
    setEditing(undefined)
    setNotice(what)
    void loadNamespaces()
    if (selected !== undefined) void loadEntries(selected)
  }

  return (
    <section class="view config" aria-labelledby="config-title">
      <div class="view-head">
        <h1 id="config-title">Config</h1>
        <button
          type="button"
          class="primary"
          disabled={readOnly}
          title={readOnly ? READ_ONLY_HINT : undefined}
          onClick={() => setEditing({ namespace: selected ?? DEFAULT_NAMESPACE })}
        >
          Add key
        </button>
      </div>
      <ErrorLine message={error} />
      <NoticeLine message={notice} />
      <div class="split">
        <nav class="namespaces" aria-label="Namespaces">
          <h2>Namespaces</h2>
          {namespaces.length === 0 ? <p class="muted">No namespace holds a key yet.</p> : null}
          <ul class="ns-list">
            {namespaces.map((ns) => (
              <li key={ns}>
                <button
                  type="button"
                  class={ns === selected ? 'ns current' : 'ns'}
                  aria-current={ns === selected ? 'true' : undefined}
                  onClick={() => setSelected(ns)}
                >
                  {ns}
                  {isInternalNamespace(ns) ? <span class="badge">internal</span> : null}
                </button>
              </li>
            ))}
          </ul>
        </nav>
        <div class="keys">
          <div class="toolbar">
            <h2>{selected ?? ''}</h2>
            <label class="search">
              <span>Search keys</span>
              <input type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
            </label>
          </div>
          <table class="kv">
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Value</th>
                <th scope="col">Last change</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.length === 0 ? (
                <tr>
                  <td colSpan={4} class="muted">
                    {search === '' ? 'No keys.' : `No key matches "${search}".`}
                  </td>
                </tr>
              ) : null}
              {keys.map((k) => {
                const m = meta[k]
                const fresh = m?.seenAt !== undefined && Date.now() - m.seenAt < FLASH_MS
                return (
                  <tr key={`${k}:${m?.seq ?? 0}`} class={fresh ? 'flash' : undefined} data-key={k}>
                    <th scope="row" class="key">
                      {k}
                    </th>
                    <td class="value">
                      <JsonValue value={entries[k]} />
                    </td>
                    <td class="meta">
                      {m === undefined ? (
                        <span class="muted">—</span>
                      ) : (
                        <>
                          <PeerName peerId={m.author} self={self} />
                          <br />
                          <Time ms={m.time} />
                        </>
                      )}
                    </td>
                    <td class="row-actions">
                      <button
                        type="button"
                        disabled={readOnly}
                        title={readOnly ? READ_ONLY_HINT : undefined}
                        aria-label={`Edit ${k}`}
                        onClick={() => setEditing({ namespace: selected!, key: k, value: entries[k] as Json })}
                      >
                        Edit
                      </button>
                      <button
                        type="button"
                        class="danger"
                        disabled={readOnly}
                        title={readOnly ? READ_ONLY_HINT : undefined}
                        aria-label={`Delete ${k}`}
                        onClick={() => setDeleting(k)}
                      >
                        Delete
                      </button>
                    </td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        </div>
      </div>
      {editing !== undefined ? (
        <ValueEditor
          api={api}
          target={editing}
          onClose={() => setEditing(undefined)}
          onSaved={() => saved(`Saved ${editing.namespace}/${editing.key ?? ''}.`)}
        />
      ) : null}
      {deleting !== undefined && selected !== undefined ? (
        <DeleteDialog
          api={api}
          namespace={selected}
          keyName={deleting}
          value={entries[deleting]}
          onClose={() => setDeleting(undefined)}
          onDeleted={() => {
            setDeleting(undefined)
            saved(`Deleted ${selected}/${deleting}.`)
          }}
        />
      ) : null}
    </section>
  )
}

function DeleteDialog(props: {
  api: Api
  namespace: string
  keyName: string
  value: Json | undefined
  onClose: () => void
  onDeleted: () => void
}) {
  const [error, setError] = useState<unknown>()
  const confirm = async () => {
    try {
      await props.api.send('DELETE', keyPath(props.namespace, props.keyName))
      props.onDeleted()
    } catch (err) {
      setError(err)
    }
  }
  return (
    <Modal title={`Delete ${props.namespace}/${props.keyName}?`} onClose={props.onClose}>
      <p>The key and its value are removed on every peer. Its current value:</p>
      <JsonValue value={props.value} open />
      <Refusal error={error} />
      <div class="actions">
        <button type="button" class="ghost" onClick={props.onClose}>
          Cancel
        </button>
        <button type="button" class="danger" onClick={confirm}>
          Delete
        </button>
      </div>
    </Modal>
  )
}
