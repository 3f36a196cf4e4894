/**
 * The SQLite schema of a confmesh store, its creation, and its verification on open.
 *
 * Tables (all `STRICT`):
 * - `updates(seq, data, crc)`: the log of Yjs updates since the last compaction, in `seq` order.
 * - `snapshot(id = 1, through_seq, data, crc)`: at most one row, the compacted state covering every
 *   `seq <= through_seq`.
 * - `meta(key, value, crc)`: small metadata values.
 *
 * `crc` is the CRC-32 of the blob (see `checksum.ts`). The file carries `application_id` {@link APPLICATION_ID} and
 * `user_version` {@link SCHEMA_VERSION}; a store written by a newer schema is refused, never "upgraded" by guessing.
 *
 * @module
 */

import { chmodSync, closeSync, copyFileSync, fsyncSync, mkdtempSync, openSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import Database from 'better-sqlite3'
import { fromFsError, fromSqliteOpenError } from './error-mapping.js'
import { StorageCorruptError, StorageError, StorageVersionError } from './errors.js'

/** SQLite `application_id` of a confmesh store: ASCII "cmsh". */
export const APPLICATION_ID = 0x636d7368

/** Schema version written to `user_version`. Bump with a migration when the schema changes. */
export const SCHEMA_VERSION = 1

const TABLES = ['meta', 'snapshot', 'updates'] as const

const DDL = `
CREATE TABLE updates (
  seq INTEGER PRIMARY KEY,
  data BLOB NOT NULL,
  crc INTEGER NOT NULL
) STRICT;
CREATE TABLE snapshot (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  through_seq INTEGER NOT NULL,
  data BLOB NOT NULL,
  crc INTEGER NOT NULL
) STRICT;
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value BLOB NOT NULL,
  crc INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
`

function fsyncPath(path: string): void {
  let fd: number | undefined
  try {
    fd = openSync(path, 'r')
    fsyncSync(fd)
  } catch {
    // Directories cannot be opened or fsync'd on some platforms (Windows); the rename is then as durable as it gets.
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/**
 * Creates a new, empty store at `dbPath`, atomically: the database is built under a temporary name, synced, and
 * renamed into place, so `dbPath` either does not exist or is a complete store. That is what lets an existing but
 * short file be called truncated. The file is readable by its owner only (it holds the peer's private key).
 */
export function createDatabaseFile(dbPath: string, dataDir: string): void {
  const tmpPath = `${dbPath}.new`
  try {
    // A leftover of a crash during an earlier creation; we hold the data-directory lock, so it is nobody's.
    for (const suffix of ['', '-wal', '-journal', '-shm']) rmSync(tmpPath + suffix, { force: true })
  } catch (err) {
    throw fromFsError(err, tmpPath, 'removing')
  }
  let db: Database.Database
  try {
    db = new Database(tmpPath)
  } catch (err) {
    throw fromSqliteOpenError(err, tmpPath, dataDir)
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE')
    db.pragma('auto_vacuum = INCREMENTAL') // before the first table: lets compaction give pages back to the disk
    db.pragma('journal_mode = WAL')
    db.pragma(`application_id = ${APPLICATION_ID}`)
    db.pragma(`user_version = ${SCHEMA_VERSION}`)
    db.exec(DDL)
  } catch (err) {
    db.close()
    throw fromSqliteOpenError(err, tmpPath, dataDir)
  }
  db.close() // checkpoints the log into the file and removes it
  try {
    chmodSync(tmpPath, 0o600)
    fsyncPath(tmpPath)
    renameSync(tmpPath, dbPath)
  } catch (err) {
    throw fromFsError(err, dbPath, 'creating')
  }
  fsyncPath(dirname(dbPath))
}

/**
 * Verifies an open connection: `PRAGMA quick_check` (unless `options.quickCheck` is false, e.g. because a copy of the
 * same files was just checked), the application id, the schema version and the tables. Reads only. The connection
 * must be in exclusive locking mode, so this also takes the database's own lock.
 *
 * @throws {StorageCorruptError} the check fails or the schema is not a confmesh schema
 * @throws {StorageVersionError} the store has a newer schema
 * @throws {StorageLockedError} another program holds the database file
 */
export function verifyDatabase(
  db: Database.Database,
  dbPath: string,
  dataDir: string,
  options: { quickCheck: boolean } = { quickCheck: true },
): void {
  const damaged = (what: string): StorageCorruptError =>
    new StorageCorruptError(
      `data dir ${dataDir} is damaged: ${what}. The files were left untouched; restore them from a backup, or move ` +
        'the data dir aside to start empty and resynchronise from peers',
    )
  let problems: string[]
  let appId: number
  let version: number
  let tables: string[]
  try {
    // Without quick_check, a cheap read still takes the lock and runs log recovery.
    problems = options.quickCheck
      ? (db.pragma('quick_check') as { quick_check: string }[]).map((row) => row.quick_check)
      : ['ok']
    appId = db.pragma('application_id', { simple: true }) as number
    version = db.pragma('user_version', { simple: true }) as number
    tables = (
      db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all() as { name: string }[]
    )
      .map((row) => row.name)
      .filter((name) => !name.startsWith('sqlite_'))
  } catch (err) {
    throw fromSqliteOpenError(err, dbPath, dataDir)
  }
  if (problems.length !== 1 || problems[0] !== 'ok') {
    const shown = problems.slice(0, 5).join('; ').replace(/\s+/g, ' ')
    throw damaged(`${dbPath} fails SQLite's integrity check: ${shown}`)
  }
  if (appId !== APPLICATION_ID)
    throw damaged(`${dbPath} is not a confmesh store (application_id 0x${appId.toString(16)})`)
  if (version > SCHEMA_VERSION) {
    throw new StorageVersionError(
      `data dir ${dataDir} was written by a newer confmesh (store schema ${version}, this version reads up to ` +
        `${SCHEMA_VERSION}); upgrade confmesh, or use another data dir`,
    )
  }
  if (version < 1 || tables.join(',') !== TABLES.join(',')) {
    throw damaged(`${dbPath} has schema version ${version} with tables [${tables.join(', ')}], not a confmesh schema`)
  }
}

/**
 * Verifies a store whose write-ahead log is not empty (the process that wrote it crashed) without touching it: the
 * database and its log are copied to a temporary directory and the copy is verified. Verifying in place is not an
 * option: closing the connection after a failed check would checkpoint the log into the database file.
 */
export function verifyDatabaseCopy(dbPath: string, dataDir: string): void {
  let tmp: string
  try {
    tmp = mkdtempSync(join(tmpdir(), 'confmesh-verify-'))
  } catch (err) {
    throw fromFsError(err, tmpdir(), 'creating a directory in')
  }
  try {
    const copy = join(tmp, 'copy.db')
    try {
      copyFileSync(dbPath, copy)
      copyFileSync(`${dbPath}-wal`, `${copy}-wal`)
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err)
      throw new StorageError(`data dir ${dataDir}: cannot verify ${dbPath}: copying it to ${tmp} failed: ${reason}`, {
        cause: err,
      })
    }
    let db: Database.Database
    try {
      db = new Database(copy, { fileMustExist: true })
    } catch (err) {
      throw fromSqliteOpenError(err, dbPath, dataDir)
    }
    try {
      db.pragma('locking_mode = EXCLUSIVE')
      verifyDatabase(db, dbPath, dataDir, { quickCheck: true })
    } finally {
      db.close()
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}
