/**
 * confmesh as a benchmark peer. The mesh is loaded at run time from src/index.ts (so the harness builds and its other
 * rows run before the core lands); when src/index.ts is missing or does not export `createMesh`, confmesh rows are
 * skipped with a message.
 *
 * @module
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { nowMs } from '../lib/clock.js'
import { BENCH_DIR } from '../lib/results.js'
import { CONFMESH_BUNDLE_ENV } from '../lib/spawn.js'
import { type BenchPeer, flattenNumbers, type PeerChange } from './types.js'

/** The slice of the public confmesh API the benchmarks use (the fixed contract). */
export interface MeshLike {
  peerId: unknown
  addresses: string[] | (() => string[])
  peers(): Array<{ peerId: unknown }>
  watch(listener: (e: { key: string; value: unknown; previous?: unknown; source?: string }) => void): () => void
  set(key: string, value: unknown): Promise<unknown>
  get(key: string): unknown
  stop(): Promise<void>
  stats?: () => Promise<unknown> | unknown
  diagnostics?: () => unknown
}

/** `createMesh` as the benchmarks call it. */
export type CreateMesh = (init: { listen: string[]; bootstrap: string[]; name: string }) => Promise<MeshLike>

/** Path of the confmesh entry point the harness loads. */
export const CONFMESH_ENTRY = path.resolve(BENCH_DIR, '..', 'src', 'index.ts')

/**
 * Load `createMesh` from src/index.ts.
 *
 * @returns the factory, or a reason string when confmesh is not available yet
 */
export async function loadConfmesh(): Promise<CreateMesh | string> {
  if (!existsSync(CONFMESH_ENTRY)) return 'src/index.ts does not exist yet'
  try {
    // a bundled worker gets the bundled entry (lib/spawn.ts); otherwise the source is loaded through tsx
    const spec = pathToFileURL(process.env[CONFMESH_BUNDLE_ENV] ?? CONFMESH_ENTRY).href
    const mod = (await import(spec)) as { createMesh?: unknown }
    if (typeof mod.createMesh !== 'function') return 'src/index.ts does not export createMesh'
    return mod.createMesh as CreateMesh
  } catch (err) {
    return `src/index.ts failed to load: ${(err as Error).message}`
  }
}

/**
 * Start one confmesh peer listening on a random loopback TCP port.
 *
 * @param createMesh - from {@link loadConfmesh}
 * @param opts - bootstrap multiaddrs and mesh name
 */
export async function createConfmeshPeer(
  createMesh: CreateMesh,
  opts: { bootstrap: string[]; name: string },
): Promise<BenchPeer> {
  const mesh = await createMesh({ listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: opts.bootstrap, name: opts.name })
  const listeners: Array<(c: PeerChange) => void> = []
  mesh.watch((e) => {
    const t = nowMs()
    for (const l of listeners) l({ key: e.key, value: e.value, t })
  })
  const addrs = typeof mesh.addresses === 'function' ? mesh.addresses() : mesh.addresses
  return {
    system: 'confmesh',
    addresses: [...addrs].filter((a) => a.includes('/ip4/127.0.0.1/')),
    async set(key, value) {
      await mesh.set(key, value)
    },
    async getMany(keys) {
      const out = new Map<string, unknown>()
      for (const k of keys) {
        const v = mesh.get(k)
        if (v !== undefined) out.set(k, v)
      }
      return out
    },
    onChange(listener) {
      listeners.push(listener)
    },
    connections: () => mesh.peers().length,
    async stats() {
      const out: Record<string, number> = {}
      if (typeof mesh.diagnostics === 'function') {
        const { stateVector: _sv, ...rest } = (mesh.diagnostics() ?? {}) as Record<string, unknown>
        Object.assign(out, flattenNumbers(rest))
      }
      if (typeof mesh.stats === 'function') Object.assign(out, flattenNumbers(await mesh.stats()))
      return out
    },
    stop: () => mesh.stop(),
  }
}
