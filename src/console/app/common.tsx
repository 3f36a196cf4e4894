/**
 * Small building blocks every view uses: a JSON value (folded when long), a peer name, a modal dialog, an error line,
 * a refused write (with a schema's issues).
 *
 * @module
 */
import type { ComponentChildren } from 'preact'
import { useEffect, useRef } from 'preact/hooks'
import { ApiError } from './api.js'
import { formatTime, isLong, pretty, shortPeer, summary } from './format.js'
import type { Json } from './types.js'

/** A value as readable JSON; long ones folded behind a summary the operator can open. */
export function JsonValue({ value, open = false }: { value: Json | undefined; open?: boolean }) {
  if (value === undefined) return <span class="none">(none)</span>
  if (!isLong(value) || open) return <pre class="json">{pretty(value)}</pre>
  return (
    <details class="fold">
      <summary>
        <code>{summary(value, 60)}</code>
      </summary>
      <pre class="json">{pretty(value)}</pre>
    </details>
  )
}

/** A peer, shortened, with the full id as tooltip; the agent itself is marked. */
export function PeerName({ peerId, self }: { peerId: string; self?: string | undefined }) {
  return (
    <span class="peer" title={peerId}>
      {shortPeer(peerId)}
      {peerId === self ? <span class="badge">this agent</span> : null}
    </span>
  )
}

/** A time, with the exact value as tooltip. */
export function Time({ ms }: { ms: number }) {
  return <time dateTime={new Date(ms).toISOString()}>{formatTime(ms)}</time>
}

/** An error message, announced to screen readers. */
export function ErrorLine({ message }: { message: string | undefined }) {
  if (message === undefined) return null
  return (
    <p class="error" role="alert">
      {message}
    </p>
  )
}

/** A status line (what an action did), or nothing. */
export function NoticeLine({ message }: { message: string | undefined }) {
  if (message === undefined) return null
  return (
    <p class="notice" role="status">
      {message}
    </p>
  )
}

/**
 * Why a write failed: the agent's code and message, and for a schema's refusal (`ERR_SCHEMA_VALIDATION`) every
 * violation as a list: which key, where in the value, what is wrong, and which schema said so. A string (a check done
 * in the browser) is shown as it is.
 */
export function Refusal({ error }: { error: unknown }) {
  if (error === undefined) return null
  if (!(error instanceof ApiError)) return <ErrorLine message={typeof error === 'string' ? error : String(error)} />
  if (error.issues.length === 0) return <ErrorLine message={`Refused by the agent (${error.code}): ${error.message}`} />
  return (
    <div class="error refusal" role="alert">
      <p>Refused by a schema, nothing was written:</p>
      <ul>
        {error.issues.map((i) => (
          <li key={`${i.namespace}/${i.key}${i.path}:${i.message}`}>
            <code>
              {i.namespace}/{i.key}
              {i.path}
            </code>{' '}
            {i.message}{' '}
            <span class="schema-ref">
              (schema {i.namespace}/{i.pattern}
              {i.rollout === undefined ? '' : `, rollout ${i.rollout}`})
            </span>
          </li>
        ))}
      </ul>
    </div>
  )
}

/** A modal dialog (the browser's `<dialog>`: focus stays inside, Escape cancels). */
export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null)
  useEffect(() => {
    const dialog = ref.current
    // focus goes back where it was (the button that opened the dialog) when the dialog goes away
    const opener = document.activeElement
    if (dialog !== null && !dialog.open) dialog.showModal()
    return () => {
      dialog?.close()
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus()
    }
  }, [])
  return (
    <dialog
      ref={ref}
      class={props.wide === true ? 'modal wide' : 'modal'}
      aria-label={props.title}
      onCancel={(e) => {
        e.preventDefault()
        props.onClose()
      }}
    >
      <header class="modal-head">
        <h2>{props.title}</h2>
        <button type="button" class="ghost" aria-label="Close" onClick={props.onClose}>
          ✕
        </button>
      </header>
      {props.children}
    </dialog>
  )
}

/** Why an action is disabled in read-only mode. */
export const READ_ONLY_HINT = 'Read-only token: changes are not allowed'
