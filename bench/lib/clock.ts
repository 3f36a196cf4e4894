/**
 * The one clock every benchmark process stamps events with. `process.hrtime.bigint()` reads CLOCK_MONOTONIC, which on
 * Linux is a single system-wide clock: a timestamp taken in a writer process and one taken in a watcher process are
 * directly comparable, with no wall-clock skew or NTP steps in between. (Other platforms: still monotonic per process;
 * cross-process latencies are then only as good as the OS makes that clock.)
 *
 * @module
 */

/** Monotonic, machine-wide timestamp in milliseconds (microsecond resolution). */
export function nowMs(): number {
  return Number(process.hrtime.bigint() / 1000n) / 1000
}
