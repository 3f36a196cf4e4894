/**
 * The durable storage engine: one SQLite database (better-sqlite3) per data directory.
 *
 * What it guarantees:
 * - **Durability.** A write's promise resolves after its transaction is committed with `synchronous=FULL` in WAL mode,
 *   i.e. after the write-ahead log is fsync'd (`F_FULLFSYNC` on macOS). An acknowledged write survives the process
 *   being killed (tested with SIGKILL) and, as far as the disk honours fsync, power loss.
 * - **Group commit.** Writes issued in the same tick share one transaction and one fsync (see `group-commit.ts`).
 *   better-sqlite3 is synchronous: a commit blocks the event loop for the duration of its fsync, once per batch.
 * - **One process per data directory** (`data-dir-lock.ts`): a second opener gets `StorageLockedError`; the lock dies
 *   with its process.
 * - **No silent damage.** `open()` refuses a damaged store with `StorageCorruptError` (plain-read header checks, then
 *   `PRAGMA quick_check` and a schema check) and leaves its files untouched; every blob carries a CRC-32 checked when
 *   it is read, so `load()` and `getMeta()` never return flipped bits.
 * - **No silently cut log.** SQLite takes a damaged write-ahead-log frame for the torn tail of a crash and drops
 *   every transaction from it on; `open()` refuses a log damaged before its last transaction (`wal-check.ts`).
 *
 * What it does not guarantee: damage inside the last transaction of a crashed process's log cannot be told from a torn
 * write, so that transaction is dropped, as SQLite does. Advisory locks are only as good as the file system: keep data
 * directories on local disks (NFS and SMB may not honour them).
 *
 * Files in the data directory: `confmesh.db` (+ `confmesh.db-wal` while open or after a crash), `confmesh.lock`
 * (empty, the lock), `confmesh.owner` (who holds the lock, for error messages).
 *
 * @module
 */

import { accessSync, constants, mkdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import Database from 'better-sqlite3'
import { InvalidOptionsError } from '../errors.js'
import { assertBytes, assertMetaKey, copyBytes } from './arguments.js'
import { blobChecksum, metaChecksum } from './checksum.js'
import { acquireDataDirLock, assertNotHeldHere, type DataDirLock } from './data-dir-lock.js'
import { inspectDatabaseFiles } from './database-file-check.js'
import { errorCode, fromFsError, fromSqliteOpenError } from './error-mapping.js'
import {
  StorageAccessError,
  StorageClosedError,
  StorageCorruptError,
  StorageError,
  StorageLockedError,
  StorageWriteError,
} from './errors.js'
import { createGroupCommit, DEFAULT_GROUP_COMMIT, type GroupCommit } from './group-commit.js'
import { APPLICATION_ID, createDatabaseFile, verifyDatabase, verifyDatabaseCopy } from './sqlite-schema.js'
import type { Storage, StorageStats } from './storage.js'

/** Name of the database file in the data directory. */
export const DATABASE_FILE = 'confmesh.db'

/** Default of {@link SqliteStorageInit.lockTimeoutMs}: refuse at once. The lock is freed the moment its holder dies. */
export const DEFAULT_LOCK_TIMEOUT_MS = 0

/** While waiting for the data-dir lock (see {@link SqliteStorageInit.lockTimeoutMs}), retry this often. */
export const LOCK_RETRY_MS = 50

/** Size the write-ahead log is truncated to after a checkpoint (`journal_size_limit`). */
export const WAL_SIZE_LIMIT_BYTES = 4 * 1024 * 1024

/** After a compaction, free pages are returned to the file system when they exceed this share of the file. */
export const VACUUM_FREE_RATIO = 0.25

/** What one commit did, reported to {@link SqliteStorageInit.onCommit}. */
export interface CommitInfo {
  /** Number of writes (appends, compactions, metadata writes) in the batch. */
  writes: number
  /** Total size of the blobs written. */
  bytes: number
  /** Wall time of the transaction, fsync included; the event loop was blocked for this long. */
  durationMs: number
}

/** Options of {@link createSqliteStorage}. */
export interface SqliteStorageInit {
  /** Directory of the store. Created (mode 0700) if missing. One process at a time may open it. */
  dataDir: string
  /**
   * How long `open()` waits for another holder of the data directory to let go before rejecting with
   * `StorageLockedError`, retrying every {@link LOCK_RETRY_MS} without blocking the event loop. Default
   * {@link DEFAULT_LOCK_TIMEOUT_MS}.
   */
  lockTimeoutMs?: number
  /**
   * Group writes of the same tick into one transaction. `false` commits (and fsyncs) each write on its own, which
   * only benchmarks want. Default `true`.
   */
  groupCommit?: boolean
  /** Called after every commit, e.g. to export metrics. Runs synchronously; it must not throw. */
  onCommit?: (info: CommitInfo) => void
}

type Write =
  | { kind: 'append'; data: Uint8Array }
  | { kind: 'compact'; data: Uint8Array }
  | { kind: 'meta'; key: string; value: Uint8Array }

interface Counters {
  lastSeq: number
  updates: number
  updateBytes: number
  snapshotBytes: number
}

interface Session {
  db: Database.Database
  lock: DataDirLock
  queue: GroupCommit<Write>
  counters: Counters
  statements: ReturnType<typeof prepare>
}

/**
 * Creates a durable {@link Storage} in `init.dataDir`, backed by SQLite. Nothing touches the disk until `open()`.
 *
 * @example
 * ```ts
 * const storage = createSqliteStorage({ dataDir: '/var/lib/myapp/confmesh' })
 * await storage.open()
 * for (const update of await storage.load()) Y.applyUpdate(doc, update)
 * doc.on('update', (update) => { void storage.append(update) })
 * ```
 */
export function createSqliteStorage(init: SqliteStorageInit): Storage {
  if (typeof init?.dataDir !== 'string' || init.dataDir.length === 0) {
    throw new InvalidOptionsError('createSqliteStorage: dataDir must be a non-empty string')
  }
  const lockTimeoutMs = init.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS
  if (!Number.isInteger(lockTimeoutMs) || lockTimeoutMs < 0 || lockTimeoutMs > 0x7fffffff) {
    throw new InvalidOptionsError('createSqliteStorage: lockTimeoutMs must be a non-negative integer')
  }
  return new SqliteStorage(
    resolve(init.dataDir),
    lockTimeoutMs,
    init.groupCommit ?? DEFAULT_GROUP_COMMIT,
    init.onCommit,
  )
}

function prepare(db: Database.Database) {
  return {
    insertUpdate: db.prepare('INSERT INTO updates (seq, data, crc) VALUES (?, ?, ?)'),
    deleteUpdatesThrough: db.prepare('DELETE FROM updates WHERE seq <= ?'),
    putSnapshot: db.prepare(
      'INSERT INTO snapshot (id, through_seq, data, crc) VALUES (1, ?, ?, ?) ' +
        'ON CONFLICT (id) DO UPDATE SET through_seq = excluded.through_seq, data = excluded.data, crc = excluded.crc',
    ),
    putMeta: db.prepare(
      'INSERT INTO meta (key, value, crc) VALUES (?, ?, ?) ' +
        'ON CONFLICT (key) DO UPDATE SET value = excluded.value, crc = excluded.crc',
    ),
    getSnapshot: db.prepare('SELECT through_seq, data, crc FROM snapshot WHERE id = 1'),
    getUpdates: db.prepare('SELECT seq, data, crc FROM updates ORDER BY seq'),
    getMeta: db.prepare('SELECT value, crc FROM meta WHERE key = ?'),
    countUpdates: db.prepare(
      'SELECT count(*) AS n, coalesce(sum(length(data)), 0) AS bytes, coalesce(max(seq), 0) AS last FROM updates',
    ),
    snapshotInfo: db.prepare('SELECT through_seq, length(data) AS bytes FROM snapshot WHERE id = 1'),
  }
}

/** A zero-copy plain `Uint8Array` view of a `Buffer` returned by better-sqlite3 (a fresh allocation per value). */
function view(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
}

class SqliteStorage implements Storage {
  private session: Session | undefined
  private readonly dbPath: string

  constructor(
    private readonly dataDir: string,
    private readonly lockTimeoutMs: number,
    private readonly groupCommit: boolean,
    private readonly onCommit: ((info: CommitInfo) => void) | undefined,
  ) {
    this.dbPath = join(dataDir, DATABASE_FILE)
  }

  async open(): Promise<void> {
    const deadline = performance.now() + this.lockTimeoutMs
    for (;;) {
      if (this.session !== undefined) return
      try {
        this.openNow()
        return
      } catch (err) {
        const remaining = deadline - performance.now()
        if (!(err instanceof StorageLockedError) || remaining <= 0) throw err
        // Wait without blocking the event loop (SQLite's own busy timeout would sleep inside the call).
        await new Promise((resolve) => setTimeout(resolve, Math.min(LOCK_RETRY_MS, remaining)))
      }
    }
  }

  /** One synchronous attempt to open; see the module comment for the steps. */
  private openNow(): void {
    this.ensureDataDir()
    assertNotHeldHere(this.dataDir)
    // Plain-read checks first, so that refusing a damaged dir does not even create the lock file; then again under
    // the lock, where nobody else can be changing the files.
    inspectDatabaseFiles(this.dbPath, this.dataDir, APPLICATION_ID, { checkWal: false })
    const lock = acquireDataDirLock(this.dataDir)
    let db: Database.Database | undefined
    try {
      const files = inspectDatabaseFiles(this.dbPath, this.dataDir, APPLICATION_ID, { checkWal: true })
      if (!files.exists) createDatabaseFile(this.dbPath, this.dataDir)
      // A non-empty log means its writer crashed: verify a copy, so that refusing cannot checkpoint the log into
      // the database. Without a log, verifying in place leaves the files as they were.
      const verifiedCopy = files.walBytes > 0
      if (verifiedCopy) verifyDatabaseCopy(this.dbPath, this.dataDir)
      try {
        db = new Database(this.dbPath, { fileMustExist: true, timeout: 0 })
      } catch (err) {
        throw fromSqliteOpenError(err, this.dbPath, this.dataDir)
      }
      // Before the first read: in exclusive mode the log index lives in heap memory (no -shm file) and the first
      // read takes the database's lock for as long as the connection is open.
      db.pragma('locking_mode = EXCLUSIVE')
      verifyDatabase(db, this.dbPath, this.dataDir, { quickCheck: !verifiedCopy })
      this.configure(db)
      const statements = prepare(db)
      const counters = this.readCounters(statements)
      const session: Session = {
        db,
        lock,
        statements,
        counters,
        queue: createGroupCommit<Write>({
          enabled: this.groupCommit,
          commit: (writes) => this.commit(session, writes),
        }),
      }
      lock.recordOwner()
      this.session = session
    } catch (err) {
      try {
        db?.close()
      } finally {
        lock.release()
      }
      throw err
    }
  }

  async close(): Promise<void> {
    const session = this.session
    if (session === undefined) return
    this.session = undefined
    try {
      session.queue.flush()
    } finally {
      try {
        session.db.close() // checkpoints the log into the database and deletes it
      } finally {
        session.lock.release()
      }
    }
  }

  append(update: Uint8Array): Promise<void> {
    try {
      const session = this.active()
      assertBytes(update, 'update')
      return session.queue.submit({ kind: 'append', data: copyBytes(update) })
    } catch (err) {
      return Promise.reject(err)
    }
  }

  compact(snapshot: Uint8Array): Promise<void> {
    try {
      const session = this.active()
      assertBytes(snapshot, 'snapshot')
      return session.queue.submit({ kind: 'compact', data: copyBytes(snapshot) })
    } catch (err) {
      return Promise.reject(err)
    }
  }

  setMeta(key: string, value: Uint8Array): Promise<void> {
    try {
      const session = this.active()
      assertMetaKey(key)
      assertBytes(value, 'value')
      return session.queue.submit({ kind: 'meta', key, value: copyBytes(value) })
    } catch (err) {
      return Promise.reject(err)
    }
  }

  async load(): Promise<Uint8Array[]> {
    const { statements } = this.readable()
    const out: Uint8Array[] = []
    this.read(() => {
      const snapshot = statements.getSnapshot.get() as { through_seq: number; data: Buffer; crc: number } | undefined
      if (snapshot !== undefined) {
        this.verify(snapshot.data, snapshot.crc, blobChecksum(snapshot.data), 'the snapshot')
        out.push(view(snapshot.data))
      }
      for (const row of statements.getUpdates.iterate() as IterableIterator<{
        seq: number
        data: Buffer
        crc: number
      }>) {
        this.verify(row.data, row.crc, blobChecksum(row.data), `update #${row.seq}`)
        out.push(view(row.data))
      }
    })
    return out
  }

  async getMeta(key: string): Promise<Uint8Array | undefined> {
    const { statements } = this.readable()
    assertMetaKey(key)
    return this.read(() => {
      const row = statements.getMeta.get(key) as { value: Buffer; crc: number } | undefined
      if (row === undefined) return undefined
      this.verify(row.value, row.crc, metaChecksum(key, row.value), `metadata "${key}"`)
      return view(row.value)
    })
  }

  async stats(): Promise<StorageStats> {
    const { counters } = this.readable()
    let bytes = 0
    for (const path of [this.dbPath, `${this.dbPath}-wal`]) {
      try {
        bytes += statSync(path).size // stat only: opening and closing the file would drop SQLite's POSIX lock
      } catch (err) {
        if (errorCode(err) !== 'ENOENT') throw fromFsError(err, path, 'checking')
      }
    }
    return {
      bytes,
      updates: counters.updates,
      updateBytes: counters.updateBytes,
      snapshotBytes: counters.snapshotBytes,
    }
  }

  private active(): Session {
    if (this.session === undefined) {
      throw new StorageClosedError(`storage in ${this.dataDir} is not open`)
    }
    return this.session
  }

  /** The open session, with every write issued so far committed (read your writes). */
  private readable(): Session {
    const session = this.active()
    session.queue.flush()
    return session
  }

  private read<T>(fn: () => T): T {
    try {
      return fn()
    } catch (err) {
      if (err instanceof StorageError) throw err
      const code = errorCode(err) ?? ''
      if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB')
        throw fromSqliteOpenError(err, this.dbPath, this.dataDir)
      throw new StorageError(`reading ${this.dbPath} failed (${code || 'unknown'})`, { cause: err })
    }
  }

  private verify(data: Buffer, stored: number, actual: number, what: string): void {
    if (stored !== actual) {
      throw new StorageCorruptError(
        `data dir ${this.dataDir} is damaged: ${what} in ${this.dbPath} fails its checksum (${data.byteLength} bytes, ` +
          `crc32 0x${actual.toString(16)}, stored 0x${stored.toString(16)}); restore the data dir from a backup, or ` +
          'move it aside to start empty and resynchronise from peers',
      )
    }
  }

  private ensureDataDir(): void {
    try {
      mkdirSync(this.dataDir, { recursive: true, mode: 0o700 })
    } catch (err) {
      if (errorCode(err) === 'EEXIST' || errorCode(err) === 'ENOTDIR') {
        throw new StorageAccessError(`data dir ${this.dataDir} is not a directory`, { cause: err })
      }
      throw fromFsError(err, this.dataDir, 'creating')
    }
    try {
      accessSync(this.dataDir, constants.R_OK | constants.W_OK | constants.X_OK)
    } catch (err) {
      throw fromFsError(err, this.dataDir, 'opening')
    }
  }

  private configure(db: Database.Database): void {
    try {
      const mode = db.pragma('journal_mode = WAL', { simple: true })
      if (mode !== 'wal') throw new StorageError(`${this.dbPath}: cannot enable WAL mode (got ${String(mode)})`)
      db.pragma('synchronous = FULL') // fsync the log at every commit: an acknowledged write is on disk
      db.pragma('fullfsync = ON') // macOS: fsync does not flush the drive's cache, F_FULLFSYNC does
      db.pragma('checkpoint_fullfsync = ON')
      db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`)
      if (db.pragma('synchronous', { simple: true }) !== 2) {
        throw new StorageError(`${this.dbPath}: cannot set synchronous=FULL`)
      }
    } catch (err) {
      throw fromSqliteOpenError(err, this.dbPath, this.dataDir)
    }
  }

  private readCounters(statements: Session['statements']): Counters {
    return this.read(() => {
      const log = statements.countUpdates.get() as { n: number; bytes: number; last: number }
      const snapshot = statements.snapshotInfo.get() as { through_seq: number; bytes: number } | undefined
      return {
        lastSeq: Math.max(log.last, snapshot?.through_seq ?? 0),
        updates: log.n,
        updateBytes: log.bytes,
        snapshotBytes: snapshot?.bytes ?? 0,
      }
    })
  }

  /** The group-commit callback: one transaction for the batch. Throws a storage error; counters move on success. */
  private commit(session: Session, writes: readonly Write[]): void {
    const { db, statements } = session
    const next = { ...session.counters }
    let bytes = 0
    let compacted = false
    const started = performance.now()
    try {
      db.transaction(() => {
        for (const write of writes) {
          switch (write.kind) {
            case 'append':
              next.lastSeq += 1
              statements.insertUpdate.run(next.lastSeq, write.data, blobChecksum(write.data))
              next.updates += 1
              next.updateBytes += write.data.byteLength
              bytes += write.data.byteLength
              break
            case 'compact':
              statements.deleteUpdatesThrough.run(next.lastSeq)
              statements.putSnapshot.run(next.lastSeq, write.data, blobChecksum(write.data))
              next.updates = 0
              next.updateBytes = 0
              next.snapshotBytes = write.data.byteLength
              bytes += write.data.byteLength
              compacted = true
              break
            case 'meta':
              statements.putMeta.run(write.key, write.value, metaChecksum(write.key, write.value))
              bytes += write.value.byteLength
              break
          }
        }
        if (compacted) {
          const free = db.pragma('freelist_count', { simple: true }) as number
          const pages = db.pragma('page_count', { simple: true }) as number
          if (free > 16 && free > pages * VACUUM_FREE_RATIO) db.pragma('incremental_vacuum')
        }
      })()
    } catch (err) {
      const code = errorCode(err) ?? 'unknown'
      if (code.startsWith('SQLITE_CORRUPT')) throw fromSqliteOpenError(err, this.dbPath, this.dataDir)
      const hint = code === 'SQLITE_FULL' ? 'the disk is full' : code
      throw new StorageWriteError(
        `writing ${writes.length} change(s) to ${this.dbPath} failed (${hint}); none of them was stored`,
        { cause: err },
      )
    }
    session.counters = next
    if (this.onCommit !== undefined) {
      try {
        this.onCommit({ writes: writes.length, bytes, durationMs: performance.now() - started })
      } catch (err) {
        // The batch is committed and must resolve; surface the hook's bug as an uncaught exception instead.
        process.nextTick(() => {
          throw err
        })
      }
    }
  }
}
