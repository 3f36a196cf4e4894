/**
 * Virtual time: a queue of events that a test advances (`runUntil`, `runFor`), and {@link Clock}s over it.
 *
 * Guarantees: events run in order of their time, events of the same time in the order they were scheduled (so a run
 * is a pure function of what was scheduled, never of wall-clock timing); after each event every promise chain it
 * started settles before the next event runs (the scheduler yields to Node's event loop once, which empties the
 * microtask queue), so `await`s inside simulated code complete "instantly" in virtual time. Time never moves by
 * itself: nothing runs between calls to `runUntil`/`runFor`/`step`. Timers of a clock made for an `owner` are
 * cancelled together by `cancelOwner` (a crashed peer's timers never fire).
 *
 * Not guaranteed: determinism of code that also uses real time, real timers, real I/O or `Math.random` underneath.
 *
 * @module
 */
import type { Clock, TimerHandle } from '../clock.js'
import { SimulationDeadlineError, SimulationStalledError } from './errors.js'

/** Default start of virtual time: 2026-01-01T00:00:00Z (looks like a wall clock to code that reads dates). */
export const DEFAULT_VIRTUAL_EPOCH = Date.UTC(2026, 0, 1)
/** Default most virtual time one `runUntil` may advance: 10 minutes. */
export const DEFAULT_RUN_LIMIT_MS = 10 * 60_000

/** A scheduled event. */
export interface ScheduledEvent {
  /** Virtual time it runs at. */
  readonly time: number
  /** Order among events (ties on `time` run by `seq`). */
  readonly seq: number
  /** Whose event it is (a peer id), if anyone's. */
  readonly owner: string | undefined
  /** What it is, for the trace. */
  readonly label: string
}

interface QueuedEvent extends ScheduledEvent {
  fn: () => void
  cancelled: boolean
}

/** Options of {@link VirtualScheduler.runUntil}. */
export interface RunOptions {
  /** Most virtual time to advance, ms. Default {@link DEFAULT_RUN_LIMIT_MS}. */
  limitMs?: number
  /** What is awaited, for the error message. */
  what?: string
}

/** Options of {@link createVirtualScheduler}. */
export interface VirtualSchedulerInit {
  /** Virtual time at the start, ms since the epoch. Default {@link DEFAULT_VIRTUAL_EPOCH}. */
  startTime?: number
  /** Called before every event runs (the simulated network hashes it into its trace). */
  onEvent?: (event: ScheduledEvent) => void
}

/** Virtual time and its event queue. */
export interface VirtualScheduler {
  /** Current virtual time, ms since the epoch. */
  now(): number
  /** Schedules `fn` at virtual time `time` (clamped to now). */
  at(time: number, fn: () => void, label: string, owner?: string): ScheduledEvent
  /** Cancels a scheduled event (no-op if it ran). */
  cancel(event: ScheduledEvent): void
  /** Cancels every pending event of `owner`; later events scheduled for it by its clock are ignored until revived. */
  cancelOwner(owner: string): void
  /** Lets `owner`'s clock schedule again (a restarted peer). */
  reviveOwner(owner: string): void
  /**
   * A clock over virtual time; timers belong to `owner`. `now()` reads whole milliseconds (like `Date.now`); `skewMs`
   * shifts what it reads (not when timers fire).
   */
  clock(owner?: string, skewMs?: () => number): Clock
  /** Events waiting. */
  pending(): number
  /** Events run so far. */
  readonly executed: number
  /** Runs the next event (and lets its promises settle); `false` if none is left. */
  step(): Promise<boolean>
  /** Runs events until `condition` holds (checked before and after each event) or until virtual time `condition`. */
  runUntil(condition: (() => boolean) | number, options?: RunOptions): Promise<void>
  /** Runs every event of the next `ms` milliseconds, then sets the time to now + `ms`. */
  runFor(ms: number): Promise<void>
  /** Runs events until `promise` settles; returns its value or throws its error. */
  settle<T>(promise: Promise<T>, options?: RunOptions): Promise<T>
  /**
   * Runs every event due up to virtual time `time` without yielding to the event loop between events, then sets
   * the time to `time`; with `stop`, checked after each event, returns early (time stays at that event) once it
   * holds. Only for hosts whose events never await (sans-IO state machines such as SWIM's): a promise an event
   * starts would not settle before the next event runs. Millions of events per run cost no event-loop turns.
   */
  runUntilSync(time: number, stop?: () => boolean): void
}

/** Creates a virtual scheduler. */
export function createVirtualScheduler(init: VirtualSchedulerInit = {}): VirtualScheduler {
  return new Scheduler(init)
}

/** Yields to Node's event loop once: every pending microtask (promise continuation) runs first. */
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

class Scheduler implements VirtualScheduler {
  private time: number
  private seq = 0
  private readonly heap: QueuedEvent[] = []
  private readonly dead = new Set<string>()
  private readonly onEvent: ((event: ScheduledEvent) => void) | undefined
  executed = 0

  constructor(init: VirtualSchedulerInit) {
    this.time = init.startTime ?? DEFAULT_VIRTUAL_EPOCH
    this.onEvent = init.onEvent
  }

  now(): number {
    return this.time
  }

  at(time: number, fn: () => void, label: string, owner?: string): ScheduledEvent {
    const event: QueuedEvent = {
      time: Math.max(time, this.time),
      seq: this.seq++,
      owner,
      label,
      fn,
      cancelled: owner !== undefined && this.dead.has(owner),
    }
    if (!event.cancelled) this.push(event)
    return event
  }

  cancel(event: ScheduledEvent): void {
    ;(event as QueuedEvent).cancelled = true
  }

  cancelOwner(owner: string): void {
    this.dead.add(owner)
    for (const e of this.heap) if (e.owner === owner) e.cancelled = true
  }

  reviveOwner(owner: string): void {
    this.dead.delete(owner)
  }

  clock(owner?: string, skewMs?: () => number): Clock {
    const intervals = new WeakMap<object, { event: ScheduledEvent | undefined }>()
    const clock: Clock = {
      // whole milliseconds, like Date.now (code that stores times may expect integers)
      now: () => Math.floor(this.time + (skewMs?.() ?? 0)),
      setTimeout: (fn, ms) => this.at(this.time + Math.max(0, ms), fn, 'timer', owner),
      clearTimeout: (handle) => {
        if (handle !== undefined && 'seq' in handle) this.cancel(handle as ScheduledEvent)
      },
      setInterval: (fn, ms) => {
        const period = Math.max(1, ms)
        const handle: { event: ScheduledEvent | undefined } = { event: undefined }
        const arm = (): void => {
          handle.event = this.at(
            this.time + period,
            () => {
              arm()
              fn()
            },
            'interval',
            owner,
          )
        }
        arm()
        const token: TimerHandle = {}
        intervals.set(token, handle)
        return token
      },
      clearInterval: (handle) => {
        const h = handle === undefined ? undefined : intervals.get(handle)
        if (h?.event !== undefined) this.cancel(h.event)
      },
    }
    return clock
  }

  pending(): number {
    return this.heap.filter((e) => !e.cancelled).length
  }

  async step(): Promise<boolean> {
    const event = this.pop()
    if (event === undefined) return false
    this.time = event.time
    this.executed++
    this.onEvent?.(event)
    event.fn()
    await yieldToLoop()
    return true
  }

  async runUntil(condition: (() => boolean) | number, options: RunOptions = {}): Promise<void> {
    const limit = this.time + (options.limitMs ?? DEFAULT_RUN_LIMIT_MS)
    if (typeof condition === 'number') {
      while (this.peekTime() !== undefined && this.peekTime()! <= condition) await this.step()
      this.time = Math.max(this.time, condition)
      return
    }
    await yieldToLoop()
    while (!condition()) {
      const next = this.peekTime()
      const what = options.what ?? 'condition'
      if (next === undefined) {
        throw new SimulationStalledError(`${what} not reached at ${this.iso()}: no event left to run`)
      }
      if (next > limit) {
        this.time = limit
        throw new SimulationDeadlineError(`${what} not reached within ${options.limitMs ?? DEFAULT_RUN_LIMIT_MS} ms`)
      }
      await this.step()
    }
  }

  runUntilSync(time: number, stop?: () => boolean): void {
    for (;;) {
      const next = this.peekTime()
      if (next === undefined || next > time) break
      const event = this.pop()!
      this.time = event.time
      this.executed++
      this.onEvent?.(event)
      event.fn()
      if (stop?.()) return
    }
    this.time = Math.max(this.time, time)
  }

  runFor(ms: number): Promise<void> {
    return this.runUntil(this.time + ms)
  }

  async settle<T>(promise: Promise<T>, options: RunOptions = {}): Promise<T> {
    let settled = false
    const watched = promise.finally(() => {
      settled = true
    })
    watched.catch(() => {})
    await this.runUntil(() => settled, { what: 'promise settled', ...options })
    return watched
  }

  private iso(): string {
    return new Date(this.time).toISOString()
  }

  // --- binary heap on (time, seq) -----------------------------------------------------------------------------------

  private peekTime(): number | undefined {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.removeTop()
    return this.heap[0]?.time
  }

  private push(event: QueuedEvent): void {
    const heap = this.heap
    heap.push(event)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(heap[i]!, heap[parent]!)) break
      ;[heap[i], heap[parent]] = [heap[parent]!, heap[i]!]
      i = parent
    }
  }

  /** The next event that is not cancelled, removed from the queue. */
  private pop(): QueuedEvent | undefined {
    for (;;) {
      const top = this.removeTop()
      if (top === undefined || !top.cancelled) return top
    }
  }

  /** Removes and returns the earliest event, cancelled or not. */
  private removeTop(): QueuedEvent | undefined {
    const heap = this.heap
    const top = heap[0]
    if (top === undefined) return undefined
    const last = heap.pop()!
    if (heap.length > 0) {
      heap[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r
        if (m === i) break
        ;[heap[i], heap[m]] = [heap[m]!, heap[i]!]
        i = m
      }
    }
    return top
  }
}

function before(a: QueuedEvent, b: QueuedEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq)
}
