/**
 * The console's shell: signs in when the agent wants a token, finds out what the token may do, keeps the watch stream
 * open for every view, and routes between the views by the URL's hash (`#/config`, `#/live`, `#/history`, `#/mesh`:
 * real links, so the back button and bookmarks work).
 *
 * @module
 */
import { useCallback, useEffect, useState } from 'preact/hooks'
import { type Api, ApiError, createApi } from './api.js'
import { ConfigView, type ViewProps } from './config-view.js'
import { HistoryView } from './history-view.js'
import { type LiveEvent, LiveView } from './live-view.js'
import { Login } from './login.js'
import { MeshView } from './mesh-view.js'
import { loadToken, saveToken } from './token-store.js'
import type { Access, Status } from './types.js'
import { watchChanges } from './watch.js'

const ROUTES = [
  { id: 'config', label: 'Config' },
  { id: 'live', label: 'Live' },
  { id: 'history', label: 'History' },
  { id: 'mesh', label: 'Mesh' },
] as const
type Route = (typeof ROUTES)[number]['id']

/** Live changes kept for the Live view. */
const MAX_EVENTS = 200

function routeOf(hash: string): Route {
  const id = hash.replace(/^#\/?/, '').split('/')[0]
  return ROUTES.find((r) => r.id === id)?.id ?? 'config'
}

type Session =
  | { phase: 'starting' }
  | { phase: 'login'; reason?: string }
  | { phase: 'ready'; api: Api; access: Access; status: Status }
  | { phase: 'failed'; message: string }

/** Signs in with `api`: its status and access, or why not. */
async function open(api: Api): Promise<Exclude<Session, { phase: 'starting' }>> {
  try {
    const status = await api.get<Status>('/v1/status')
    return { phase: 'ready', api, status, access: status.access }
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      return api.token === undefined
        ? { phase: 'login' }
        : { phase: 'login', reason: 'This token is not accepted by the agent.' }
    }
    return { phase: 'failed', message: (err as Error).message }
  }
}

/** The app. */
export function App() {
  const [session, setSession] = useState<Session>({ phase: 'starting' })
  const [route, setRoute] = useState<Route>(routeOf(location.hash))
  const [events, setEvents] = useState<LiveEvent[]>([])
  const [connected, setConnected] = useState(false)
  const [reloads, setReloads] = useState(0)

  useEffect(() => {
    void open(createApi(loadToken())).then(setSession)
    const onHash = () => setRoute(routeOf(location.hash))
    addEventListener('hashchange', onHash)
    return () => removeEventListener('hashchange', onHash)
  }, [])

  const api = session.phase === 'ready' ? session.api : undefined
  useEffect(() => {
    if (api === undefined) return
    let seq = 0
    return watchChanges(api, {
      onEvent: (event) => {
        seq++
        const e = { seq, event, receivedAt: Date.now() }
        setEvents((cur) => [e, ...cur].slice(0, MAX_EVENTS))
      },
      onReload: () => setReloads((n) => n + 1),
      onState: setConnected,
      onUnauthorized: () => {
        saveToken(undefined)
        setSession({ phase: 'login', reason: 'The agent no longer accepts this token.' })
      },
    })
  }, [api])

  const signIn = useCallback(async (token: string) => {
    const next = await open(createApi(token))
    if (next.phase === 'ready') {
      saveToken(token)
      setSession(next)
      return undefined
    }
    return next.phase === 'login' ? (next.reason ?? 'This token is not accepted.') : next.message
  }, [])

  const signOut = () => {
    saveToken(undefined)
    setEvents([])
    setSession({ phase: 'login' })
  }

  if (session.phase === 'starting') return <p class="loading">Connecting to the agent…</p>
  if (session.phase === 'login') return <Login onToken={signIn} reason={session.reason} />
  if (session.phase === 'failed') {
    return (
      <main class="login">
        <div class="card">
          <h1>confmesh console</h1>
          <p class="error" role="alert">
            The agent cannot be reached: {session.message}
          </p>
          <button type="button" class="primary" onClick={() => location.reload()}>
            Retry
          </button>
        </div>
      </main>
    )
  }

  const props: ViewProps = {
    api: session.api,
    access: session.access,
    self: session.status.peerId,
    lastEvent: events[0],
    reloads,
  }
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <div class="brand">
          <strong>confmesh</strong>
          <span class="muted">mesh {session.status.meshName}</span>
        </div>
        <nav aria-label="Views">
          <ul class="views-nav">
            {ROUTES.map((r) => (
              <li key={r.id}>
                <a href={`#/${r.id}`} aria-current={route === r.id ? 'page' : undefined}>
                  {r.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span class={connected ? 'dot on' : 'dot off'} title={connected ? 'Watching changes' : 'Reconnecting'}>
            <span class="sr-only">{connected ? 'Watching changes' : 'Reconnecting'}</span>
          </span>
          <span class={`access ${session.access}`}>
            {session.access === 'read' ? 'read-only' : session.access === 'write' ? 'read-write' : 'no tokens'}
          </span>
          {session.api.token !== undefined ? (
            <button type="button" class="ghost" onClick={signOut}>
              Sign out
            </button>
          ) : null}
        </div>
      </header>
      {session.access === 'read' ? (
        <p class="banner" role="note">
          Read-only: this token can browse but not change the configuration.
        </p>
      ) : null}
      <main id="main" tabIndex={-1}>
        {route === 'config' ? <ConfigView {...props} /> : null}
        {route === 'live' ? <LiveView events={events} self={props.self} connected={connected} /> : null}
        {route === 'history' ? <HistoryView {...props} /> : null}
        {route === 'mesh' ? <MeshView {...props} /> : null}
      </main>
    </>
  )
}
