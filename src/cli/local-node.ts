/**
 * `confmesh node` as it was before the agent: a memory-only peer that logs changes and membership until
 * SIGINT/SIGTERM. `main` uses it only while `src/agent` provides no `runNodeCommand`.
 *
 * @module
 */
import type { JsonValue } from '../config/value.js'
import { createMesh, type MeshOptions } from '../mesh.js'
import type { CliIo } from './commands/context.js'
import { EXIT_OK } from './errors.js'

/** Runs a peer until `io.signal` aborts; resolves with the exit code. */
export async function runLocalNode(options: MeshOptions, json: boolean, io: CliIo): Promise<number> {
  const mesh = await createMesh(options)
  const out = (line: string): void => io.out(`${line}\n`)
  out(
    json ? JSON.stringify({ event: 'started', peerId: mesh.peerId, addresses: mesh.addresses }) : `peer ${mesh.peerId}`,
  )
  if (!json) for (const a of mesh.addresses) out(`listening ${a}`)
  mesh.watchAll((e) => {
    if (json) out(JSON.stringify({ event: 'change', ...e }))
    else {
      const show = (v: JsonValue | undefined) => (v === undefined ? '(absent)' : JSON.stringify(v))
      out(`${new Date().toISOString()} ${e.source} ${e.namespace}/${e.key}: ${show(e.previous)} -> ${show(e.value)}`)
    }
  })
  mesh.events.addEventListener('peers:change', (evt) => {
    const { joined, left, members } = evt.detail
    if (json) out(JSON.stringify({ event: 'peers', joined, left, members }))
    else {
      for (const p of joined) out(`peer joined ${p} (${members.length} live)`)
      for (const p of left) out(`peer left ${p} (${members.length} live)`)
    }
  })
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve()
    io.signal.addEventListener('abort', () => resolve(), { once: true })
  })
  out(json ? JSON.stringify({ event: 'stopping' }) : 'stopping...')
  await mesh.stop()
  out(json ? JSON.stringify({ event: 'stopped' }) : 'stopped')
  return EXIT_OK
}
