/**
 * Turns file-system and SQLite failures into the storage module's named errors, with messages that name the file and
 * say what to do. The original error is kept as `cause`.
 *
 * @module
 */

import { StorageAccessError, StorageCorruptError, StorageError, StorageLockedError } from './errors.js'

/** The `code` of a Node.js system error or of a better-sqlite3 `SqliteError`, if any. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code
    if (typeof code === 'string') return code
  }
  return undefined
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Maps a Node.js file-system error met while `action` (e.g. "reading") `path`. */
export function fromFsError(err: unknown, path: string, action: string): StorageError {
  if (err instanceof StorageError) return err
  const code = errorCode(err)
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return new StorageAccessError(`permission denied ${action} ${path}: check its owner and mode`, { cause: err })
    case 'EROFS':
      return new StorageAccessError(`cannot write ${path}: the file system is read-only`, { cause: err })
    case 'ENOTDIR':
      return new StorageAccessError(`${path}: a parent of this path is a file, not a directory`, { cause: err })
    case 'EISDIR':
      return new StorageAccessError(`${path} is a directory where a file was expected`, { cause: err })
    default:
      return new StorageError(`failed ${action} ${path}: ${describe(err)}`, { cause: err })
  }
}

/**
 * Maps an error SQLite raised while opening or checking the database file `file` of data directory `dataDir`.
 * `SQLITE_BUSY` means another connection holds the file.
 */
export function fromSqliteOpenError(err: unknown, file: string, dataDir: string): StorageError {
  if (err instanceof StorageError) return err
  const code = errorCode(err) ?? ''
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StorageLockedError(
      `data dir ${dataDir} is in use: another program holds ${file} open (e.g. an sqlite3 shell or a backup tool); ` +
        'close it and retry',
      { cause: err },
    )
  }
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new StorageCorruptError(
      `data dir ${dataDir} is damaged: ${file} is not a readable SQLite database (${describe(err)}); restore it from ` +
        'a backup, or move the data dir aside to start empty and resynchronise from peers',
      { cause: err },
    )
  }
  if (
    code.startsWith('SQLITE_CANTOPEN') ||
    code.startsWith('SQLITE_READONLY') ||
    code.startsWith('SQLITE_PERM') ||
    code.startsWith('SQLITE_AUTH') ||
    code.startsWith('SQLITE_IOERR')
  ) {
    return new StorageAccessError(
      `data dir ${dataDir}: cannot read and write ${file} (${code}: ${describe(err)}); check permissions, free space ` +
        'and the disk',
      { cause: err },
    )
  }
  return new StorageError(`data dir ${dataDir}: opening ${file} failed (${code || 'unknown'}: ${describe(err)})`, {
    cause: err,
  })
}
