/**
 * Watchers: who is told about which change. Exact keys, whole namespaces and key prefixes, each listener called
 * exactly once per change of a visible value (a write of an equal value is not a change), with local and remote
 * changes alike. A listener that throws is logged and never breaks replication.
 *
 * @module
 */
import type { MeshLogger } from '../logger.js'
import type { Change } from './kv-store.js'
import type { JsonValue } from './value.js'

/** What a watch listener receives. */
export interface WatchEvent {
  /** The namespace of the key. */
  readonly namespace: string
  /** The key that changed. */
  readonly key: string
  /** The new value; `undefined` after a delete. */
  readonly value: JsonValue | undefined
  /** The value before; `undefined` if the key did not exist. */
  readonly previous: JsonValue | undefined
  /** `'local'` when this process made the change, `'remote'` when it came from another peer. */
  readonly source: 'local' | 'remote'
  /** Peer id of the writer. */
  readonly author: string
  /** Hybrid-clock time of the write (ms since epoch). */
  readonly time: number
  /** `false` when the new value breaks a stored schema (only peers' values can: see `mesh.validate()`); else absent. */
  readonly valid?: false
}

/** A watch listener. */
export type WatchListener = (event: WatchEvent) => void

/** What to watch: one key (a string), or every key starting with `prefix`. */
export type WatchTarget = string | { prefix: string }

/** Dispatches changes to listeners. */
export interface WatchHub {
  /** Adds a listener for every change in every namespace; returns the unsubscribe function. */
  addGlobal(listener: WatchListener): () => void
  /** Adds a listener for `target` in `namespace` (`undefined`: every key); returns the unsubscribe function. */
  add(namespace: string, target: WatchTarget | undefined, listener: WatchListener): () => void
  /** Delivers a batch of changes (`valid: false` is passed on to listeners). */
  dispatch(changes: ReadonlyArray<Change & { readonly valid?: false }>): void
  /** Number of registered listeners. */
  readonly size: number
}

interface Registration {
  readonly prefix: string | undefined
  readonly listener: WatchListener
}

/** Creates a watch hub. */
export function createWatchHub(logger: MeshLogger): WatchHub {
  const exact = new Map<string, Set<WatchListener>>()
  const wide = new Map<string, Set<Registration>>()
  const global = new Set<WatchListener>()
  let size = 0
  const call = (listener: WatchListener, event: WatchEvent): void => {
    try {
      listener(event)
    } catch (err) {
      logger.error(`watch listener for ${event.namespace}/${event.key} threw: ${(err as Error)?.stack ?? String(err)}`)
    }
  }
  return {
    get size() {
      return size
    },
    addGlobal(listener) {
      size++
      const wrapped: WatchListener = (e) => listener(e)
      global.add(wrapped)
      return () => {
        if (global.delete(wrapped)) size--
      }
    },
    add(namespace, target, listener) {
      size++
      let removed = false
      if (typeof target === 'string') {
        const id = `${namespace}\u0000${target}`
        let set = exact.get(id)
        if (set === undefined) {
          set = new Set()
          exact.set(id, set)
        }
        // Wrap so the same function can be registered twice and removed independently.
        const wrapped: WatchListener = (e) => listener(e)
        set.add(wrapped)
        return () => {
          if (removed) return
          removed = true
          size--
          set.delete(wrapped)
          if (set.size === 0) exact.delete(id)
        }
      }
      const reg: Registration = { prefix: target?.prefix, listener }
      let set = wide.get(namespace)
      if (set === undefined) {
        set = new Set()
        wide.set(namespace, set)
      }
      set.add(reg)
      return () => {
        if (removed) return
        removed = true
        size--
        set.delete(reg)
        if (set.size === 0) wide.delete(namespace)
      }
    },
    dispatch(changes) {
      for (const c of changes) {
        const event: WatchEvent = {
          namespace: c.namespace,
          key: c.key,
          value: c.value,
          previous: c.previous,
          source: c.source,
          author: c.author,
          time: c.time,
          ...(c.valid === false ? { valid: false as const } : {}),
        }
        const keyed = exact.get(`${c.namespace}\u0000${c.key}`)
        if (keyed !== undefined) for (const l of [...keyed]) call(l, event)
        for (const l of [...global]) call(l, event)
        const regs = wide.get(c.namespace)
        if (regs !== undefined) {
          for (const r of [...regs]) if (r.prefix === undefined || c.key.startsWith(r.prefix)) call(r.listener, event)
        }
      }
    },
  }
}
