/**
 * Token login, shown when the agent has tokens and this tab holds none (or one it no longer accepts). The token is
 * checked against the agent before it is kept (in `sessionStorage`, for this tab only).
 *
 * @module
 */
import { useState } from 'preact/hooks'
import { ErrorLine } from './common.js'

/** The login form; `onToken` resolves with an error message when the agent refuses the token. */
export function Login(props: { onToken: (token: string) => Promise<string | undefined>; reason?: string | undefined }) {
  const [token, setToken] = useState('')
  const [error, setError] = useState<string | undefined>(props.reason)
  const [busy, setBusy] = useState(false)
  const submit = async (e: Event) => {
    e.preventDefault()
    if (token.trim() === '') {
      setError('Enter the access token.')
      return
    }
    setBusy(true)
    setError(await props.onToken(token.trim()))
    setBusy(false)
  }
  return (
    <main class="login">
      <form class="card" onSubmit={submit}>
        <h1>confmesh console</h1>
        <p>
          This agent requires an access token (a line of its token file). A read token can browse; a write token can
          also change the configuration.
        </p>
        <label>
          Access token
          <input
            type="password"
            name="token"
            autoComplete="current-password"
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
          />
        </label>
        <ErrorLine message={error} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <p class="muted small">Kept for this browser tab only (session storage).</p>
      </form>
    </main>
  )
}
