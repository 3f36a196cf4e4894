/**
 * One peer of the `npm start` demo, run as its own OS process. Talks to the demo driver over Node's IPC channel:
 * it reports its addresses and every watch event (with a wall-clock timestamp), and obeys `set` and `stop`.
 */
import { createMesh } from '../src/index.js'

type Command = { cmd: 'set'; key: string; value: unknown } | { cmd: 'stop' } | { cmd: 'state' }

const now = (): number => performance.timeOrigin + performance.now()
const send = (msg: object): void => void process.send?.(msg)

const bootstrap = process.env.DEMO_BOOTSTRAP ? [process.env.DEMO_BOOTSTRAP] : []
const mesh = await createMesh({
  bootstrap,
  name: 'demo',
  timing: { heartbeatMs: 250, memberTimeoutMs: 1_500, antiEntropyMs: 1_000 },
})
mesh.watchAll((e) => send({ type: 'event', key: e.key, value: e.value, source: e.source, at: now() }))
mesh.events.addEventListener('peers:change', (evt) => send({ type: 'peers', members: evt.detail.members.length }))
send({ type: 'ready', peerId: mesh.peerId, addresses: mesh.addresses })

process.on('message', async (m: Command) => {
  if (m.cmd === 'set') {
    const at = now()
    await mesh.set(m.key, m.value as never)
    send({ type: 'set', key: m.key, at })
  } else if (m.cmd === 'state') {
    send({ type: 'state', json: mesh.toJSON(), peers: mesh.peers().length })
  } else if (m.cmd === 'stop') {
    await mesh.stop()
    send({ type: 'stopped' })
    process.exit(0)
  }
})
