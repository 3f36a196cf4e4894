/**
 * Mesh: the live members as this agent sees them (weight, tags, connection, readiness), the consistent-hash ring drawn
 * with arcs sized by each member's share, and "who owns key K" with the owners highlighted in the table and the ring.
 * Refreshed every {@link REFRESH_MS} while shown.
 *
 * Everything comes from three reads per refresh: `GET /v1/status` (the agent itself, as a member), `GET /v1/peers`
 * (the others) and `GET /v1/ring` (members with their weights and shares of the key space, as the agent computes them).
 *
 * @module
 */
import { useEffect, useState } from 'preact/hooks'
import { ErrorLine, PeerName } from './common.js'
import type { ViewProps } from './config-view.js'
import { memberColor, RingChart } from './ring-chart.js'
import type { Peer, RingShare, Status } from './types.js'

/** Refresh period of the member list, ms. */
export const REFRESH_MS = 2000

interface RingAnswer {
  members: string[]
  key?: string
  owners?: string[]
  shares?: RingShare[]
}

/** The Mesh view. */
export function MeshView({ api, self }: ViewProps) {
  const [status, setStatus] = useState<Status>()
  const [peers, setPeers] = useState<Peer[]>([])
  const [members, setMembers] = useState<string[]>([])
  const [shares, setShares] = useState<RingShare[]>([])
  const [lookup, setLookup] = useState({ key: '', n: 1 })
  const [owners, setOwners] = useState<{ key: string; owners: string[] }>()
  const [error, setError] = useState<string>()

  useEffect(() => {
    let stopped = false
    const refresh = async () => {
      try {
        const [s, p, r] = await Promise.all([
          api.get<Status>('/v1/status'),
          api.get<{ peers: Peer[] }>('/v1/peers'),
          api.get<RingAnswer>('/v1/ring'),
        ])
        if (stopped) return
        setStatus(s)
        setPeers([s.member, ...p.peers])
        setMembers(r.members)
        setShares(r.shares ?? [])
        setError(undefined)
      } catch (err) {
        if (!stopped) setError((err as Error).message)
      }
    }
    void refresh()
    const timer = setInterval(() => void refresh(), REFRESH_MS)
    return () => {
      stopped = true
      clearInterval(timer)
    }
  }, [api])

  const find = async (e: Event) => {
    e.preventDefault()
    if (lookup.key === '') return
    try {
      const r = await api.get<RingAnswer>(`/v1/ring?key=${encodeURIComponent(lookup.key)}&n=${lookup.n}`)
      setOwners({ key: lookup.key, owners: r.owners ?? [] })
      setError(undefined)
    } catch (err) {
      setError((err as Error).message)
    }
  }

  const byId = new Map(peers.map((p) => [p.peerId, p]))
  const shareOf = new Map(shares.map((s) => [s.peerId, s.share]))
  const rows = [...new Set([...members, ...peers.map((p) => p.peerId)])]
  const ownerRank = (m: string) => owners?.owners.indexOf(m) ?? -1
  return (
    <section class="view mesh" aria-labelledby="mesh-title">
      <div class="view-head">
        <h1 id="mesh-title">Mesh</h1>
        {status !== undefined ? (
          <p class="muted">
            Mesh <strong>{status.meshName}</strong> · {status.members} member{status.members === 1 ? '' : 's'} on the
            ring · confmesh {status.version}
          </p>
        ) : null}
      </div>
      <ErrorLine message={error} />
      <div class="mesh-grid">
        <div class="ring-panel">
          <RingChart
            members={members}
            shares={members.map((m) => shareOf.get(m) ?? 1 / members.length)}
            owners={owners?.owners}
            label={
              owners === undefined
                ? `Consistent-hash ring of ${members.length} members`
                : `Owners of ${owners.key}: ${owners.owners.join(', ')}`
            }
          />
          <form class="owner-form" onSubmit={find}>
            <label>
              Who owns key
              <input
                name="owner-key"
                value={lookup.key}
                required
                onInput={(e) => setLookup({ ...lookup, key: e.currentTarget.value })}
              />
            </label>
            <label>
              Owners
              <input
                name="owner-n"
                type="number"
                min={1}
                max={Math.max(1, members.length)}
                value={lookup.n}
                onInput={(e) => setLookup({ ...lookup, n: Math.max(1, Number(e.currentTarget.value) || 1) })}
              />
            </label>
            <button type="submit" class="primary">
              Find owners
            </button>
          </form>
          {owners !== undefined ? (
            <p class="notice" role="status">
              <strong>{owners.key}</strong> is owned by{' '}
              {owners.owners.map((o, i) => (
                <span key={o}>
                  {i > 0 ? ', then ' : ''}
                  <PeerName peerId={o} self={self} />
                </span>
              ))}
            </p>
          ) : null}
        </div>
        <table class="members">
          <caption>Live members</caption>
          <thead>
            <tr>
              <th scope="col">Member</th>
              <th scope="col">Weight</th>
              <th scope="col" title="Share of the key space this member owns on the ring">
                Share
              </th>
              <th scope="col">Tags</th>
              <th scope="col">Connection</th>
              <th scope="col">Ready</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((m) => {
              const p = byId.get(m)
              const i = members.indexOf(m)
              const r = ownerRank(m)
              const isSelf = m === (self ?? status?.peerId)
              return (
                <tr key={m} class={r >= 0 ? 'owner' : undefined} data-peer={m}>
                  <th scope="row">
                    <span class="swatch" style={{ background: i >= 0 ? memberColor(i) : 'transparent' }} />
                    <PeerName peerId={m} self={self ?? status?.peerId} />
                    {r >= 0 ? <span class="badge owner-badge">owner #{r + 1}</span> : null}
                  </th>
                  <td data-label="Weight">{p?.weight ?? <span class="muted">—</span>}</td>
                  <td data-label="Share">{shareOf.has(m) ? `${(shareOf.get(m)! * 100).toFixed(0)} %` : '—'}</td>
                  <td data-label="Tags">
                    {p === undefined || Object.keys(p.tags).length === 0 ? (
                      <span class="muted">—</span>
                    ) : (
                      Object.entries(p.tags).map(([k, v]) => (
                        <span key={k} class="chip">
                          {k}={v}
                        </span>
                      ))
                    )}
                  </td>
                  <td data-label="Connection">
                    {isSelf ? (
                      <span class="state ok">this agent</span>
                    ) : p?.connected ? (
                      <span class="state ok">connected</span>
                    ) : (
                      <span class="state warn">not connected</span>
                    )}
                  </td>
                  <td data-label="Ready">
                    {p?.ready ? <span class="state ok">ready</span> : <span class="state warn">joining</span>}
                  </td>
                </tr>
              )
            })}
          </tbody>
        </table>
      </div>
    </section>
  )
}
