/**
 * Starting TypeScript entry points of the harness as child Node processes (through tsx), with the same loader the
 * coordinator uses.
 *
 * @module
 */
import path from 'node:path'
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
