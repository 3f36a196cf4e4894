/**
 * What the etcd services of one API share: the mesh and the served namespace, the revision index, the leases,
 * the response header and the write path. Writes go through {@link EtcdContext.write}, which issues every change of
 * one request in one synchronous run, so the mesh commits them as ONE change (its write batcher coalesces a
 * synchronous run into one transaction): a Txn's writes, or a put with its lease attachment, apply together on
 * every peer.
 *
 * @module
 */
import type { Namespace } from '../config/namespace.js'
import type { MeshLogger } from '../logger.js'
import type { ConfigMesh } from '../mesh/config-mesh.js'
import type { EtcdLeases } from './etcd-leases.js'
import type { ResponseHeader } from './messages.js'
import type { RevisionStore } from './revision-store.js'

/** One change of a request: a value of the served namespace, or the lease attachment of a key. */
export interface EtcdWrite {
  readonly target: 'value' | 'lease'
  readonly key: string
  /** `undefined` deletes. */
  readonly value: string | undefined
}

/** Shared state of the etcd services of one API. */
export interface EtcdContext {
  readonly mesh: ConfigMesh
  /** The served namespace's name. */
  readonly namespace: string
  /** The served namespace. */
  readonly values: Namespace
  /** Where the lease of each key is recorded. */
  readonly attachments: Namespace
  readonly store: RevisionStore
  readonly leases: EtcdLeases
  readonly logger: MeshLogger
  /** Largest value a put accepts (as the mesh measures it: UTF-16 length + 2). */
  readonly maxValueBytes: number
  /** Period of progress notifications of watches that asked for them, ms. */
  readonly progressNotifyMs: number
  /** The address the API serves on. */
  address(): string
  /** A response header at `revision` (default: the current one). */
  header(revision?: number): ResponseHeader
}

/** Applies `writes` as one change of the mesh; resolves when applied (and durable, with a data dir). */
export async function applyWrites(ctx: EtcdContext, writes: readonly EtcdWrite[]): Promise<void> {
  const pending: Array<Promise<void>> = []
  for (const w of writes) {
    const ns = w.target === 'value' ? ctx.values : ctx.attachments
    pending.push(w.value === undefined ? ns.delete(w.key) : ns.set(w.key, w.value))
  }
  await Promise.all(pending)
}
