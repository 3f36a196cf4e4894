/**
 * Process-wide cleanup registry for the benchmark coordinator: every child process and server registers a stop
 * function here; they all run on normal completion, on an error, and on SIGINT/SIGTERM. Children are also killed
 * synchronously on `exit`, so nothing outlives the coordinator even when it dies in the middle of a run.
 *
 * @module
 */
import type { ChildProcess } from 'node:child_process'
import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

type Stopper = () => Promise<void> | void

const stoppers = new Set<Stopper>()
const children = new Map<ChildProcess, { group: boolean }>()
let installed = false

function killAllSync(): void {
  for (const [c, { group }] of children) {
    if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
      try {
        if (group) process.kill(-c.pid, 'SIGKILL')
        else c.kill('SIGKILL')
      } catch {
        // already gone
      }
    }
  }
}

function install(): void {
  if (installed) return
  installed = true
  process.on('exit', killAllSync)
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\n[bench] ${sig}: stopping children\n`)
      void runCleanup().finally(() => process.exit(130))
    })
  }
}

/**
 * Register a child process: it is SIGKILLed on coordinator exit if still running.
 *
 * @param child - the spawned or forked child
 * @param opts - `group: true` when the child leads its own process group (spawned `detached`): the whole group is
 *   killed, so grandchildren (e.g. etcd under `timeout`) go too
 * @returns the same child, for chaining
 */
export function trackChild<T extends ChildProcess>(child: T, opts: { group?: boolean } = {}): T {
  install()
  children.set(child, { group: opts.group ?? false })
  child.once('exit', () => children.delete(child))
  return child
}

/**
 * Register an asynchronous stop function (graceful shutdown), run by {@link runCleanup}.
 *
 * @param stop - the stop function; it is removed once run
 * @returns a function that unregisters it
 */
export function onCleanup(stop: Stopper): () => void {
  install()
  stoppers.add(stop)
  return () => stoppers.delete(stop)
}

/** Run every registered stop function (in reverse registration order), then SIGKILL any child still alive. */
export async function runCleanup(): Promise<void> {
  const list = [...stoppers].reverse()
  stoppers.clear()
  for (const s of list) {
    try {
      await s()
    } catch (err) {
      process.stderr.write(`[bench] cleanup error: ${(err as Error).message}\n`)
    }
  }
  killAllSync()
}

/**
 * Run `main`, then clean up; on an error print it, clean up and exit non-zero. The standard entry point of every
 * benchmark script.
 *
 * @param main - the script body
 */
export async function runMain(main: () => Promise<void>): Promise<void> {
  install()
  try {
    await main()
    await runCleanup()
  } catch (err) {
    process.stderr.write(`\n[bench] failed: ${(err as Error).stack ?? String(err)}\n`)
    await runCleanup()
    process.exitCode = 1
  }
}

/**
 * Whether the module with this `import.meta.url` is the script Node was started with (so a benchmark script runs when
 * invoked directly and not when bench/index.ts or a test imports it).
 *
 * @param moduleUrl - the caller's `import.meta.url`
 */
export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1]
  if (!entry) return false
  try {
    return pathToFileURL(realpathSync(entry)).href === moduleUrl
  } catch {
    return false
  }
}
