/**
 * The gate in front of this peer's local writes while persistence holds them (a reused writer id waiting for the
 * first contact, `persistence.ts` `writerHold`). Guarantees: writes pass in the order they arrived, held ones
 * included; with no hold in place a write runs synchronously, as if there were no gate.
 *
 * @module
 */

/** Runs local writes, in order, once the hold (if any) is over. */
export interface WriteGate {
  /** Runs `fn` now, or after the hold and every write held before it. */
  run<T>(fn: () => T): T | Promise<Awaited<T>>
}

/** Creates the gate; `hold()` returns the current hold, or `undefined` when writes may go ahead. */
export function createWriteGate(hold: () => Promise<void> | undefined): WriteGate {
  let chain: Promise<void> | undefined
  return {
    run<T>(fn: () => T): T | Promise<Awaited<T>> {
      if (chain === undefined) {
        const h = hold()
        if (h === undefined) return fn()
        chain = h
      }
      const link = chain.then(fn) as Promise<Awaited<T>>
      const tail = link.then(
        () => {},
        () => {},
      )
      chain = tail
      void tail.then(() => {
        if (chain === tail) chain = undefined // drained: later writes run synchronously again
      })
      return link
    },
  }
}
