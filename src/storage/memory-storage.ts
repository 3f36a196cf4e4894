/**
 * In-memory storage engine: the same contract as the durable engine, minus durability. Used when the mesh has no data
 * directory, and in tests. Everything is dropped on `close()`; a re-opened memory store starts empty.
 *
 * @module
 */

import { assertBytes, assertMetaKey, copyBytes } from './arguments.js'
import { StorageClosedError } from './errors.js'
import type { Storage, StorageStats } from './storage.js'

/** Creates an in-memory {@link Storage}. Writes resolve at once; nothing survives `close()`. */
export function createMemoryStorage(): Storage {
  return new MemoryStorage()
}

class MemoryStorage implements Storage {
  private isOpen = false
  private snapshot: Uint8Array | undefined
  private updates: Uint8Array[] = []
  private readonly meta = new Map<string, Uint8Array>()

  async open(): Promise<void> {
    if (this.isOpen) return
    this.snapshot = undefined
    this.updates = []
    this.meta.clear()
    this.isOpen = true
  }

  async close(): Promise<void> {
    this.isOpen = false
    this.snapshot = undefined
    this.updates = []
    this.meta.clear()
  }

  async append(update: Uint8Array): Promise<void> {
    this.assertOpen()
    assertBytes(update, 'update')
    this.updates.push(copyBytes(update))
  }

  async load(): Promise<Uint8Array[]> {
    this.assertOpen()
    const all = this.snapshot === undefined ? this.updates : [this.snapshot, ...this.updates]
    return all.map(copyBytes)
  }

  async compact(snapshot: Uint8Array): Promise<void> {
    this.assertOpen()
    assertBytes(snapshot, 'snapshot')
    this.snapshot = copyBytes(snapshot)
    this.updates = []
  }

  async getMeta(key: string): Promise<Uint8Array | undefined> {
    this.assertOpen()
    assertMetaKey(key)
    const value = this.meta.get(key)
    return value === undefined ? undefined : copyBytes(value)
  }

  async setMeta(key: string, value: Uint8Array): Promise<void> {
    this.assertOpen()
    assertMetaKey(key)
    assertBytes(value, 'value')
    this.meta.set(key, copyBytes(value))
  }

  async stats(): Promise<StorageStats> {
    this.assertOpen()
    const updateBytes = this.updates.reduce((sum, u) => sum + u.byteLength, 0)
    const snapshotBytes = this.snapshot?.byteLength ?? 0
    let metaBytes = 0
    for (const [key, value] of this.meta) metaBytes += key.length * 2 + value.byteLength
    return { bytes: updateBytes + snapshotBytes + metaBytes, updates: this.updates.length, updateBytes, snapshotBytes }
  }

  private assertOpen(): void {
    if (!this.isOpen) throw new StorageClosedError('memory storage is not open')
  }
}
