/**
 * The clock seam: the one way long-lived parts read the time and schedule work, so the whole stack can run on the
 * wall clock in production and on the virtual time of the simulated network in tests (`src/transport/simulated-*`).
 *
 * Guarantees of every {@link Clock}: `now()` never goes backwards for one clock; a timer fires at most once (an
 * interval once per period), never before its delay has passed on that clock, and never after `clearTimeout` /
 * `clearInterval` returned; timers due at the same instant fire in the order they were set. {@link systemClock}
 * does not keep the process alive for its timers (they are `unref`ed), like the timers the stack uses today.
 *
 * Every part whose timing changes what a simulated run does takes the mesh's clock: membership, catch-up, the pull
 * scheduler, persistence, history pruning, join sync and leases. Two time uses stay on real time, on purpose:
 * - the update guard's budget (`yjs-guard/limits.ts` `maxMillis`, `performance.now` in `yjs-guard/parser.ts`) bounds
 *   the real CPU time one inspection may take (a stall guard). Virtual time does not move while synchronous code
 *   runs, so on a virtual clock the bound could never trip; simulated updates are far below it, so it never decides a
 *   simulated run either;
 * - the libp2p transport's dial timeout (`transport/libp2p-transport.ts`) waits for real sockets; a simulated run
 *   never uses that transport (the simulated one times its dials out on virtual time).
 *
 * Randomness is the clock's sibling: parts that jitter or pick take a {@link Random} (default `Math.random`) so a
 * simulated run can hand them a seeded one.
 *
 * @module
 */

/** An opaque handle of a timer set on a {@link Clock}. */
export type TimerHandle = object

/** Time and timers. */
export interface Clock {
  /** Milliseconds since the epoch (a virtual clock starts where its owner says). */
  now(): number
  /** Runs `fn` once after `ms` milliseconds (0 and negative: as soon as possible, after timers already due). */
  setTimeout(fn: () => void, ms: number): TimerHandle
  /** Cancels a timer from {@link Clock.setTimeout}; unknown or fired handles are ignored. */
  clearTimeout(handle: TimerHandle | undefined): void
  /** Runs `fn` every `ms` milliseconds (at least 1) until cleared. */
  setInterval(fn: () => void, ms: number): TimerHandle
  /** Cancels a timer from {@link Clock.setInterval}; unknown handles are ignored. */
  clearInterval(handle: TimerHandle | undefined): void
}

/** A source of uniformly distributed numbers in `[0, 1)`, like `Math.random`. */
export type Random = () => number

/** The wall clock and Node's timers, `unref`ed so they never keep a process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms))
    t.unref()
    return t
  },
  clearTimeout(handle) {
    if (handle !== undefined) clearTimeout(handle as NodeJS.Timeout)
  },
  setInterval(fn, ms) {
    const t = setInterval(fn, Math.max(1, ms))
    t.unref()
    return t
  },
  clearInterval(handle) {
    if (handle !== undefined) clearInterval(handle as NodeJS.Timeout)
  },
}

/**
 * An `AbortSignal` that aborts after `ms` milliseconds of `clock` time (with a `TimeoutError`, like
 * `AbortSignal.timeout`, which would always use the wall clock).
 */
export function timeoutSignal(clock: Clock, ms: number): AbortSignal {
  if (clock === systemClock) return AbortSignal.timeout(Math.max(0, ms))
  const controller = new AbortController()
  clock.setTimeout(
    () => controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')),
    Math.max(0, ms),
  )
  return controller.signal
}
