/**
 * SQLite engine: what the acceptance suite cannot say for every engine. One process per data dir (tested with real
 * second processes, and a SIGKILLed holder), refusal of damaged or unreadable data dirs with named errors and without
 * touching the files, file modes, and space reclaimed by compaction.
 */

import { createHash } from 'node:crypto'
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import {
  StorageAccessError,
  StorageCorruptError,
  type StorageError,
  StorageLockedError,
  StorageVersionError,
} from '../../src/storage/errors.js'
import { createSqliteStorage, DATABASE_FILE } from '../../src/storage/sqlite-storage.js'
import type { Storage } from '../../src/storage/storage.js'
import { spawnStorageChild } from '../helpers/storage-child.js'
import { prepareUnprivilegedChild, type UnprivilegedChild } from '../helpers/unprivileged-child.js'

const UPDATE_MARK = Buffer.from('UPDATE-MARK-0123456789abcdef-UPDATE-MARK')
const SNAPSHOT_MARK = Buffer.from('SNAPSHOT-MARK-0123456789abcdef-SNAPSHOT')
const META_MARK = Buffer.from('META-MARK-0123456789abcdef-META-MARK')
const NOBODY = 65534
const isRoot = process.getuid?.() === 0

let root: string
let dataDir: string
let dbPath: string
const open: Storage[] = []

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'confmesh-sqlite-'))
  chmodSync(root, 0o755) // reachable by the unprivileged child of the permission tests
  dataDir = join(root, 'data')
  dbPath = join(dataDir, DATABASE_FILE)
})

afterEach(async () => {
  for (const store of open.splice(0)) await store.close()
  rmSync(root, { recursive: true, force: true })
})

async function openStore(dir = dataDir): Promise<Storage> {
  const store = createSqliteStorage({ dataDir: dir })
  await store.open()
  open.push(store)
  return store
}

/** Creates a closed store holding a snapshot, 300 updates (one with a marker) and metadata. */
async function populate(): Promise<void> {
  const store = createSqliteStorage({ dataDir })
  await store.open()
  const doc = new Y.Doc()
  doc.getMap('config').set('name', 'before')
  await store.append(Y.encodeStateAsUpdate(doc))
  await store.compact(Buffer.concat([SNAPSHOT_MARK, Buffer.from(Y.encodeStateAsUpdate(doc))]))
  await Promise.all(Array.from({ length: 300 }, (_, i) => store.append(new Uint8Array(64).fill(i & 0xff))))
  await store.append(Buffer.concat([UPDATE_MARK, Buffer.alloc(64, 1)]))
  await store.setMeta('peer.privateKey', Buffer.concat([META_MARK, Buffer.alloc(32, 2)]))
  await store.close()
}

/** Name and SHA-256 of every entry of the data dir (recursively), to prove a refusal changed nothing. */
function fingerprint(dir = dataDir): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (d: string, prefix: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name)
      if (entry.isDirectory()) {
        out[`${prefix}${entry.name}/`] = 'dir'
        walk(path, `${prefix}${entry.name}/`)
      } else out[prefix + entry.name] = createHash('sha256').update(readFileSync(path)).digest('hex')
    }
  }
  walk(dir, '')
  return out
}

/** Opens a store over `dataDir` expecting a refusal of class `type`; checks the message and that nothing changed. */
async function expectRefusal(type: typeof StorageError, mentions: string): Promise<StorageError> {
  const before = fingerprint()
  const store = createSqliteStorage({ dataDir })
  const err = await store.open().then(
    () => undefined,
    (e: unknown) => e,
  )
  if (err === undefined) open.push(store)
  expect(err).toBeInstanceOf(type)
  const error = err as StorageError
  expect(error.name).toBe(type.name)
  expect(error.message).toContain(mentions)
  expect(fingerprint()).toEqual(before)
  // The refusal released the lock: a healthy store could be opened now (here: the same refusal again).
  await expect(createSqliteStorage({ dataDir }).open()).rejects.toBeInstanceOf(type)
  return error
}

function flipByteAfter(file: string, marker: Buffer, offset = 10): void {
  const bytes = readFileSync(file)
  const at = bytes.indexOf(marker)
  expect(at, `marker ${marker.toString()} not found in ${file}`).toBeGreaterThanOrEqual(0)
  bytes[at + offset]! ^= 0x10
  writeFileSync(file, bytes)
}

/** Reads the root page number of `table`, without leaving a -wal or -shm file behind. */
function rootPage(table: string): number {
  const db = new Database(dbPath, { fileMustExist: true })
  try {
    db.pragma('locking_mode = EXCLUSIVE')
    return (db.prepare('SELECT rootpage FROM sqlite_schema WHERE name = ?').get(table) as { rootpage: number }).rootpage
  } finally {
    db.close()
  }
}

describe('sqlite storage: files', () => {
  it('creates the data dir owner-only and the database readable by its owner only', async () => {
    await populate()
    expect(statSync(dataDir).mode & 0o777).toBe(0o700)
    expect(statSync(dbPath).mode & 0o777).toBe(0o600)
    expect(readdirSync(dataDir).sort()).toEqual(['confmesh.db', 'confmesh.lock'])
    const store = await openStore()
    expect(readdirSync(dataDir).sort()).toEqual(['confmesh.db', 'confmesh.db-wal', 'confmesh.lock', 'confmesh.owner'])
    expect(statSync(`${dbPath}-wal`).mode & 0o777).toBe(0o600) // SQLite gives the log the database's mode
    expect((await store.stats()).bytes).toBeGreaterThan(0)
  })

  it('gives space back to the disk on compaction', async () => {
    const store = await openStore()
    await Promise.all(Array.from({ length: 2000 }, () => store.append(new Uint8Array(1000).fill(7))))
    await store.close()
    const grown = statSync(dbPath).size
    await store.open()
    await store.compact(new Uint8Array(100))
    await store.close()
    const shrunk = statSync(dbPath).size
    expect(grown).toBeGreaterThan(2_000_000)
    expect(shrunk).toBeLessThan(grown / 10)
    await store.open()
    expect(await store.load()).toEqual([new Uint8Array(100)])
    await store.close()
  })
})

describe('sqlite storage: failed writes', () => {
  it('rejects a batch the disk refuses with StorageWriteError, keeps earlier writes, and keeps working', async () => {
    // A 2 MiB file-size limit makes the log's writes fail as they would on a full disk.
    const child = spawnStorageChild(['fill', dataDir], { fileSizeLimitKiB: 2048 })
    const result = JSON.parse(await child.waitForLine((line) => line.startsWith('{')))
    expect(await child.exited, child.stderr()).toBe(0)
    expect(result).toMatchObject({ name: 'StorageWriteError', code: 'ERR_STORAGE_WRITE', afterwards: 'ok' })
    expect(result.message).toContain('none of them was stored')
    expect(result.acknowledged).toBeGreaterThan(5)
    expect(result.loaded).toBe(result.acknowledged + 1)

    const store = await openStore()
    const loaded = await store.load()
    expect(loaded).toHaveLength(result.acknowledged + 1)
    for (let i = 0; i < result.acknowledged; i++) expect(loaded[i]![0]).toBe(i & 0xff)
    expect(loaded.at(-1)).toEqual(new Uint8Array([1, 2, 3]))
  })
})

describe('sqlite storage: one process per data dir', () => {
  it('refuses a second store in the same process, naming the dir', async () => {
    await openStore()
    const err = await createSqliteStorage({ dataDir })
      .open()
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StorageLockedError)
    expect((err as Error).message).toContain(dataDir)
    expect((err as StorageLockedError).code).toBe('ERR_STORAGE_LOCKED')
  })

  it('refuses while another process holds the dir, and opens once that process is SIGKILLed', async () => {
    const holder = spawnStorageChild(['hold', dataDir, '3'])
    try {
      await holder.waitForLine((line) => line.startsWith('ready '))
      const before = fingerprint()
      const err = await createSqliteStorage({ dataDir })
        .open()
        .catch((e: unknown) => e)
      expect(err).toBeInstanceOf(StorageLockedError)
      const message = (err as Error).message
      expect(message).toContain(dataDir)
      expect(message).toContain(`pid ${holder.process.pid}`)

      // A third process is refused too.
      const other = spawnStorageChild(['open', dataDir])
      const verdict = JSON.parse(await other.waitForLine((line) => line.startsWith('{')))
      expect(verdict).toMatchObject({ ok: false, name: 'StorageLockedError', code: 'ERR_STORAGE_LOCKED' })
      expect(verdict.message).toContain(dataDir)
      await other.exited
      expect(fingerprint()).toEqual(before)
    } finally {
      holder.process.kill('SIGKILL')
      await holder.exited
    }
    // The OS dropped the lock with the process: no stale lock. The crashed store (non-empty log) opens intact.
    const store = await openStore()
    expect(await store.load()).toEqual([
      new Uint8Array([0, 0, 0]),
      new Uint8Array([1, 1, 1]),
      new Uint8Array([2, 2, 2]),
    ])

    // And this process now holds it against others.
    const other = spawnStorageChild(['open', dataDir])
    const verdict = JSON.parse(await other.waitForLine((line) => line.startsWith('{')))
    expect(verdict).toMatchObject({ ok: false, name: 'StorageLockedError' })
    await other.exited
  })

  it('waits up to lockTimeoutMs for the holder to let go, without blocking the event loop', async () => {
    const first = await openStore()
    const second = createSqliteStorage({ dataDir, lockTimeoutMs: 10_000 })
    let opened = false
    const opening = second.open().then(() => {
      opened = true
    })
    await new Promise((resolve) => setTimeout(resolve, 120)) // several retries happen meanwhile
    expect(opened).toBe(false)
    await first.close()
    await opening
    expect(opened).toBe(true)
    await second.close()

    const holder = await openStore()
    const started = performance.now()
    await expect(createSqliteStorage({ dataDir, lockTimeoutMs: 300 }).open()).rejects.toBeInstanceOf(StorageLockedError)
    expect(performance.now() - started).toBeGreaterThanOrEqual(290)
    expect(holder).toBeDefined()
  })
})

describe('sqlite storage: damaged or unreadable data dir', () => {
  it('refuses a database truncated to zero bytes instead of starting empty', async () => {
    await populate()
    truncateSync(dbPath, 0)
    await expectRefusal(StorageCorruptError, 'truncated')
  })

  it.each([
    ['inside the header', 50],
    ['mid-page', 3 * 4096 + 1000],
    ['by whole pages', 4 * 4096],
  ])('refuses a database truncated %s', async (_label, size) => {
    await populate()
    truncateSync(dbPath, size)
    const err = await expectRefusal(StorageCorruptError, dbPath)
    expect(err.message).toContain('truncated')
    expect(err.message).toContain(dataDir)
  })

  it('refuses flipped bytes in a b-tree page (PRAGMA quick_check)', async () => {
    await populate()
    const page = rootPage('updates')
    const bytes = readFileSync(dbPath)
    const at = (page - 1) * 4096 + (page === 1 ? 100 : 0)
    for (let i = 0; i < 16; i++) bytes[at + 3 + i]! ^= 0xff // cell count, content offset, cell pointers
    writeFileSync(dbPath, bytes)
    await expectRefusal(StorageCorruptError, 'damaged')
  })

  it('reports a flipped bit inside an update, the snapshot or a metadata value when it is read', async () => {
    await populate()
    flipByteAfter(dbPath, UPDATE_MARK)
    flipByteAfter(dbPath, SNAPSHOT_MARK)
    flipByteAfter(dbPath, META_MARK)
    const store = await openStore() // the page structure is intact
    const loading = await store.load().catch((e: unknown) => e)
    expect(loading).toBeInstanceOf(StorageCorruptError)
    expect((loading as Error).message).toMatch(/snapshot .* fails its checksum/)
    const meta = await store.getMeta('peer.privateKey').catch((e: unknown) => e)
    expect(meta).toBeInstanceOf(StorageCorruptError)
    expect((meta as Error).message).toContain('metadata "peer.privateKey"')
  })

  it('reports a flipped bit in one update among many', async () => {
    await populate()
    flipByteAfter(dbPath, UPDATE_MARK, UPDATE_MARK.length + 5)
    const store = await openStore()
    await expect(store.load()).rejects.toThrow(/update #\d+ .* fails its checksum/)
  })

  it('refuses a file that is not SQLite', async () => {
    mkdirSync(dataDir)
    writeFileSync(dbPath, Buffer.alloc(8192, 0x42))
    await expectRefusal(StorageCorruptError, 'not a SQLite database')
    writeFileSync(dbPath, 'key=value\n'.repeat(1000))
    await expectRefusal(StorageCorruptError, 'not a SQLite database')
  })

  it('refuses a SQLite database that is not a confmesh store', async () => {
    mkdirSync(dataDir)
    const db = new Database(dbPath)
    db.exec('CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER)')
    db.close()
    await expectRefusal(StorageCorruptError, 'not a confmesh store')
  })

  it('refuses a store written by a newer schema', async () => {
    await populate()
    const db = new Database(dbPath, { fileMustExist: true })
    db.pragma('locking_mode = EXCLUSIVE')
    db.pragma('user_version = 99')
    db.close()
    const err = await expectRefusal(StorageVersionError, 'newer confmesh')
    expect(err.message).toContain('99')
  })

  it('refuses a write-ahead log without its database, and a foreign rollback journal', async () => {
    mkdirSync(dataDir)
    writeFileSync(`${dbPath}-wal`, Buffer.alloc(4096, 1))
    await expectRefusal(StorageCorruptError, 'is missing')
    rmSync(`${dbPath}-wal`)
    await populate()
    writeFileSync(`${dbPath}-journal`, Buffer.alloc(512, 1))
    await expectRefusal(StorageCorruptError, 'rollback journal')
  })

  it('refuses a crashed store whose database is damaged, leaving database and log untouched', async () => {
    await (await openStore()).close()
    const page = rootPage('meta') // now: opening the crashed store with SQLite would checkpoint its log
    const holder = spawnStorageChild(['hold', dataDir, '20'])
    await holder.waitForLine((line) => line.startsWith('ready '))
    holder.process.kill('SIGKILL')
    await holder.exited
    const wal = readFileSync(`${dbPath}-wal`)
    expect(wal.byteLength).toBeGreaterThan(0)
    // Damage a b-tree page the log does not supersede.
    const pageSize = wal.readUInt32BE(8)
    const inLog = new Set<number>()
    for (let at = 32; at + 24 <= wal.byteLength; at += 24 + pageSize) inLog.add(wal.readUInt32BE(at))
    expect(inLog.has(page)).toBe(false)
    const bytes = readFileSync(dbPath)
    for (let i = 0; i < 8; i++) bytes[(page - 1) * pageSize + i]! ^= 0xff
    writeFileSync(dbPath, bytes)
    await expectRefusal(StorageCorruptError, 'damaged')
    expect(readFileSync(`${dbPath}-wal`).equals(wal)).toBe(true)
  })

  /** A crashed store: 20 appends, each its own transaction, left in the write-ahead log by a SIGKILLed holder. */
  async function crashedStore(): Promise<{ wal: Buffer; pageSize: number; frames: number }> {
    const holder = spawnStorageChild(['hold', dataDir, '20'])
    await holder.waitForLine((line) => line.startsWith('ready '))
    holder.process.kill('SIGKILL')
    await holder.exited
    const wal = readFileSync(`${dbPath}-wal`)
    const pageSize = wal.readUInt32BE(8)
    return { wal, pageSize, frames: Math.floor((wal.byteLength - 32) / (24 + pageSize)) }
  }

  it('refuses a write-ahead log damaged before its last transaction, which SQLite would silently cut', async () => {
    const { wal, pageSize, frames } = await crashedStore()
    expect(frames).toBeGreaterThanOrEqual(20)
    wal[32 + (24 + pageSize) + 24 + 100]! ^= 0x01 // one bit in the page of frame 2
    writeFileSync(`${dbPath}-wal`, wal)

    // What SQLite alone makes of it, on a copy: no error, most acknowledged appends gone.
    const copy = join(root, 'copy')
    mkdirSync(copy)
    writeFileSync(join(copy, 'c.db'), readFileSync(dbPath))
    writeFileSync(join(copy, 'c.db-wal'), wal)
    const raw = new Database(join(copy, 'c.db'))
    expect((raw.prepare('SELECT count(*) AS n FROM updates').get() as { n: number }).n).toBeLessThan(20)
    raw.close()

    await expectRefusal(StorageCorruptError, 'write-ahead log')
  })

  it('opens a crashed store whose log ends in a torn write, without the torn transaction', async () => {
    const { wal, pageSize, frames } = await crashedStore()
    wal[32 + (frames - 1) * (24 + pageSize) + 24 + 100]! ^= 0x01 // the last transaction, as a torn write leaves it
    writeFileSync(`${dbPath}-wal`, wal)
    const store = await openStore()
    const loaded = await store.load()
    expect(loaded).toHaveLength(19)
    expect(loaded.at(-1)).toEqual(new Uint8Array([18, 18, 18]))
  })

  it('refuses a directory where the database file should be', async () => {
    mkdirSync(dbPath, { recursive: true })
    await expectRefusal(StorageAccessError, `${dbPath} is a directory`)
  })

  it('refuses a data dir that is a file', async () => {
    writeFileSync(dataDir, 'not a directory')
    const store = createSqliteStorage({ dataDir })
    const err = await store.open().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StorageAccessError)
    expect((err as Error).message).toContain(dataDir)
    expect(readFileSync(dataDir, 'utf8')).toBe('not a directory')
  })

  it('refuses a lock file that is not empty, without touching it', async () => {
    await populate()
    writeFileSync(join(dataDir, 'confmesh.lock'), 'garbage '.repeat(100))
    await expectRefusal(StorageCorruptError, 'confmesh.lock')
  })

  describe('permission denied', () => {
    /** As root: the storage child bundled where user nobody can run it (or why it cannot, then the tests skip). */
    let child: UnprivilegedChild | { skip: string } | undefined
    beforeAll(async () => {
      if (isRoot) child = await prepareUnprivilegedChild(NOBODY, NOBODY)
      if (child !== undefined && 'skip' in child)
        console.warn(`[storage-sqlite] permission tests skipped: ${child.skip}`)
    }, 60_000)
    afterAll(() => {
      if (child !== undefined && 'dispose' in child) child.dispose()
    })
    beforeEach((ctx) => {
      if (child !== undefined && 'skip' in child) ctx.skip(child.skip)
    })

    /** Opens the store as an unprivileged user (a child process when we are root). */
    async function openAsOtherUser(): Promise<{ ok: boolean; name?: string; message?: string }> {
      if (!isRoot) {
        return createSqliteStorage({ dataDir })
          .open()
          .then(
            () => ({ ok: true }),
            (e: Error) => ({ ok: false, name: e.name, message: e.message }),
          )
      }
      const bundle = child as UnprivilegedChild
      const other = spawnStorageChild(['open', dataDir], { uid: NOBODY, gid: NOBODY, bundle })
      const line = await other.waitForLine((l) => l.startsWith('{'))
      await other.exited
      return JSON.parse(line)
    }

    it('refuses a data dir the process may not enter', async () => {
      await populate()
      chmodSync(dataDir, isRoot ? 0o700 : 0o000) // root-owned: closed to nobody
      const before = isRoot ? fingerprint() : undefined
      const verdict = await openAsOtherUser()
      chmodSync(dataDir, 0o700)
      expect(verdict).toMatchObject({ ok: false, name: 'StorageAccessError' })
      expect(verdict.message).toContain('permission denied')
      expect(verdict.message).toContain(dataDir)
      if (before) expect(fingerprint()).toEqual(before)
    })

    it('refuses a database file the process may not read', async () => {
      await populate()
      rmSync(join(dataDir, 'confmesh.lock')) // so the lock can be taken and the database is what is refused
      const db = readFileSync(dbPath)
      if (isRoot) chmodSync(dataDir, 0o777)
      else chmodSync(dbPath, 0o000)
      const verdict = await openAsOtherUser()
      expect(verdict).toMatchObject({ ok: false, name: 'StorageAccessError' })
      expect(verdict.message).toContain(`permission denied opening ${dbPath}`)
      chmodSync(dbPath, 0o600)
      expect(readFileSync(dbPath).equals(db)).toBe(true)
    })
  })
})
