/**
 * Command-line and environment options shared by the benchmark scripts. Every option `--name=value` can also be given
 * as the environment variable `BENCH_NAME` (upper case, `-` becomes `_`); `--quick` (or `BENCH_QUICK=1`) switches every
 * size to its quick default so a script finishes in seconds.
 *
 * @module
 */
import { parseArgs } from 'node:util'

/** The systems compared. */
export type SystemName = 'confmesh' | 'etcd' | 'relay'

/** Every system, in table order. */
export const ALL_SYSTEMS: readonly SystemName[] = ['confmesh', 'etcd', 'relay']

/** Parsed options with typed accessors that apply quick/full defaults. */
export interface Cli {
  /** True with `--quick` or `BENCH_QUICK=1`. */
  quick: boolean
  /** Systems selected with `--systems=confmesh,relay` (default: all). */
  systems: SystemName[]
  /** A string option. */
  str(name: string, full: string, quick?: string): string
  /** A numeric option. */
  num(name: string, full: number, quick?: number): number
  /** A comma-separated list of numbers. */
  nums(name: string, full: number[], quick?: number[]): number[]
  /** A boolean flag (`--name`, `--name=false`, `BENCH_NAME=1`). */
  flag(name: string): boolean
}

/**
 * Parse `argv` (default `process.argv.slice(2)`) and the environment.
 *
 * @param argv - arguments to parse
 */
export function parseCli(argv: string[] = process.argv.slice(2)): Cli {
  const { values } = parseArgs({ args: argv, strict: false, allowPositionals: true })
  const raw = (name: string): string | boolean | undefined => {
    const v = values[name]
    if (v !== undefined) return v as string | boolean
    const env = process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`]
    return env
  }
  const truthy = (v: string | boolean | undefined) =>
    v === true || (typeof v === 'string' && !/^(0|false|no|)$/i.test(v))
  const quick = truthy(raw('quick'))
  const pick = <T>(name: string, full: T, q: T | undefined, conv: (s: string) => T): T => {
    const v = raw(name)
    if (typeof v === 'string') return conv(v)
    return quick && q !== undefined ? q : full
  }
  const numOf = (name: string) => (s: string) => {
    const n = Number(s)
    if (!Number.isFinite(n)) throw new TypeError(`--${name} must be a number, got ${s}`)
    return n
  }
  const sysRaw = raw('systems')
  const systems =
    typeof sysRaw === 'string'
      ? sysRaw
          .split(',')
          .map((s) => s.trim())
          .filter((s): s is SystemName => {
            if ((ALL_SYSTEMS as readonly string[]).includes(s)) return true
            if (s) process.stderr.write(`[bench] unknown system ignored: ${s}\n`)
            return false
          })
      : [...ALL_SYSTEMS]
  return {
    quick,
    systems,
    str: (name, full, q) => pick(name, full, q, (s) => s),
    num: (name, full, q) => pick(name, full, q, numOf(name)),
    nums: (name, full, q) => pick(name, full, q, (s) => s.split(',').map(numOf(name))),
    flag: (name) => truthy(raw(name)),
  }
}
