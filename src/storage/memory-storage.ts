/**
 * In-memory storage engine: the same contract as the durable engine, minus durability. Used when the mesh has no data
 * directory, and in tests. Everything is dropped on `close()`; a re-opened memory store starts empty.
 *
 * @module
 */

import { assertBytes, assertMetaKey, copyBytes } from './arguments.js'
import { StorageClosedError } from './errors.js'
import type { Storage, StorageStats } from './storage.js'

/**
 * Where a memory store keeps its bytes. A store made without one gets its own, emptied on `open()` and `close()`;
 * stores made over the same volume (one after the other) see what the earlier ones wrote, like a data dir on a disk
 * that survives its process: a simulated peer that crashes and restarts on its volume restarts from its own "disk".
 */
export interface MemoryVolume {
  snapshot: Uint8Array | undefined
  updates: Uint8Array[]
  readonly meta: Map<string, Uint8Array>
}

/** An empty {@link MemoryVolume}. */
export function createMemoryVolume(): MemoryVolume {
  return { snapshot: undefined, updates: [], meta: new Map() }
}

/** Options of {@link createMemoryStorage}. */
export interface MemoryStorageInit {
  /** Keep the bytes here, across stores (see {@link MemoryVolume}). Default: a private volume, cleared on open and close. */
  volume?: MemoryVolume
}

/** Creates an in-memory {@link Storage}. Writes resolve at once; without a `volume`, nothing survives `close()`. */
export function createMemoryStorage(init: MemoryStorageInit = {}): Storage {
  return new MemoryStorage(init.volume)
}

class MemoryStorage implements Storage {
  private isOpen = false
  private readonly v: MemoryVolume
  private readonly shared: boolean

  constructor(volume: MemoryVolume | undefined) {
    this.shared = volume !== undefined
    this.v = volume ?? createMemoryVolume()
  }

  async open(): Promise<void> {
    if (this.isOpen) return
    if (!this.shared) this.clear()
    this.isOpen = true
  }

  async close(): Promise<void> {
    this.isOpen = false
    if (!this.shared) this.clear()
  }

  private clear(): void {
    this.v.snapshot = undefined
    this.v.updates = []
    this.v.meta.clear()
  }

  async append(update: Uint8Array): Promise<void> {
    this.assertOpen()
    assertBytes(update, 'update')
    this.v.updates.push(copyBytes(update))
  }

  async load(): Promise<Uint8Array[]> {
    this.assertOpen()
    const all = this.v.snapshot === undefined ? this.v.updates : [this.v.snapshot, ...this.v.updates]
    return all.map(copyBytes)
  }

  async compact(snapshot: Uint8Array): Promise<void> {
    this.assertOpen()
    assertBytes(snapshot, 'snapshot')
    this.v.snapshot = copyBytes(snapshot)
    this.v.updates = []
  }

  async getMeta(key: string): Promise<Uint8Array | undefined> {
    this.assertOpen()
    assertMetaKey(key)
    const value = this.v.meta.get(key)
    return value === undefined ? undefined : copyBytes(value)
  }

  async setMeta(key: string, value: Uint8Array): Promise<void> {
    this.assertOpen()
    assertMetaKey(key)
    assertBytes(value, 'value')
    this.v.meta.set(key, copyBytes(value))
  }

  async stats(): Promise<StorageStats> {
    this.assertOpen()
    const updateBytes = this.v.updates.reduce((sum, u) => sum + u.byteLength, 0)
    const snapshotBytes = this.v.snapshot?.byteLength ?? 0
    let metaBytes = 0
    for (const [key, value] of this.v.meta) metaBytes += key.length * 2 + value.byteLength
    return {
      bytes: updateBytes + snapshotBytes + metaBytes,
      updates: this.v.updates.length,
      updateBytes,
      snapshotBytes,
    }
  }

  private assertOpen(): void {
    if (!this.isOpen) throw new StorageClosedError('memory storage is not open')
  }
}
