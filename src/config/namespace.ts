/**
 * A namespace: an isolated key space of the config with get/set/delete/entries/toJSON/watch. The mesh itself is the
 * namespace `'default'`. A key in one namespace is not visible in another.
 *
 * @module
 */
import { InvalidValueError } from '../errors.js'
import { DataKeyRequiredError } from '../security/authorization-errors.js'
import type { SecretCodec } from '../security/secrets.js'
import { assertValidKey, assertValidNamespace } from './key.js'
import type { KvStore, WriteOp } from './kv-store.js'
import { assertJsonValue, type JsonValue, type ValueLimits } from './value.js'
import type { WatchHub, WatchListener, WatchTarget } from './watch.js'

/** Name of the namespace the mesh itself reads and writes. */
export const DEFAULT_NAMESPACE = 'default'

/** Read access to one namespace. */
export interface ReadonlyNamespace {
  /** The namespace's name. */
  readonly name: string
  /** The value of `key`, or `undefined`. Returned objects are frozen: clone them to modify. */
  get<T extends JsonValue = JsonValue>(key: string): T | undefined
  /** Whether `key` has a value. */
  has(key: string): boolean
  /** Every `[key, value]`, sorted by key. */
  entries(): Array<[string, JsonValue]>
  /** Every key, sorted. */
  keys(): string[]
  /** The namespace as a plain object (keys sorted). */
  toJSON(): Record<string, JsonValue>
}

/** A key's value with who wrote it and when (see {@link Namespace.getEntry}). */
export interface EntryInfo {
  /** The value. Frozen, like `get()`'s. */
  readonly value: JsonValue
  /** Peer id of the writer of this value. */
  readonly author: string
  /** Hybrid-clock time of the write (ms since epoch). */
  readonly time: number
}

/** Read-write access to one namespace. */
export interface Namespace extends ReadonlyNamespace {
  /** The value of `key` with its writer and write time, or `undefined` when `key` has no value. */
  getEntry(key: string): EntryInfo | undefined
  /**
   * Sets `key` to `value` (any JSON value). Resolves once the change is applied locally (and, with `dataDir`, durable
   * on disk); it reaches other peers within milliseconds. Throws `InvalidKeyError` / `InvalidValueError` and changes
   * nothing when the input is refused.
   */
  set(key: string, value: JsonValue): Promise<void>
  /** Deletes `key` (a no-op if absent). Watchers see `value: undefined`. */
  delete(key: string): Promise<void>
  /** Sets and deletes several keys as ONE change (`undefined` deletes). All are validated before anything is written. */
  update(changes: Record<string, JsonValue | undefined>): Promise<void>
  /**
   * Sets `key` to `value` sealed with the mesh's data key (AES-256-GCM, bound to namespace and key): only the
   * envelope enters the document, the disk and the wire. Throws `DataKeyRequiredError` without `createMesh({ dataKey })`.
   */
  setSecret(key: string, value: JsonValue): Promise<void>
  /**
   * The secret at `key`, opened with the data key (`undefined` if absent). Throws `DataKeyRequiredError` without a
   * data key, `SecretKeyMismatchError` if another key sealed it, `NotSealedError` if it is not a secret.
   */
  secret<T extends JsonValue = JsonValue>(key: string): T | undefined
  /** Calls `listener` on every change of `key`; returns the unsubscribe function. */
  watch(key: string, listener: WatchListener): () => void
  /** Calls `listener` on every change of a key starting with `prefix`. */
  watch(target: { prefix: string }, listener: WatchListener): () => void
  /** Calls `listener` on every change in this namespace. */
  watch(listener: WatchListener): () => void
}

/** What a namespace needs from its mesh. */
export interface NamespaceBackend {
  readonly store: KvStore
  readonly hub: WatchHub
  readonly valueLimits: ValueLimits
  /** Applies validated writes; resolves when they are applied (and durable, with storage). */
  write(ops: WriteOp[]): Promise<void>
  /** Throws if the mesh is stopped. */
  assertUsable(): void
  /** Seals and opens secret values (security). Default: none (`setSecret`/`secret` throw `DataKeyRequiredError`). */
  readonly secrets?: SecretCodec
}

/** Creates a read-only view over `store`. */
export function createReadonlyNamespace(name: string, store: Pick<KvStore, 'get' | 'entries'>): ReadonlyNamespace {
  assertValidNamespace(name)
  return {
    name,
    get: <T extends JsonValue = JsonValue>(key: string) => store.get(name, key) as T | undefined,
    has: (key) => store.get(name, key) !== undefined,
    entries: () => store.entries(name),
    keys: () => store.entries(name).map(([k]) => k),
    toJSON: () => Object.fromEntries(store.entries(name)),
  }
}

/** Creates a read-write namespace. */
export function createNamespace(name: string, backend: NamespaceBackend): Namespace {
  const view = createReadonlyNamespace(name, backend.store)
  const prepare = (key: string, value: JsonValue | undefined): WriteOp => {
    assertValidKey(key)
    if (value === undefined) return { namespace: name, key, value: undefined }
    assertJsonValue(value, backend.valueLimits)
    // Store a private copy: the caller's object stays theirs (and unfrozen).
    return { namespace: name, key, value: structuredClone(value) }
  }
  function watch(targetOrListener: WatchTarget | WatchListener, maybeListener?: WatchListener): () => void {
    backend.assertUsable()
    if (typeof targetOrListener === 'function') return backend.hub.add(name, undefined, targetOrListener)
    if (typeof maybeListener !== 'function') throw new TypeError('watch(target, listener): listener must be a function')
    if (typeof targetOrListener === 'string') assertValidKey(targetOrListener)
    else if (typeof targetOrListener?.prefix !== 'string') {
      throw new TypeError('watch target must be a key or { prefix: string }')
    }
    return backend.hub.add(name, targetOrListener, maybeListener)
  }
  return {
    ...view,
    getEntry(key) {
      const value = backend.store.get(name, key)
      const meta = value === undefined ? undefined : backend.store.meta(name, key)
      return meta === undefined || value === undefined ? undefined : { value, author: meta.author, time: meta.time }
    },
    async set(key, value) {
      backend.assertUsable()
      assertValidKey(key)
      if (value === undefined)
        throw new InvalidValueError('value is undefined, not JSON (use delete() to remove a key)')
      await backend.write([prepare(key, value)])
    },
    async delete(key) {
      backend.assertUsable()
      await backend.write([prepare(key, undefined)])
    },
    async update(changes) {
      backend.assertUsable()
      if (changes === null || typeof changes !== 'object') throw new TypeError('update() takes an object of changes')
      const ops = Object.entries(changes).map(([k, v]) => prepare(k, v))
      await backend.write(ops)
    },
    async setSecret(key, value) {
      backend.assertUsable()
      assertValidKey(key)
      if (backend.secrets === undefined) throw new DataKeyRequiredError('this mesh has no data key')
      assertJsonValue(value, backend.valueLimits)
      await backend.write([{ namespace: name, key, value: backend.secrets.seal(name, key, value) }])
    },
    secret<T extends JsonValue = JsonValue>(key: string): T | undefined {
      assertValidKey(key)
      if (backend.secrets === undefined) throw new DataKeyRequiredError('this mesh has no data key')
      return backend.secrets.open(name, key, backend.store.get(name, key)) as T | undefined
    },
    watch,
  }
}
