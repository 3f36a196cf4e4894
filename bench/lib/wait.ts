/**
 * Waiting for conditions with deadlines (never a bare sleep as synchronisation).
 *
 * @module
 */

/** Thrown when a condition was not met before its deadline. */
export class DeadlineError extends Error {
  static readonly code = 'ERR_BENCH_DEADLINE'
  constructor(what: string, ms: number) {
    super(`timed out after ${ms} ms waiting for ${what}`)
    this.name = 'DeadlineError'
  }
}

/**
 * Race a promise against a deadline.
 *
 * @param promise - the work
 * @param ms - deadline in milliseconds
 * @param what - what is awaited, for the error message
 * @throws DeadlineError when the deadline passes first
 */
export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DeadlineError(what, ms)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Poll `check` until it returns a truthy value or the deadline passes. Use only where no event exists to wait on
 * (e.g. an HTTP health endpoint); `intervalMs` is the poll period, not a synchronisation delay.
 *
 * @param check - returns (or resolves to) a truthy value when the condition holds; exceptions count as "not yet"
 * @param opts - `timeoutMs` deadline, `intervalMs` poll period, `what` for the error message
 * @returns the first truthy value
 * @throws DeadlineError when the deadline passes
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  opts: { timeoutMs: number; intervalMs?: number; what: string },
): Promise<NonNullable<T>> {
  const deadline = Date.now() + opts.timeoutMs
  const interval = opts.intervalMs ?? 25
  for (;;) {
    try {
      const v = await check()
      if (v) return v as NonNullable<T>
    } catch {
      // not ready yet
    }
    if (Date.now() >= deadline) throw new DeadlineError(opts.what, opts.timeoutMs)
    await new Promise((r) => setTimeout(r, interval))
  }
}
