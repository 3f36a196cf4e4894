/**
 * `npm start`: confmesh's mission, live. Three peers start on loopback as separate OS processes; keys set on one
 * show up in the others' watchers within milliseconds (latency printed); a late joiner catches up; the bootstrap
 * peer stops and the rest keep converging. No server anywhere.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'

interface Peer {
  name: string
  proc: ChildProcess
  peerId: string
  address: string
  events: Array<{ key: string; value: unknown; source: string; at: number }>
}

const PEER_SCRIPT = fileURLToPath(new URL('./demo-peer.ts', import.meta.url))
const peers: Peer[] = []
const sets = new Map<string, number>()
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s)
const dim = (s: string) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s)
const short = (id: string) => `…${id.slice(-6)}`

async function startPeer(name: string, bootstrap?: string): Promise<Peer> {
  const startedAt = performance.timeOrigin + performance.now()
  const proc = fork(PEER_SCRIPT, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...(bootstrap ? { DEMO_BOOTSTRAP: bootstrap } : {}) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  return new Promise((resolve, reject) => {
    proc.once('error', reject)
    proc.once('exit', (code) => reject(new Error(`${name} exited early with code ${code}`)))
    proc.on('message', (m: { type: string; peerId: string; addresses: string[] }) => {
      if (m.type !== 'ready') return
      const peer: Peer = { name, proc, peerId: m.peerId, address: m.addresses[0]!, events: [] }
      proc.removeAllListeners('exit')
      proc.on('message', (msg: { type: string; key: string; value: unknown; source: string; at: number }) => {
        if (msg.type === 'event') {
          peer.events.push(msg)
          const sentAt = sets.get(msg.key)
          if (msg.source === 'remote' && sentAt !== undefined) {
            const how = sentAt < startedAt ? dim('(caught up on join)') : bold(`${(msg.at - sentAt).toFixed(1)} ms`)
            console.log(`  ${name} ${dim(short(peer.peerId))} sees ${msg.key} = ${JSON.stringify(msg.value)}  ${how}`)
          }
        }
      })
      peers.push(peer)
      console.log(`${bold(name)} started: ${peer.address}`)
      resolve(peer)
    })
  })
}

function request<T>(peer: Peer, cmd: object, reply: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: { type: string }) => {
      if (m.type === reply) {
        peer.proc.off('message', on)
        resolve(m as T)
      }
    }
    peer.proc.on('message', on)
    peer.proc.send(cmd)
  })
}

async function waitUntil(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function set(peer: Peer, key: string, value: unknown): Promise<void> {
  const done = request<{ at: number }>(peer, { cmd: 'set', key, value }, 'set')
  const { at } = await done
  sets.set(key, at)
}

const seen = (p: Peer, key: string, value: unknown) =>
  p.events.some((e) => e.key === key && JSON.stringify(e.value) === JSON.stringify(value))

async function main(): Promise<void> {
  console.log(bold('\nconfmesh demo: three peers, no server\n'))
  const a = await startPeer('peer-A')
  const b = await startPeer('peer-B', a.address)
  const c = await startPeer('peer-C', a.address)
  await waitUntil('peers to meet', async () => {
    for (const p of [a, b, c])
      if ((await request<{ peers: number }>(p, { cmd: 'state' }, 'state')).peers < 2) return false
    return true
  })
  console.log(dim('\nall three peers see each other (B and C met through A, then directly)\n'))

  console.log(bold('peer-A sets three keys; peers B and C watch:'))
  const changes: Array<[string, unknown]> = [
    ['feature.checkout', { enabled: true }],
    ['payments.limit', { daily: 500 }],
    ['log.level', 'debug'],
  ]
  for (const [k, v] of changes) {
    await set(a, k, v)
    await waitUntil(k, () => seen(b, k, v) && seen(c, k, v))
  }

  console.log(bold('\npeer-D joins late (bootstrapping to peer-C) and catches up:'))
  const d = await startPeer('peer-D', c.address)
  await waitUntil('late joiner catch-up', async () => {
    const s = await request<{ json: Record<string, unknown> }>(d, { cmd: 'state' }, 'state')
    return Object.keys(s.json).length === 3
  })
  const dState = await request<{ json: Record<string, unknown> }>(d, { cmd: 'state' }, 'state')
  console.log(`  peer-D has ${JSON.stringify(dState.json)}`)

  console.log(bold('\nthe bootstrap peer (peer-A) stops; the others keep going:'))
  await request(a, { cmd: 'stop' }, 'stopped')
  peers.splice(peers.indexOf(a), 1)
  console.log('  peer-A stopped')
  await set(b, 'feature.checkout', { enabled: false })
  await waitUntil('propagation without A', () => [c, d].every((p) => seen(p, 'feature.checkout', { enabled: false })))
  await waitUntil('convergence', async () => {
    const states = await Promise.all([b, c, d].map((p) => request<{ json: object }>(p, { cmd: 'state' }, 'state')))
    return states.every((s) => JSON.stringify(s.json) === JSON.stringify(states[0]!.json))
  })
  const final = await request<{ json: object }>(c, { cmd: 'state' }, 'state')
  console.log(`\n${bold('converged')}: B, C and D all hold ${JSON.stringify(final.json)}`)
}

try {
  await main()
  console.log(dim('\nstopping the peers...'))
} catch (err) {
  console.error(`demo failed: ${(err as Error).message}`)
  process.exitCode = 1
} finally {
  await Promise.all(peers.map((p) => request(p, { cmd: 'stop' }, 'stopped').catch(() => {})))
  for (const p of peers) p.proc.kill()
}
