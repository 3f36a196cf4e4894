// A confmesh peer in its own OS process, driven by its parent over Node's IPC channel (see peer-process.ts).
// Plain JavaScript over the compiled package (dist/), so a child starts in ~100 ms without a TypeScript loader.
import { performance } from 'node:perf_hooks'
import { createMesh } from '../../dist/src/index.js'

const now = () => performance.timeOrigin + performance.now()
const send = (msg) => process.send?.(msg)
const options = JSON.parse(process.env.CONFMESH_CHILD_OPTIONS ?? '{}')
const watch = process.env.CONFMESH_CHILD_WATCH === '1'

let mesh
try {
  mesh = await createMesh(options)
} catch (err) {
  send({ event: 'failed', name: err?.name, code: err?.code, message: err?.message })
  process.exit(3)
}
if (watch) {
  mesh.watchAll((e) =>
    send({ event: 'change', namespace: e.namespace, key: e.key, value: e.value, source: e.source, at: now() }),
  )
}
send({ event: 'ready', peerId: mesh.peerId, addresses: mesh.addresses, pid: process.pid })

let writing = false
let loop = Promise.resolve()

const commands = {
  set: async ({ namespace = 'default', key, value }) => {
    await mesh.namespace(namespace).set(key, value)
    return { at: now() }
  },
  delete: async ({ namespace = 'default', key }) => {
    await mesh.namespace(namespace).delete(key)
    return { at: now() }
  },
  get: ({ namespace = 'default', key }) => mesh.namespace(namespace).get(key) ?? null,
  state: () => ({
    json: Object.fromEntries(mesh.namespaces().map((n) => [n, mesh.namespace(n).toJSON()])),
    diagnostics: mesh.diagnostics(),
    peers: mesh.peers().map((p) => ({ peerId: p.peerId, connected: p.connected })),
  }),
  connect: async ({ address }) => {
    await mesh.connect(address)
    return true
  },
  // Durability tests: a background writer that reports every acknowledged (resolved) set as an `ack` event.
  writeLoop: ({
    namespace = 'default',
    prefix,
    from = 0,
    count = Number.MAX_SAFE_INTEGER,
    inFlight = 1,
    pauseMs = 0,
  }) => {
    writing = true
    let next = from
    const end = from + count
    const worker = async () => {
      while (writing && next < end) {
        const i = next++
        const key = `${prefix}${i}`
        await mesh.namespace(namespace).set(key, i)
        send({ event: 'ack', namespace, key, value: i, at: now() })
        if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs))
      }
    }
    loop = Promise.all(Array.from({ length: inFlight }, worker)).catch((err) =>
      send({ event: 'writeLoopFailed', name: err?.name, message: err?.message }),
    )
    return true
  },
  stopWriteLoop: async () => {
    writing = false
    await loop
    return true
  },
  dump: ({ namespace = 'default' }) => mesh.namespace(namespace).toJSON(),
  history: () => (typeof mesh.history === 'function' ? mesh.history().length : null),
  stop: async () => {
    await mesh.stop()
    setImmediate(() => process.exit(0))
    return true
  },
}

process.on('message', async (msg) => {
  const fn = commands[msg.cmd]
  try {
    if (fn === undefined) throw new Error(`unknown command ${msg.cmd}`)
    send({ id: msg.id, ok: true, result: await fn(msg.args ?? {}) })
  } catch (err) {
    send({ id: msg.id, ok: false, error: { name: err?.name, code: err?.code, message: err?.message } })
  }
})
process.on('disconnect', () => process.exit(0))
