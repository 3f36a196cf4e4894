/**
 * Running the storage child (`storage-child.ts`) as another, unprivileged user wherever the checkout lives.
 *
 * That user may not be able to enter the checkout at all (a clone inside a private directory, under `/root`, or in a
 * container's home), so the checkout's `node_modules` and tsx are out of its reach. So the child is bundled with
 * esbuild into a fresh world-readable directory under the system temp dir, next to a copy of the only package it
 * cannot bundle, the native SQLite binding (`better-sqlite3`'s JavaScript and addon, and `bindings` +
 * `file-uri-to-path`, which locate the addon), and runs from there with plain `node`.
 *
 * When even that is out of the user's reach (the node binary, or the temp dir, is private too), {@link
 * prepareUnprivilegedChild} says why, and the caller skips with that reason.
 *
 * @module
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const here = dirname(fileURLToPath(import.meta.url))
const repoRoot = join(here, '..', '..')

/** A bundled storage child another user can run. */
export interface UnprivilegedChild {
  /** The bundled program (`node <script> <mode> ...`). */
  readonly script: string
  /** A working directory that user may enter. */
  readonly cwd: string
  /** Removes the bundle. */
  dispose(): void
}

/** Packages copied next to the bundle (native, or located on disk at run time), with the parts they need. */
const COPIED: ReadonlyArray<{ name: string; parts: string[] }> = [
  { name: 'better-sqlite3', parts: ['package.json', 'lib', 'build/Release/better_sqlite3.node'] },
  { name: 'bindings', parts: ['package.json', 'bindings.js'] },
  { name: 'file-uri-to-path', parts: ['package.json', 'index.js'] },
]

/**
 * Bundles the storage child for user `uid`/`gid`; resolves with it, or with `{ skip }` saying why that user cannot
 * run it here.
 */
export async function prepareUnprivilegedChild(
  uid: number,
  gid: number,
): Promise<UnprivilegedChild | { skip: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'confmesh-child-'))
  const dispose = () => rmSync(dir, { recursive: true, force: true })
  try {
    const script = join(dir, 'storage-child.mjs')
    await build({
      entryPoints: [join(here, 'storage-child.ts')],
      outfile: script,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: COPIED.map((p) => p.name),
      logLevel: 'silent',
    })
    for (const { name, parts } of COPIED) {
      for (const part of parts) {
        const to = join(dir, 'node_modules', name, part)
        mkdirSync(dirname(to), { recursive: true })
        cpSync(join(repoRoot, 'node_modules', name, part), to, { recursive: true })
      }
    }
    openUp(dir)
    // the user must reach node itself, the bundle and load the addon (a node under a private home, a private TMPDIR,
    // or a temp dir mounted noexec stop it)
    const load = `const D = require('node:module').createRequire(process.argv[1])('better-sqlite3'); new D(':memory:').close()`
    const probe = spawnSync(process.execPath, ['-e', load, script], {
      cwd: dir,
      uid,
      gid,
      encoding: 'utf8',
    })
    if (probe.error !== undefined || probe.status !== 0) {
      dispose()
      const lines = probe.stderr.trim().split('\n')
      const why = probe.error?.message ?? lines.find((l) => /error/i.test(l)) ?? lines[0]
      return { skip: `user ${uid} cannot run ${process.execPath} on ${script}: ${why}` }
    }
    return { script, cwd: dir, dispose }
  } catch (err) {
    dispose()
    return { skip: `cannot prepare a child for user ${uid}: ${(err as Error).message}` }
  }
}

/** Makes `dir` and everything below readable (and directories enterable) by everyone. */
function openUp(dir: string): void {
  chmodSync(dir, 0o755)
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) openUp(path)
    else chmodSync(path, 0o644)
  }
}
