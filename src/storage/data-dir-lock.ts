/**
 * One process per data directory. The lock is an exclusive SQLite lock (a POSIX `fcntl` lock on Unix, `LockFileEx` on
 * Windows) on an always-empty file `confmesh.lock` in the data directory. The operating system holds it for the
 * process and drops it when the process ends in any way, SIGKILL included, so there is no stale lock to clean up and
 * no pid guessing. A second process (or a second store in this process) gets {@link StorageLockedError}.
 *
 * The lock lives in its own file, not in the database, so the database can be inspected for damage while locked
 * without being modified: a SQLite connection that took the database's own lock would checkpoint its write-ahead log
 * into it when closed, even when we only opened it to refuse it.
 *
 * Advisory locks are only as good as the file system: network file systems (NFS, SMB) may not honour them. Keep data
 * directories on local disks.
 *
 * Never open or close `confmesh.lock` with `node:fs` in a process that holds the lock: closing any descriptor of a
 * file drops every POSIX lock the process holds on it.
 *
 * @module
 */

import { readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { errorCode, fromFsError, fromSqliteOpenError } from './error-mapping.js'
import { StorageAccessError, StorageCorruptError, StorageLockedError } from './errors.js'

/** Name of the lock file in the data directory. Empty; only its lock matters. */
export const LOCK_FILE = 'confmesh.lock'

/** Name of the file recording who holds the lock (informational, for error messages). */
export const OWNER_FILE = 'confmesh.owner'

/** A held data-directory lock. */
export interface DataDirLock {
  /** Absolute path of the locked data directory. */
  readonly dataDir: string
  /** Records this process in {@link OWNER_FILE}, so a refused process can say who holds the directory. Best effort. */
  recordOwner(): void
  /** Releases the lock. Idempotent. */
  release(): void
}

/** Canonical paths of the data directories locked by this process. */
const heldHere = new Set<string>()

function ownerHint(dataDir: string): string {
  try {
    const owner = readFileSync(join(dataDir, OWNER_FILE), 'utf8').trim()
    return owner.length > 0 && owner.length < 300 ? ` (${owner})` : ''
  } catch {
    return ''
  }
}

function canonical(dataDir: string): string {
  try {
    return realpathSync(dataDir)
  } catch (err) {
    throw fromFsError(err, dataDir, 'resolving')
  }
}

/**
 * Throws {@link StorageLockedError} if a store of this process holds `dataDir` (an existing directory). Call it before
 * reading any file of the directory with `node:fs`: closing such a descriptor would drop the holder's POSIX locks on
 * that file.
 */
export function assertNotHeldHere(dataDir: string): void {
  if (heldHere.has(canonical(dataDir))) {
    throw new StorageLockedError(
      `data dir ${dataDir} is already open in this process (another storage instance holds it); close that one first`,
    )
  }
}

/**
 * Takes the lock of `dataDir` (an existing directory), or refuses at once. Callers that want to wait retry.
 *
 * @throws {StorageLockedError} another process or store holds it
 * @throws {StorageAccessError} the lock file cannot be created or opened
 * @throws {StorageCorruptError} the lock file is not empty and not a SQLite file
 */
export function acquireDataDirLock(dataDir: string): DataDirLock {
  assertNotHeldHere(dataDir)
  const key = canonical(dataDir)

  const lockPath = join(dataDir, LOCK_FILE)
  try {
    if (!statSync(lockPath).isFile()) {
      throw new StorageAccessError(`lock file ${lockPath} is not a regular file; remove it`)
    }
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw fromFsError(err, lockPath, 'checking')
  }

  let db: Database.Database
  try {
    db = new Database(lockPath, { timeout: 0 })
  } catch (err) {
    throw fromSqliteOpenError(err, lockPath, dataDir)
  }
  try {
    // Exclusive locking mode keeps the lock after the first write lock; the open transaction keeps it as well.
    db.pragma('locking_mode = EXCLUSIVE')
    // No journal file next to the lock file: the lock file is never written.
    db.pragma('journal_mode = MEMORY')
    db.exec('BEGIN EXCLUSIVE')
  } catch (err) {
    db.close()
    const code = errorCode(err) ?? ''
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
      throw new StorageLockedError(
        `data dir ${dataDir} is in use by another process${ownerHint(dataDir)}; stop that process first, or give ` +
          'this one its own data dir',
        { cause: err },
      )
    }
    if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
      throw new StorageCorruptError(
        `lock file ${lockPath} is not empty (confmesh never writes to it); if no process uses ${dataDir}, delete ` +
          'the lock file and retry',
        { cause: err },
      )
    }
    throw fromSqliteOpenError(err, lockPath, dataDir)
  }
  heldHere.add(key)

  let held = true
  let recorded = false
  return {
    dataDir,
    recordOwner(): void {
      recorded = true
      try {
        writeFileSync(
          join(dataDir, OWNER_FILE),
          `held by pid ${process.pid} on ${hostname()} since ${new Date().toISOString()}\n`,
          { mode: 0o600 },
        )
      } catch {
        // informational only
      }
    },
    release(): void {
      if (!held) return
      held = false
      try {
        // Only our own record: a refusing process leaves the previous holder's record as evidence.
        if (recorded) rmSync(join(dataDir, OWNER_FILE), { force: true })
      } catch {
        // informational only
      }
      try {
        db.exec('ROLLBACK')
      } catch {
        // closing ends the transaction anyway
      }
      try {
        db.close()
      } finally {
        heldHere.delete(key)
      }
    },
  }
}
