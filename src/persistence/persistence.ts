/**
 * Offline-first persistence of one mesh peer: what `createMesh({ dataDir })` keeps on disk, and in which order it
 * is restored. See `docs/durability.md` for the guarantees in prose.
 *
 * Kept in the store: the document (its log and snapshot; history lives inside the document), and metadata (see
 * `meta.ts`): the mesh name, the peer identity (same peer id after a restart), the writer epoch (same Yjs client id
 * after a restart), the address book of peers met, and a clean-shutdown flag.
 *
 * Start order (nothing of the network can touch the document before it is restored):
 * 1. {@link openPersistence}: open the store (`StorageLockedError`, `StorageCorruptError`, ... surface unchanged),
 *    read the metadata, load the stored updates, mark the run as not cleanly stopped. The peer identity is known
 *    now, so the libp2p node can be built with it.
 * 2. {@link Persistence.attach}: apply every stored update to the (empty) document through the ingest pipeline
 *    (`doc/ingest.ts`, `via: 'storage'`: bounded and guarded like every other update, not authorised) in ONE
 *    transaction with `STORAGE_ORIGIN` (not published, not appended again), choose the writer id (`writer-id.ts`) and set it,
 *    then append every later update. The mesh calls it before the document is shared by any protocol.
 * 3. The mesh gates publishing and catch-up serving on {@link Persistence.durable}.
 * 4. {@link Persistence.close} at stop: last appends, compaction if due, address book, clean flag, close the store.
 *
 * @module
 */
import { performance } from 'node:perf_hooks'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import * as Y from 'yjs'
import { type Clock, systemClock, type TimerHandle } from '../clock.js'
import type { Ingest } from '../doc/ingest.js'
import { CLEANUP_ORIGIN, isRemoteOrigin, LOCAL_ORIGIN, STORAGE_ORIGIN } from '../doc/origins.js'
import { InvalidOptionsError } from '../errors.js'
import type { MeshLogger } from '../logger.js'
import {
  type AddressBookLimits,
  addressesOf,
  decodeAddressBook,
  encodeAddressBook,
  mergeAddressBook,
  type RememberedPeer,
} from '../membership/address-book.js'
import { identityFromBytes, identityToBytes } from '../security/identity.js'
import type { CompactionPolicyInit } from '../storage/compaction-policy.js'
import { StorageCorruptError } from '../storage/errors.js'
import type { Storage } from '../storage/storage.js'
import { bindDocToStorage, type DocPersistence, type DocPersistenceCounters } from './doc-persistence.js'
import { DataDirMismatchError } from './errors.js'
import { decodeFlag, decodeText, decodeUint32, encodeFlag, encodeText, encodeUint32, META } from './meta.js'
import { chooseWriter, freshWriter, type WriterChoice } from './writer-id.js'

/** Default of {@link PersistenceInit.writerHoldMs}. */
export const DEFAULT_WRITER_HOLD_MS = 10_000
/** Default of {@link PersistenceInit.addressSaveMs}. */
export const DEFAULT_ADDRESS_SAVE_MS = 5_000

/** Options of {@link openPersistence}. */
export interface PersistenceInit {
  /** The store (not yet open); it is opened here and closed by {@link Persistence.close}. */
  storage: Storage
  /** The mesh name; a store that holds another mesh is refused with {@link DataDirMismatchError}. */
  meshName: string
  /**
   * An identity chosen by the caller. Stored on first use; a store holding another identity is refused with
   * {@link DataDirMismatchError}. Default: the stored identity, or a new Ed25519 key on first use.
   */
  privateKey?: PrivateKey
  /** How often the address book is saved when it changed, in ms. Default {@link DEFAULT_ADDRESS_SAVE_MS}. */
  addressSaveMs?: number
  /** Bounds of the address book. Default: `address-book.ts` defaults (32 peers, 8 addresses each). */
  addressBook?: AddressBookLimits
  /** Appends between compaction checks. Default: `doc-persistence.ts` default (256). */
  compactCheckEvery?: number
  /** Compaction thresholds. Default: `shouldCompact` defaults. */
  compaction?: CompactionPolicyInit
  /** Longest delay before a remote update is stored, ms. Default: `doc-persistence.ts` default (50). */
  deferMs?: number
  /** Timers (deferred stores, address book saves) and the address book's clock. Default: the system clock. */
  clock?: Clock
  /**
   * Longest wait of local writes for the first contact while a reused writer id is guarded
   * ({@link Persistence.guardReusedWriter}); then they go ahead under a fresh writer id. Default
   * {@link DEFAULT_WRITER_HOLD_MS}.
   */
  writerHoldMs?: number
  /** Draws a fresh writer epoch. Default: the CSPRNG (`security/client-id.ts`); simulations pass a seeded one. */
  drawEpoch?: () => number
}

/** Counters of a {@link Persistence}, for diagnostics. */
export interface PersistenceCounters extends DocPersistenceCounters {
  /** Updates (snapshot included) restored at start. */
  restoredUpdates: number
  /** Their total size in bytes. */
  restoredBytes: number
  /** Time to apply them, in ms. */
  restoreMs: number
  /** 1 when the previous run did not stop cleanly (crash, kill, power loss), else 0. */
  uncleanStart: number
  /** The Yjs client id this peer writes under now (`clientIdFor(peerId, epoch)`); 0 before the document is restored. */
  writerId: number
  /** 1 when the stored writer id (Yjs client id) was reused, 0 when a fresh one was drawn. */
  writerReused: number
  /** Times the writer id had to be replaced while running (peers held writes of ours the store lacked). */
  writerReplaced: number
  /**
   * 1 when the reused writer id was given up before the first completed catch-up (held writes waited `writerHoldMs`,
   * or history pruning came first), so a fresh one was taken (see {@link Persistence.guardReusedWriter}); else 0.
   */
  writerUnverified: number
  /** 1 while a reused writer id waits for the first contact, else 0. */
  writerGuarded: number
  /** Address-book saves. */
  addressSaves: number
}

/** A peer met, as the address book needs it. */
export interface LivePeer {
  readonly peerId: string
  readonly addresses: readonly string[]
  /** When it was last heard from (ms since epoch). Default: now (the peer is live). */
  readonly seen?: number
}

/** The persistence of one running mesh peer. */
export interface Persistence {
  /** The peer identity (stored, given, or new). */
  readonly privateKey: PrivateKey
  /** The peer id of {@link privateKey}. */
  readonly peerId: string
  /** The writer id of this run; `undefined` before {@link attach}. */
  readonly writer: WriterChoice | undefined
  /** Addresses of peers met in earlier runs (and this one), most recently seen first. */
  rememberedAddresses(): string[]
  /** Restores the stored state into `doc` (empty, not shared yet), sets its client id, and appends its updates. */
  attach(doc: Y.Doc, logger: MeshLogger, ingest: Pick<Ingest, 'apply'>): Promise<void>
  /** Resolves once every update applied to the document so far is durable (see `doc-persistence.ts`). */
  durable(): Promise<void>
  /**
   * Distrusts a reused writer id until the first contact (call after {@link attach}, when the peer expects peers: a
   * bootstrap list or peers met before). A data dir restored from an older backup cannot tell that the mesh holds
   * later writes under its stored id, so until {@link contacted}, local writes wait ({@link writerHold}) and history
   * pruning takes a fresh writer id first (`docs/durability.md`). No-op when the writer id was not reused.
   */
  guardReusedWriter(peersExpected: boolean): void
  /**
   * While the reused writer id waits for the first contact: a promise that resolves once local writes may go ahead
   * (at the first contact, or after `writerHoldMs` with a fresh writer id). `undefined` when they may go ahead now.
   */
  writerHold(): Promise<void> | undefined
  /**
   * A catch-up with a peer completed: whatever it held under our writer id is in the document now (and if it held
   * more than the store, Yjs replaced the id and persistence followed), so a reused id is safe from here on.
   */
  contacted(): void
  /**
   * Saves the address book from `live` (the peers met: pass recently dropped members too, with when they were last
   * heard, so a peer that stops while briefly alone still remembers them) every `addressSaveMs` while it changes, and
   * at close.
   */
  trackPeers(live: () => readonly LivePeer[]): void
  /** Counters. */
  readonly counters: PersistenceCounters
  /** Flushes, compacts if due, saves the address book and the clean flag, closes the store. Idempotent; never rejects. */
  close(): Promise<void>
}

/** Opens the store and reads what is needed before the libp2p node starts (step 1 of the module comment). */
export async function openPersistence(init: PersistenceInit): Promise<Persistence> {
  const { storage } = init
  await storage.open()
  try {
    const storedName = await storage.getMeta(META.meshName)
    if (storedName !== undefined) {
      const name = decodeText(storedName, META.meshName)
      if (name !== init.meshName) {
        throw new DataDirMismatchError(
          `the data dir holds mesh "${name}", not "${init.meshName}": use the data dir of mesh "${init.meshName}", ` +
            'or a new one',
        )
      }
    }
    const storedIdentity = await storage.getMeta(META.identity)
    let privateKey: PrivateKey
    if (storedIdentity !== undefined) {
      let restored: ReturnType<typeof identityFromBytes>
      try {
        restored = identityFromBytes(storedIdentity)
      } catch (err) {
        throw new StorageCorruptError(`metadata "${META.identity}" is not a valid peer identity`, { cause: err })
      }
      if (init.privateKey !== undefined) {
        const given = peerIdFromPrivateKey(init.privateKey).toString()
        if (given !== restored.peerId) {
          throw new DataDirMismatchError(
            `the data dir belongs to peer ${restored.peerId}, but privateKey is that of ${given}: omit privateKey ` +
              'to use the stored identity, or use another data dir',
          )
        }
      }
      privateKey = restored.privateKey
    } else {
      privateKey = init.privateKey ?? (await generateKeyPair('Ed25519'))
      if (privateKey.type !== 'Ed25519') {
        throw new InvalidOptionsError(`with a data dir, privateKey must be an Ed25519 key, not ${privateKey.type}`)
      }
    }
    const epochBytes = await storage.getMeta(META.epoch)
    const storedEpoch = epochBytes === undefined ? undefined : decodeUint32(epochBytes, META.epoch)
    const cleanBytes = await storage.getMeta(META.clean)
    const wasClean = cleanBytes === undefined ? true : decodeFlag(cleanBytes, META.clean)
    const warnings: string[] = []
    let book: RememberedPeer[] = []
    const bookBytes = await storage.getMeta(META.addresses)
    if (bookBytes !== undefined) {
      try {
        book = decodeAddressBook(bookBytes)
      } catch (err) {
        warnings.push(`ignoring an unreadable address book (${(err as Error).message})`)
      }
    }
    const stored = await storage.load()
    const writes: Array<Promise<void>> = [storage.setMeta(META.clean, encodeFlag(false))]
    if (storedName === undefined) writes.push(storage.setMeta(META.meshName, encodeText(init.meshName)))
    if (storedIdentity === undefined) writes.push(storage.setMeta(META.identity, identityToBytes({ privateKey })))
    await Promise.all(writes)
    return new StoredPeer(init, privateKey, { storedEpoch, wasClean, book, stored, warnings })
  } catch (err) {
    await storage.close().catch(() => {})
    throw err
  }
}

interface Restored {
  storedEpoch: number | undefined
  wasClean: boolean
  book: RememberedPeer[]
  stored: Uint8Array[]
  warnings: string[]
}

class StoredPeer implements Persistence {
  readonly privateKey: PrivateKey
  readonly peerId: string
  writer: WriterChoice | undefined
  private readonly init: PersistenceInit
  private restored: Restored | undefined
  private book: RememberedPeer[]
  private savedBook: string
  private bound: DocPersistence | undefined
  private doc: Y.Doc | undefined
  private logger: MeshLogger | undefined
  private live: (() => readonly LivePeer[]) | undefined
  private timer: TimerHandle | undefined
  private readonly clock: Clock
  private closing: Promise<void> | undefined
  /** The reused writer id waits for the first contact (see {@link Persistence.guardReusedWriter}). */
  private guarded = false
  /** Local writes waiting for the first contact. */
  private hold: { promise: Promise<void>; release: () => void; timer: TimerHandle } | undefined
  private readonly holdMs: number
  private readonly own = {
    restoredUpdates: 0,
    restoredBytes: 0,
    restoreMs: 0,
    uncleanStart: 0,
    writerReused: 0,
    writerReplaced: 0,
    writerUnverified: 0,
    addressSaves: 0,
  }

  constructor(init: PersistenceInit, privateKey: PrivateKey, restored: Restored) {
    this.clock = init.clock ?? systemClock
    this.holdMs = init.writerHoldMs ?? DEFAULT_WRITER_HOLD_MS
    this.init = init
    this.privateKey = privateKey
    this.peerId = peerIdFromPrivateKey(privateKey).toString()
    this.restored = restored
    this.book = restored.book
    this.savedBook = bookKey(restored.book)
    this.own.uncleanStart = restored.wasClean ? 0 : 1
  }

  get counters(): PersistenceCounters {
    const bound = this.bound?.counters ?? { appends: 0, failedAppends: 0, compactions: 0 }
    return { ...bound, ...this.own, writerId: this.writer?.clientId ?? 0, writerGuarded: this.guarded ? 1 : 0 }
  }

  rememberedAddresses(): string[] {
    return addressesOf(this.book)
  }

  async attach(doc: Y.Doc, logger: MeshLogger, ingest: Pick<Ingest, 'apply'>): Promise<void> {
    const restored = this.restored
    if (restored === undefined) throw new Error('attach() called twice')
    this.restored = undefined
    this.doc = doc
    this.logger = logger
    for (const w of restored.warnings) logger.warn(w)
    const started = performance.now()
    const { stored } = restored
    Y.transact(
      doc,
      () => {
        for (const [i, update] of stored.entries()) {
          const err = ingest.apply(update, { from: this.peerId, via: 'storage' })
          if (err !== undefined) {
            throw new StorageCorruptError(
              `stored update ${i + 1} of ${stored.length} (${update.byteLength} bytes) cannot be applied: ` +
                `${(err as Error).message}; restore the data dir from a backup, or move it aside to start empty ` +
                'and resynchronise from peers',
              { cause: err },
            )
          }
        }
      },
      STORAGE_ORIGIN,
    )
    this.own.restoredUpdates = stored.length
    this.own.restoredBytes = stored.reduce((sum, u) => sum + u.byteLength, 0)
    this.own.restoreMs = performance.now() - started
    const hasGap = doc.store.pendingStructs !== null || doc.store.pendingDs !== null
    if (hasGap) logger.warn('the stored log has a gap (pending updates): the missing parts will come from peers')
    const stateVector = Y.decodeStateVector(Y.encodeStateVector(doc))
    const draw = this.init.drawEpoch === undefined ? {} : { drawEpoch: this.init.drawEpoch }
    const writer = chooseWriter({
      peerId: this.peerId,
      storedEpoch: restored.storedEpoch,
      stateVector,
      hasGap,
      ...draw,
    })
    doc.clientID = writer.clientId
    this.writer = writer
    this.own.writerReused = writer.reused ? 1 : 0
    if (!writer.reused) await this.init.storage.setMeta(META.epoch, encodeUint32(writer.epoch))
    logger.info(
      `restored ${stored.length} stored update(s), ${this.own.restoredBytes} bytes, in ${this.own.restoreMs.toFixed(1)} ms` +
        `${restored.wasClean ? '' : ' after an unclean stop'}; writer id ${writer.clientId} (${writer.reason})`,
    )
    this.bound = bindDocToStorage({
      doc,
      storage: this.init.storage,
      logger,
      afterUpdate: () => this.checkWriter(),
      // Remote updates (the applier's origin): peers hold them and none of them is ours, so they may wait a little.
      deferrable: isRemoteOrigin,
      ...(this.init.deferMs === undefined ? {} : { deferMs: this.init.deferMs }),
      ...(this.init.clock === undefined ? {} : { clock: this.init.clock }),
      ...(this.init.compactCheckEvery === undefined ? {} : { compactCheckEvery: this.init.compactCheckEvery }),
      ...(this.init.compaction === undefined ? {} : { compaction: this.init.compaction }),
    })
  }

  durable(): Promise<void> {
    return this.bound?.durable() ?? Promise.resolve()
  }

  guardReusedWriter(peersExpected: boolean): void {
    if (this.doc === undefined || this.writer?.reused !== true || !peersExpected || this.guarded) return
    this.guarded = true
    this.doc.on('beforeTransaction', this.beforeTransaction)
  }

  writerHold(): Promise<void> | undefined {
    if (!this.guarded) return undefined
    if (this.hold === undefined) {
      let release!: () => void
      const promise = new Promise<void>((resolve) => {
        release = resolve
      })
      const timer = this.clock.setTimeout(
        () => this.giveUpWriter(`no peer reached within ${this.holdMs} ms`),
        this.holdMs,
      )
      this.hold = { promise, release, timer }
    }
    return this.hold.promise
  }

  contacted(): void {
    if (!this.guarded) return
    this.guarded = false
    this.doc?.off('beforeTransaction', this.beforeTransaction)
    if (this.hold !== undefined) {
      this.clock.clearTimeout(this.hold.timer)
      this.hold.release()
      this.hold = undefined
    }
  }

  /** A local transaction before the first contact (history pruning may write a record): a fresh writer id first. */
  private readonly beforeTransaction = (tr: Y.Transaction): void => {
    // local writes wait for the contact (writerHold); remote updates, the restore and Yjs' own bookkeeping (origin
    // null, e.g. `doc.getArray` defining a root type) create nothing under our id
    if (tr.origin === LOCAL_ORIGIN || tr.origin === CLEANUP_ORIGIN) this.giveUpWriter('a local change')
  }

  /** Gives up the reused writer id before the first contact: a fresh one, then held writes go ahead. */
  private giveUpWriter(why: string): void {
    if (!this.guarded) return
    this.contacted()
    this.own.writerUnverified = 1
    this.switchWriter(
      'unverified',
      (next) =>
        `${why} before the first contact with a peer: writing under a fresh writer id ${next.clientId}, not the ` +
        'reused one (peers may hold later writes under it if this data dir was restored from an older backup)',
    )
  }

  trackPeers(live: () => readonly LivePeer[]): void {
    this.live = live
    if (this.timer !== undefined || this.closing !== undefined) return
    this.timer = this.clock.setInterval(
      () => void this.saveAddresses(),
      this.init.addressSaveMs ?? DEFAULT_ADDRESS_SAVE_MS,
    )
  }

  close(): Promise<void> {
    this.closing ??= this.doClose()
    return this.closing
  }

  private async doClose(): Promise<void> {
    this.clock.clearInterval(this.timer)
    if (this.hold !== undefined) this.giveUpWriter('stopping') // held writes go ahead under a fresh id
    try {
      await this.bound?.detach()
      await this.saveAddresses()
      // Only a run that restored and stored everything it was given counts as a clean stop.
      if (this.bound !== undefined) await this.init.storage.setMeta(META.clean, encodeFlag(true))
    } catch (err) {
      this.logger?.error(`closing the store: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`)
    } finally {
      await this.init.storage.close().catch((err: unknown) => this.logger?.error(`closing the store: ${String(err)}`))
    }
  }

  private async saveAddresses(): Promise<void> {
    if (this.live === undefined) return
    let live: readonly LivePeer[]
    try {
      live = this.live()
    } catch {
      return // the mesh is tearing down
    }
    const next = mergeAddressBook(this.book, live, this.clock.now(), this.peerId, this.init.addressBook)
    this.book = next
    const key = bookKey(next)
    if (key === this.savedBook) return
    try {
      await this.init.storage.setMeta(META.addresses, encodeAddressBook(next))
      this.savedBook = key
      this.own.addressSaves++
    } catch (err) {
      this.logger?.warn(`saving the address book failed: ${(err as Error).message}`)
    }
  }

  /**
   * Yjs replaces a document's client id when a remote update brings structs under it that this replica lacks (peers
   * hold writes of ours the store does not: a data dir restored from an older backup, or copied). Follow with a fresh
   * epoch, bound to our peer id, and persist it.
   */
  private checkWriter(): void {
    const doc = this.doc
    const writer = this.writer
    if (doc === undefined || writer === undefined || doc.clientID === writer.clientId) return
    this.contacted() // the id is replaced: held writes may go ahead under the new one
    this.own.writerReplaced++
    this.switchWriter(
      'replaced',
      (next) =>
        `peers hold writes under this peer's writer id ${writer.clientId} that its store lacks (restored from an ` +
        `older backup, or a copied data dir?): switching to writer id ${next.clientId}`,
    )
  }

  /** Takes a fresh epoch (a client id the document does not hold), sets it on the document and persists it. */
  private switchWriter(reason: WriterChoice['reason'], message: (next: WriterChoice) => string): void {
    const doc = this.doc
    if (doc === undefined) return
    const stateVector = Y.decodeStateVector(Y.encodeStateVector(doc))
    const draw = this.init.drawEpoch === undefined ? {} : { drawEpoch: this.init.drawEpoch }
    const next = freshWriter({ peerId: this.peerId, stateVector, ...draw }, reason)
    this.logger?.warn(message(next))
    doc.clientID = next.clientId
    this.writer = next
    // Not awaited: if the process dies before this is stored, the next start reuses the old epoch and guards it again.
    void this.init.storage
      .setMeta(META.epoch, encodeUint32(next.epoch))
      .catch((err: unknown) => this.logger?.error(`saving the writer epoch failed: ${String(err)}`))
  }
}

/** What decides whether the address book needs saving: peers and addresses, in order (not the timestamps). */
function bookKey(book: readonly RememberedPeer[]): string {
  return JSON.stringify(book.map((p) => [p.peerId, p.addresses]))
}
