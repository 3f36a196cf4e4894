/**
 * How a parent runs a TypeScript child entry point (the peer host, the benchmark workers): bundled once per parent
 * process with esbuild (shipped with tsx; npm packages stay external, loaded from node_modules as an application
 * would) into `.build/` under the repository root, then run by plain Node: a child starts in about a tenth of a
 * second and carries no TypeScript loader. When esbuild is unavailable, or with `CONFMESH_CHILD_TSX=1`, the `.ts`
 * file runs through tsx instead. The bundle is removed when the parent exits, or by a later run once it is 6 hours old.
 *
 * @module
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** Repository root (children run with it as their working directory). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/** A runnable child entry point. */
export interface ChildEntry {
  /** File to run. */
  file: string
  /** Node flags it needs (the tsx loader when not bundled). */
  execArgv: string[]
}

const built = new Map<string, Promise<ChildEntry>>()

/** Bundles older than this are removed (a test worker killed by its runner never ran its `exit` cleanup). */
const STALE_MS = 6 * 3600_000

function removeStale(root: string): void {
  for (const name of readdirSync(root)) {
    const dir = path.join(root, name)
    try {
      if (Date.now() - statSync(dir).mtimeMs > STALE_MS) rmSync(dir, { recursive: true, force: true })
    } catch {
      // removed by a concurrent run
    }
  }
}

/**
 * The runnable form of `tsFile`, bundled on first use.
 *
 * @param tsFile - absolute path of a `.ts` entry point inside the repository
 */
export function childEntry(tsFile: string): Promise<ChildEntry> {
  let entry = built.get(tsFile)
  if (entry === undefined) {
    entry = bundle(tsFile)
    built.set(tsFile, entry)
  }
  return entry
}

async function bundle(tsFile: string): Promise<ChildEntry> {
  const tsx: ChildEntry = { file: tsFile, execArgv: ['--import', import.meta.resolve('tsx')] }
  if (process.env.CONFMESH_CHILD_TSX === '1') return tsx
  let esbuild: { build(options: Record<string, unknown>): Promise<unknown> }
  try {
    const spec = 'esbuild'
    esbuild = (await import(spec)) as typeof esbuild
  } catch {
    return tsx
  }
  // inside the repository, so the bundle's bare imports resolve from node_modules
  const root = path.join(REPO_ROOT, '.build')
  mkdirSync(root, { recursive: true })
  removeStale(root)
  const dir = mkdtempSync(path.join(root, `${path.basename(tsFile, '.ts')}-`))
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'entry.mjs')
  try {
    await esbuild.build({
      entryPoints: { entry: tsFile },
      outdir: dir,
      outExtension: { '.js': '.mjs' },
      // dynamic imports stay separate chunks, loaded only when used (the bench worker loads one system's adapter)
      splitting: true,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      absWorkingDir: REPO_ROOT,
      logLevel: 'silent',
    })
    return { file, execArgv: [] }
  } catch {
    rmSync(dir, { recursive: true, force: true })
    return tsx
  }
}
