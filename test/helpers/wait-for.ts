/**
 * Waiting for conditions with a deadline: the only synchronisation tests use (never a bare sleep).
 *
 * @module
 */

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this many ms. Default 15000. */
  timeoutMs?: number
  /** Poll period in ms. Default 10. */
  intervalMs?: number
  /** Text of the error on timeout. */
  message?: string
}

/** Polls `condition` until it returns truthy (or a truthy promise); rejects after the deadline with `message`. */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  { timeoutMs = 15_000, intervalMs = 10, message = 'condition' }: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const v = await condition()
      if (v) return v as NonNullable<T>
    } catch (err) {
      lastError = err
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}`, { cause: lastError })
    }
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}
