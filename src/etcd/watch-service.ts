/**
 * etcd's Watch service: one bidirectional stream carries any number of watches. A watch covers a key, a range or a
 * prefix, may start at a past revision (replayed from retained history; below it the watch is cancelled with etcd's
 * `compact_revision`), filters puts or deletes, adds `prev_kv`, and with `progress_notify` receives an empty response
 * carrying the current revision when it has been idle for `progressNotifyMs`. A progress request is answered at once
 * with watch id -1, as etcd does.
 *
 * Events come from this agent's revision index, so a watch sees local and remote changes alike, in this agent's
 * revision order; no event is lost or repeated between the replay and live delivery (both are taken in one
 * synchronous step).
 *
 * @module
 */
import type { ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js'
import { inRange, type KeyRange, keyRange } from './codec.js'
import type { EtcdContext } from './context.js'
import { EtcdApiError } from './errors.js'
import { assertDecoded, grpcError } from './grpc-status.js'
import { int64, kvMessage, type WatchCreateRequest, type WatchRequest } from './messages.js'
import type { RevisionEvent } from './revision-store.js'

/** Size of one response of a replay (events of a watch starting at a past revision), bytes. */
const REPLAY_BYTES = 1024 * 1024

interface Watcher {
  readonly id: number
  readonly range: KeyRange
  readonly start: number
  readonly noPut: boolean
  readonly noDelete: boolean
  readonly prevKv: boolean
  readonly progress: boolean
  /** Whether an event was sent since the last progress notification. */
  active: boolean
}

function eventMessage(e: RevisionEvent, prevKv: boolean): object {
  return {
    type: e.type,
    kv: kvMessage(e.kv),
    ...(prevKv && e.prev !== undefined ? { prev_kv: kvMessage(e.prev) } : {}),
  }
}

class WatchSession {
  readonly #ctx: EtcdContext
  readonly #call: ServerDuplexStream<WatchRequest, object>
  readonly #watchers = new Map<number, Watcher>()
  #nextId = 0
  #closed = false
  readonly #unsubscribe: () => void
  readonly #progressTimer: NodeJS.Timeout

  constructor(ctx: EtcdContext, call: ServerDuplexStream<WatchRequest, object>) {
    this.#ctx = ctx
    this.#call = call
    this.#unsubscribe = ctx.store.subscribe((e) => this.#deliver(e))
    this.#progressTimer = setInterval(() => this.#progressTick(), ctx.progressNotifyMs)
    this.#progressTimer.unref()
    call.on('data', (req: WatchRequest) => {
      try {
        this.#handle(assertDecoded(req, 'WatchRequest'))
      } catch (err) {
        this.#fail(err)
      }
    })
    call.on('end', () => this.close())
    call.on('error', () => this.close())
    call.on('cancelled', () => this.close())
    call.on('close', () => this.close())
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#unsubscribe()
    clearInterval(this.#progressTimer)
    this.#watchers.clear()
    try {
      this.#call.end()
    } catch {
      // already closed by the client
    }
  }

  #send(message: object): void {
    if (this.#closed) return
    try {
      this.#call.write(message)
    } catch (err) {
      this.#ctx.logger.debug(`etcd watch stream write failed: ${String(err)}`)
      this.close()
    }
  }

  #fail(err: unknown): void {
    if (this.#closed) return
    this.#closed = true
    this.#unsubscribe()
    clearInterval(this.#progressTimer)
    this.#call.emit('error', grpcError(err, this.#ctx.logger, 'Watch'))
  }

  #handle(req: WatchRequest): void {
    switch (req.request_union) {
      case 'create_request':
        this.#create(req.create_request!)
        break
      case 'cancel_request': {
        const id = int64(req.cancel_request?.watch_id)
        if (this.#watchers.delete(id)) this.#send({ header: this.#ctx.header(), watch_id: id, canceled: true })
        break
      }
      case 'progress_request':
        this.#send({ header: this.#ctx.header(), watch_id: -1 })
        break
      default:
        // etcd ignores an unknown request type rather than closing the stream
        this.#ctx.logger.debug('etcd watch: empty request ignored')
    }
  }

  #create(c: WatchCreateRequest): void {
    const store = this.#ctx.store
    let id = int64(c.watch_id)
    const refuse = (reason: string): void =>
      this.#send({ header: this.#ctx.header(), watch_id: -1, created: true, canceled: true, cancel_reason: reason })
    if (id < 0) {
      refuse('etcdserver: invalid watch ID')
      return
    }
    if (id === 0) {
      while (this.#watchers.has(this.#nextId)) this.#nextId++
      id = this.#nextId++
    } else if (this.#watchers.has(id)) {
      refuse('mvcc: duplicate watch ID provided on the WatchStream')
      return
    }
    let range: KeyRange
    try {
      range = keyRange(c.key, c.range_end)
    } catch (err) {
      refuse((err as Error).message)
      return
    }
    const filters = c.filters ?? []
    const start = int64(c.start_revision)
    const watcher: Watcher = {
      id,
      range,
      start,
      noPut: filters.includes('NOPUT'),
      noDelete: filters.includes('NODELETE'),
      prevKv: c.prev_kv === true,
      progress: c.progress_notify === true,
      active: false,
    }
    this.#send({ header: this.#ctx.header(), watch_id: id, created: true })
    if (start > 0 && start <= store.revision) {
      let backlog: RevisionEvent[]
      try {
        backlog = store.eventsFrom(start, range)
      } catch (err) {
        if (!(err instanceof EtcdApiError)) throw err
        this.#send({
          header: this.#ctx.header(),
          watch_id: id,
          canceled: true,
          compact_revision: store.compactRevision,
          cancel_reason: err.message,
        })
        return
      }
      // Replayed in responses of about REPLAY_BYTES each: clients refuse messages over 4 MiB by default.
      let batch: object[] = []
      let bytes = 0
      const flush = (): void => {
        if (batch.length > 0) this.#send({ header: this.#ctx.header(), watch_id: id, events: batch })
        batch = []
        bytes = 0
      }
      for (const e of backlog) {
        if (!this.#wanted(watcher, e)) continue
        batch.push(eventMessage(e, watcher.prevKv))
        bytes += e.kv.key.length + e.kv.value.length + (watcher.prevKv ? (e.prev?.value.length ?? 0) : 0) + 64
        if (bytes >= REPLAY_BYTES) flush()
      }
      flush()
    }
    this.#watchers.set(id, watcher)
  }

  #wanted(w: Watcher, e: RevisionEvent): boolean {
    if (e.type === 'PUT' ? w.noPut : w.noDelete) return false
    return e.kv.modRevision >= w.start && inRange(w.range, e.kv.key)
  }

  #deliver(e: RevisionEvent): void {
    for (const w of this.#watchers.values()) {
      if (!this.#wanted(w, e)) continue
      w.active = true
      this.#send({ header: this.#ctx.header(e.kv.modRevision), watch_id: w.id, events: [eventMessage(e, w.prevKv)] })
    }
  }

  #progressTick(): void {
    for (const w of this.#watchers.values()) {
      if (!w.progress) continue
      if (!w.active) this.#send({ header: this.#ctx.header(), watch_id: w.id })
      w.active = false
    }
  }
}

/** The Watch service implementation; `sessions` tracks open streams so the API can close them. */
export function watchService(ctx: EtcdContext, sessions: Set<{ close(): void }>): UntypedServiceImplementation {
  return {
    Watch: (call: ServerDuplexStream<WatchRequest, object>) => {
      const session = new WatchSession(ctx, call)
      sessions.add(session)
      call.on('close', () => sessions.delete(session))
    },
  }
}
