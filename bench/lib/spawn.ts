/**
 * How the harness starts its child processes (peer workers, the relay server). By default the TypeScript entry points
 * are bundled once per run with esbuild (shipped with tsx; test/helpers/peer-host/entry.ts, the bundler every child
 * process of the repository uses) into `.build/` and run by plain Node: a peer
 * process then carries no TypeScript loader, which makes start-up about twice as fast and keeps tsx's memory out of
 * the per-peer RSS. npm packages stay external (loaded from node_modules as an application would). When esbuild is
 * unavailable, or with `BENCH_TSX=1`, children run the `.ts` files through tsx instead.
 *
 * @module
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { type ChildEntry, childEntry } from '../../test/helpers/peer-host/entry.js'
import { note } from './progress.js'
import { BENCH_DIR } from './results.js'

/** Repository root (the parent of bench/); children run with it as their working directory. */
export const REPO_ROOT = path.resolve(BENCH_DIR, '..')

/**
 * `execArgv` for a child Node process that runs a `.ts` file: the tsx loader, resolved absolutely so the child does
 * not depend on its working directory, plus any extra flags.
 *
 * @param extra - further Node flags, e.g. `--expose-gc`
 */
export function tsxExecArgv(...extra: string[]): string[] {
  return ['--import', import.meta.resolve('tsx'), ...extra]
}

/** A runnable child entry point. */
export interface Entry {
  /** File to run. */
  file: string
  /** Node flags it needs (the tsx loader when not bundled). */
  execArgv: string[]
  /** Environment additions (the bundled confmesh entry). */
  env: Record<string, string>
}

/** The child entry points of the harness. */
export interface Entrypoints {
  worker: Entry
  relayServer: Entry
  /** `bundled` or `tsx`. */
  mode: 'bundled' | 'tsx'
}

/** Environment variable through which a bundled worker learns where the bundled confmesh entry is. */
export const CONFMESH_BUNDLE_ENV = 'CONFMESH_BENCH_ENTRY'

const WORKER_TS = path.join(BENCH_DIR, 'peers', 'worker.ts')
const RELAY_TS = path.join(BENCH_DIR, 'peers', 'relay-server.ts')
const CONFMESH_TS = path.join(REPO_ROOT, 'src', 'index.ts')

let built: Promise<Entrypoints> | undefined

function tsxEntrypoints(): Entrypoints {
  const execArgv = tsxExecArgv()
  return {
    worker: { file: WORKER_TS, execArgv, env: {} },
    relayServer: { file: RELAY_TS, execArgv, env: {} },
    mode: 'tsx',
  }
}

/** Bundles with the one bundler of the repository's child processes (test/helpers/peer-host/entry.ts). */
async function bundle(): Promise<Entrypoints> {
  if (process.env.BENCH_TSX === '1') return tsxEntrypoints()
  const hasConfmesh = existsSync(CONFMESH_TS)
  const [worker, relay, confmesh] = await Promise.all([
    childEntry(WORKER_TS),
    childEntry(RELAY_TS),
    hasConfmesh ? childEntry(CONFMESH_TS) : undefined,
  ])
  const bundled = (e: ChildEntry | undefined) => e === undefined || e.file.endsWith('.mjs')
  if (!bundled(worker) || !bundled(relay) || !bundled(confmesh)) {
    note('bundling failed or esbuild is missing: children run through tsx (slower start, tsx counted in peer RSS)')
    return tsxEntrypoints()
  }
  const env: Record<string, string> = confmesh === undefined ? {} : { [CONFMESH_BUNDLE_ENV]: confmesh.file }
  return {
    worker: { file: worker.file, execArgv: [], env },
    relayServer: { file: relay.file, execArgv: [], env: {} },
    mode: 'bundled',
  }
}

/** The child entry points, bundled on first use (once per coordinator process). */
export function entrypoints(): Promise<Entrypoints> {
  built ??= bundle()
  return built
}
