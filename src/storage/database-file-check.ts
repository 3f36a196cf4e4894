/**
 * Checks of the database files made with plain reads before SQLite opens them, so the common kinds of damage are
 * refused with a precise message and without SQLite touching anything: a path of the wrong kind, missing permissions,
 * a file that is not SQLite or not a confmesh store, a file truncated (to zero or mid-page), a write-ahead log without
 * its database or damaged before its last transaction (see `wal-check.ts`), or a rollback journal (confmesh never
 * writes one).
 *
 * Authoritative only while holding the data-directory lock; run before this process opens the database with SQLite
 * (see the note on POSIX locks in `data-dir-lock.ts`).
 *
 * @module
 */

import { accessSync, closeSync, constants, openSync, readFileSync, readSync, type Stats, statSync } from 'node:fs'
import { errorCode, fromFsError } from './error-mapping.js'
import { StorageAccessError, StorageCorruptError } from './errors.js'
import { findWalDamage } from './wal-check.js'

/** What {@link inspectDatabaseFiles} found. */
export interface DatabaseFiles {
  /** Whether the database file exists (and passed the checks). When `false`, a new store is to be created. */
  exists: boolean
  /** Size of the write-ahead log; non-zero after a crash (it holds committed transactions not yet checkpointed). */
  walBytes: number
}

const SQLITE_MAGIC = 'SQLite format 3\u0000'
const HEADER_BYTES = 100

function statIfExists(path: string): Stats | undefined {
  try {
    return statSync(path)
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined
    throw fromFsError(err, path, 'checking')
  }
}

function assertUsableFile(path: string, stats: Stats): void {
  if (!stats.isFile()) {
    throw new StorageAccessError(
      `${path} is a ${stats.isDirectory() ? 'directory' : 'special file'} where the store expects a regular file; ` +
        'move it away',
    )
  }
  try {
    accessSync(path, constants.R_OK | constants.W_OK)
  } catch (err) {
    throw fromFsError(err, path, 'opening')
  }
}

function readHeader(path: string): Buffer {
  const header = Buffer.alloc(HEADER_BYTES)
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (err) {
    throw fromFsError(err, path, 'reading')
  }
  try {
    readSync(fd, header, 0, HEADER_BYTES, 0)
  } catch (err) {
    throw fromFsError(err, path, 'reading')
  } finally {
    closeSync(fd)
  }
  return header
}

/**
 * Inspects the database file `dbPath` and its companions without modifying anything.
 *
 * @param applicationId - the SQLite `application_id` a confmesh store carries
 * @param options.checkWal - also read and check the write-ahead log; only under the lock (a live writer's log moves)
 * @throws {StorageAccessError} a path of the wrong kind, or permission denied
 * @throws {StorageCorruptError} any of the damage listed in the module comment
 */
export function inspectDatabaseFiles(
  dbPath: string,
  dataDir: string,
  applicationId: number,
  options: { checkWal: boolean },
): DatabaseFiles {
  const damaged = (what: string): StorageCorruptError =>
    new StorageCorruptError(
      `data dir ${dataDir} is damaged: ${what}. The files were left untouched; restore them from a backup, or move ` +
        'the data dir aside to start empty and resynchronise from peers',
    )

  const walPath = `${dbPath}-wal`
  const db = statIfExists(dbPath)
  const wal = statIfExists(walPath)
  const journal = statIfExists(`${dbPath}-journal`)

  if (journal !== undefined) {
    throw damaged(
      `${dbPath}-journal exists, but confmesh never writes a rollback journal (another program changed the store)`,
    )
  }
  if (wal !== undefined) assertUsableFile(walPath, wal)
  if (db === undefined) {
    if (wal !== undefined && wal.size > 0) throw damaged(`${walPath} exists but its database ${dbPath} is missing`)
    return { exists: false, walBytes: 0 }
  }
  assertUsableFile(dbPath, db)

  // confmesh creates its database atomically (write aside, then rename), so an existing file is never legitimately
  // short: a short file was truncated.
  if (db.size < HEADER_BYTES) throw damaged(`${dbPath} is truncated (${db.size} bytes)`)
  const header = readHeader(dbPath)
  if (header.toString('latin1', 0, 16) !== SQLITE_MAGIC) throw damaged(`${dbPath} is not a SQLite database`)
  const rawPageSize = header.readUInt16BE(16)
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) {
    throw damaged(`${dbPath} has a damaged header (page size ${rawPageSize})`)
  }
  if (db.size % pageSize !== 0) {
    throw damaged(`${dbPath} is truncated (${db.size} bytes is not a whole number of ${pageSize}-byte pages)`)
  }
  const writeVersion = header[18]
  const readVersion = header[19]
  if ((writeVersion !== 1 && writeVersion !== 2) || (readVersion !== 1 && readVersion !== 2)) {
    throw damaged(`${dbPath} has a damaged header (file format ${writeVersion}/${readVersion})`)
  }
  // The page count in the header is authoritative when its "valid for" counter matches the change counter. Only
  // without a write-ahead log: a checkpoint interrupted by a crash may have written page 1 (and its new page count)
  // before the pages that grow the file; SQLite finishes it from the log, which quick_check then covers.
  const pageCount = header.readUInt32BE(28)
  const walBytes = wal?.size ?? 0
  const countValid = pageCount > 0 && header.readUInt32BE(24) === header.readUInt32BE(92)
  if (walBytes === 0 && countValid && db.size < pageCount * pageSize) {
    throw damaged(`${dbPath} is truncated (${db.size} bytes, its header says ${pageCount * pageSize})`)
  }
  const appId = header.readUInt32BE(68)
  if (appId !== applicationId) {
    throw damaged(
      `${dbPath} is a SQLite database but not a confmesh store (application_id 0x${appId.toString(16)}, expected ` +
        `0x${applicationId.toString(16)})`,
    )
  }
  if (walBytes > 0 && options.checkWal) {
    let log: Buffer
    try {
      log = readFileSync(walPath)
    } catch (err) {
      throw fromFsError(err, walPath, 'reading')
    }
    const damage = findWalDamage(log, pageSize)
    if (damage !== undefined) throw damaged(`the write-ahead log ${walPath} is damaged: ${damage}`)
  }
  return { exists: true, walBytes }
}
