import { afterEach, describe, it } from 'vitest'
import { type PeerProcess, spawnPeer } from '../helpers/peer-process.js'
import { waitFor } from '../helpers/wait-for.js'

const timing = { heartbeatMs: 250, memberTimeoutMs: 1_500, antiEntropyMs: 1_000 }
let procs: PeerProcess[] = []
afterEach(async () => {
  await Promise.all(procs.map((p) => p.kill()))
  procs = []
})

describe('peers as separate OS processes', () => {
  it('propagates between processes, and survives a SIGKILLed peer', async () => {
    const a = await spawnPeer({ mesh: { timing }, watch: true })
    procs.push(a)
    const [b, c] = await Promise.all(
      [1, 2].map(() => spawnPeer({ mesh: { timing, bootstrap: [a.addresses[0]!] }, watch: true })),
    )
    procs.push(b!, c!)
    await b!.call('set', { key: 'x', value: { v: 1 } })
    await waitFor(() => a.changes.some((e) => e.key === 'x') && c!.changes.some((e) => e.key === 'x'))
    await a.kill()
    await c!.call('set', { key: 'after-kill', value: true })
    await waitFor(async () => (await b!.call('get', { key: 'after-kill' })) === true)
    await waitFor(
      async () => {
        const s = await b!.call<{ peers: unknown[] }>('state')
        return s.peers.length === 1
      },
      { message: 'killed peer dropped from membership' },
    )
  })
})
