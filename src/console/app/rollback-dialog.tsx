/**
 * "Roll back to this version": choose the scope (everything, one namespace, or chosen keys of a namespace), see exactly
 * which keys will change (from `GET /v1/diff?from=VERSION`: their value now and the value they get back), then confirm.
 * The rollback is one new change on every peer (`POST /v1/rollback`). Rolling back everything leaves confmesh's own
 * namespaces alone, as the API does.
 *
 * @module
 */
import { useEffect, useMemo, useState } from 'preact/hooks'
import type { Api } from './api.js'
import { Modal, Refusal, Time } from './common.js'
import { DiffTable } from './diff-table.js'
import { isInternalNamespace } from './format.js'
import type { Change, HistoryEntry } from './types.js'

type Scope = 'all' | 'namespace' | 'keys'

/** The dialog. `onDone` gets how many keys the rollback wrote. */
export function RollbackDialog(props: {
  api: Api
  entry: HistoryEntry
  onClose: () => void
  onDone: (written: number) => void
}) {
  const { api, entry } = props
  const [diff, setDiff] = useState<Change[]>()
  const [scope, setScope] = useState<Scope>('all')
  const [namespace, setNamespace] = useState<string>()
  const [chosen, setChosen] = useState<Set<string>>(new Set())
  const [message, setMessage] = useState('')
  const [error, setError] = useState<unknown>()
  const [busy, setBusy] = useState(false)

  useEffect(() => {
    api
      .get<{ changes: Change[] }>(`/v1/diff?from=${encodeURIComponent(entry.id)}`)
      .then(({ changes }) => {
        setDiff(changes)
        const first = changes.find((c) => !isInternalNamespace(c.namespace)) ?? changes[0]
        setNamespace(first?.namespace ?? entry.changes[0]?.namespace)
      })
      .catch((err: Error) => setError(err.message))
  }, [api, entry.id])

  const namespaces = useMemo(() => [...new Set((diff ?? []).map((c) => c.namespace))].sort(), [diff])
  const inNamespace = useMemo(() => (diff ?? []).filter((c) => c.namespace === namespace), [diff, namespace])
  // what the rollback will write: the value now (`after` of the diff) back to the version's (`before`)
  const planned = useMemo(() => {
    const all = diff ?? []
    if (scope === 'all') return all.filter((c) => !isInternalNamespace(c.namespace))
    if (scope === 'namespace') return inNamespace
    return inNamespace.filter((c) => chosen.has(c.key))
  }, [diff, scope, inNamespace, chosen])
  const rows = planned.map((c) => ({ namespace: c.namespace, key: c.key, before: c.after, after: c.before }))

  const confirm = async () => {
    setBusy(true)
    setError(undefined)
    try {
      const body: Record<string, unknown> = { version: entry.id }
      if (scope !== 'all') body.namespace = namespace
      if (scope === 'keys') body.keys = [...chosen]
      if (message.trim() !== '') body.message = message.trim()
      const result = await api.send<{ changes: Change[] }>('POST', '/v1/rollback', body)
      props.onDone(result.changes.length)
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  const toggle = (key: string) =>
    setChosen((cur) => {
      const next = new Set(cur)
      if (next.has(key)) next.delete(key)
      else next.add(key)
      return next
    })

  return (
    <Modal title="Roll back to this version" onClose={props.onClose} wide>
      <p>
        Version of <Time ms={entry.time} />
        {entry.message !== undefined ? ` (“${entry.message}”)` : ''}. The rollback is a new change, applied on every
        peer; keys written elsewhere later still win their key.
      </p>
      <fieldset class="scope">
        <legend>What to roll back</legend>
        <label>
          <input type="radio" name="scope" checked={scope === 'all'} onChange={() => setScope('all')} /> Everything
        </label>
        <label>
          <input type="radio" name="scope" checked={scope === 'namespace'} onChange={() => setScope('namespace')} /> One
          namespace
        </label>
        <label>
          <input type="radio" name="scope" checked={scope === 'keys'} onChange={() => setScope('keys')} /> Chosen keys
        </label>
        {scope !== 'all' ? (
          <label class="inline">
            Namespace
            <select
              value={namespace}
              onChange={(e) => {
                setNamespace(e.currentTarget.value)
                setChosen(new Set())
              }}
            >
              {namespaces.map((ns) => (
                <option key={ns} value={ns}>
                  {ns}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        {scope === 'keys' ? (
          <fieldset class="keys-choice">
            <legend>Keys</legend>
            {inNamespace.length === 0 ? <p class="muted">No key of this namespace differs.</p> : null}
            {inNamespace.map((c) => (
              <label key={c.key}>
                <input type="checkbox" checked={chosen.has(c.key)} onChange={() => toggle(c.key)} /> {c.key}
              </label>
            ))}
          </fieldset>
        ) : null}
      </fieldset>
      {diff === undefined && error === undefined ? <p class="muted">Comparing with the current config…</p> : null}
      {diff !== undefined && rows.length === 0 ? (
        <p class="notice">Nothing to change: this scope already equals the version.</p>
      ) : null}
      {rows.length > 0 ? (
        <DiffTable
          changes={rows}
          labels={['Now', 'After rollback']}
          caption={`${rows.length} key${rows.length === 1 ? '' : 's'} will change`}
        />
      ) : null}
      <label>
        Message (optional)
        <input value={message} maxLength={4096} onInput={(e) => setMessage(e.currentTarget.value)} />
      </label>
      <Refusal error={error} />
      <div class="actions">
        <button type="button" class="ghost" onClick={props.onClose}>
          Cancel
        </button>
        <button type="button" class="danger" disabled={busy || rows.length === 0} onClick={confirm}>
          {busy ? 'Rolling back…' : `Roll back ${rows.length} key${rows.length === 1 ? '' : 's'}`}
        </button>
      </div>
    </Modal>
  )
}
