/**
 * The add / edit form of one key: namespace, key and the value as JSON text. The text is parsed before anything is
 * sent; invalid JSON gets a message saying where it broke and sends nothing. The API's refusal (bad key, read-only
 * peer, ...) is shown as the API words it.
 *
 * @module
 */
import { useState } from 'preact/hooks'
import { type Api, keyPath } from './api.js'
import { Modal, Refusal } from './common.js'
import type { Json } from './types.js'

/** What the editor starts with (`key` undefined: a new key). */
export interface EditTarget {
  namespace: string
  key?: string
  value?: Json
}

/** Parses JSON text: the value, or the parser's complaint. */
export function parseJson(text: string): { ok: true; value: Json } | { ok: false; message: string } {
  if (text.trim() === '') return { ok: false, message: 'Enter a JSON value (for text, quote it: "text").' }
  try {
    return { ok: true, value: JSON.parse(text) as Json }
  } catch (err) {
    return { ok: false, message: `Not valid JSON, nothing was sent: ${(err as Error).message}` }
  }
}

/** The editor dialog; `onSaved` runs after the agent accepted the value. */
export function ValueEditor(props: { api: Api; target: EditTarget; onClose: () => void; onSaved: () => void }) {
  const { target } = props
  const isNew = target.key === undefined
  const [namespace, setNamespace] = useState(target.namespace)
  const [key, setKey] = useState(target.key ?? '')
  const [text, setText] = useState(target.value === undefined ? '' : JSON.stringify(target.value, null, 2))
  const [error, setError] = useState<unknown>()
  const [busy, setBusy] = useState(false)

  const submit = async (e: Event) => {
    e.preventDefault()
    if (namespace.trim() === '' || key === '') {
      setError('Namespace and key are required.')
      return
    }
    const parsed = parseJson(text)
    if (!parsed.ok) {
      setError(parsed.message)
      return
    }
    setBusy(true)
    setError(undefined)
    try {
      await props.api.send('PUT', keyPath(namespace, key), parsed.value)
      props.onSaved()
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <Modal title={isNew ? 'Add a key' : `Edit ${target.namespace}/${target.key}`} onClose={props.onClose}>
      <form class="editor" onSubmit={submit} noValidate>
        <label>
          Namespace
          <input
            name="namespace"
            value={namespace}
            autofocus={isNew && namespace === ''}
            readOnly={!isNew}
            required
            onInput={(e) => setNamespace(e.currentTarget.value)}
          />
        </label>
        <label>
          Key
          <input
            name="key"
            value={key}
            readOnly={!isNew}
            required
            autofocus={isNew && namespace !== ''}
            onInput={(e) => setKey(e.currentTarget.value)}
          />
        </label>
        <label>
          Value (JSON)
          <textarea
            name="value"
            rows={10}
            autofocus={!isNew}
            spellcheck={false}
            value={text}
            aria-invalid={error !== undefined}
            onInput={(e) => {
              setText(e.currentTarget.value)
              setError(undefined)
            }}
          />
        </label>
        <Refusal error={error} />
        <div class="actions">
          <button type="button" class="ghost" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Saving…' : 'Save'}
          </button>
        </div>
      </form>
    </Modal>
  )
}
