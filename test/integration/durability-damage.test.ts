/**
 * Damaged data dirs through `createMesh({ dataDir })`: truncation and flipped bits of the store give a named error with
 * a clear message (never a mesh that starts with a silently empty or altered config), leave the files as they were,
 * and release the data dir (a start on a repaired copy works at once). The storage engine's own checks are tested in
 * `test/unit/storage-sqlite.test.ts`; this is what a user of `createMesh` sees.
 *
 * `CONFMESH_FLIPS` sets the number of seeded random bit flips (default 12); `CONFMESH_SEED` replays them.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type ConfigMesh,
  ConfmeshError,
  createMesh,
  type JsonValue,
  StorageCorruptError,
  StorageError,
} from '../../src/index.js'
import { seededRandom, TEST_TIMING, testSeed } from '../helpers/cluster.js'

const DB = 'confmesh.db'
const flips = Number(process.env.CONFMESH_FLIPS ?? 12)
const root = mkdtempSync(join(tmpdir(), 'confmesh-damage-'))
const pristine = join(root, 'pristine')
/** A copy of a running store: the database with a non-empty write-ahead log, as a crash leaves it. */
const crashed = join(root, 'crashed')
let expected: Record<string, unknown>
let copies = 0

const config = (m: ConfigMesh) => Object.fromEntries(m.namespaces().map((n) => [n, m.namespace(n).toJSON()]))

/** A fresh copy of `from`, to damage. */
function copyOf(from: string): string {
  const dir = join(root, `copy-${copies++}`)
  cpSync(from, dir, { recursive: true })
  return dir
}

/** Starts a mesh on `dataDir`: resolves with the error it failed with, or with its config (and stops it). */
async function attempt(dataDir: string): Promise<{ error: unknown } | { config: Record<string, unknown> }> {
  let mesh: ConfigMesh | undefined
  try {
    mesh = await createMesh({ dataDir, timing: TEST_TIMING })
    return { config: config(mesh) }
  } catch (error) {
    return { error }
  } finally {
    await mesh?.stop()
  }
}

async function expectRefused(dataDir: string, pattern: RegExp): Promise<StorageError> {
  const files = snapshotFiles(dataDir)
  const outcome = await attempt(dataDir)
  if (!('error' in outcome)) expect.fail(`a damaged store started, with config ${JSON.stringify(outcome.config)}`)
  const err = outcome.error as Error
  expect(err, `${err.name}: ${err.message}`).toBeInstanceOf(StorageError)
  expect(err.message).toMatch(pattern)
  expect(err.message).toContain(dataDir) // says which data dir
  expect(snapshotFiles(dataDir), 'the files are left untouched').toEqual(files)
  return err as StorageError
}

function snapshotFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const f of [DB, `${DB}-wal`]) {
    try {
      out[f] = readFileSync(join(dir, f)).toString('base64')
    } catch {
      // absent
    }
  }
  return out
}

beforeAll(async () => {
  const mesh = await createMesh({ dataDir: pristine, timing: TEST_TIMING })
  const values: Record<string, JsonValue> = {}
  for (let i = 0; i < 300; i++) values[`svc-${i % 7}.feature-${i}`] = { enabled: i % 2 === 0, note: `value ${i}` }
  await mesh.namespace('app').update(values)
  for (let i = 0; i < 40; i++) await mesh.set(`k${i}`, 'x'.repeat(200 + i))
  cpSync(pristine, crashed, { recursive: true }) // every set above is durable: a crash image of a running store
  expected = config(mesh)
  await mesh.stop()
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('durability: damaged data dirs through createMesh', () => {
  it('starts from an undamaged copy and from a crash image (sanity)', async () => {
    expect(await attempt(copyOf(pristine))).toEqual({ config: expected })
    expect(await attempt(copyOf(crashed))).toEqual({ config: expected })
  })

  it.each([
    ['to zero bytes', 0],
    ['inside the header', 60],
    ['to half its size', -2],
    ['by one page', -1],
  ])('refuses a database truncated %s with StorageCorruptError', async (_label, size) => {
    const dir = copyOf(pristine)
    const db = join(dir, DB)
    const length = readFileSync(db).byteLength
    truncateSync(db, size === -2 ? Math.floor(length / 2) : size === -1 ? length - 4096 : size)
    const err = await expectRefused(dir, /damaged|truncated|not a/i)
    expect(err).toBeInstanceOf(StorageCorruptError)
    expect(err.code).toBe('ERR_STORAGE_CORRUPT')
    // The data dir was released: a repaired copy (the backup) starts at once in the same place.
    cpSync(join(pristine, DB), db)
    expect(await attempt(dir)).toEqual({ config: expected })
  })

  it('refuses a flipped bit inside a stored update (checksum) and in the file header', async () => {
    const dir = copyOf(pristine)
    const db = join(dir, DB)
    const bytes = readFileSync(db)
    const at = bytes.indexOf('value 150')
    expect(at).toBeGreaterThan(0)
    bytes[at + 3]! ^= 0x04
    writeFileSync(db, bytes)
    await expectRefused(dir, /checksum|damaged/i)

    const dir2 = copyOf(pristine)
    const header = readFileSync(join(dir2, DB))
    header[3]! ^= 0x01 // 'SQLite format 3'
    writeFileSync(join(dir2, DB), header)
    await expectRefused(dir2, /damaged|not a/i)
  })

  it('refuses a flipped bit in an acknowledged transaction of a crashed store log', async () => {
    const dir = copyOf(crashed)
    const wal = readFileSync(join(dir, `${DB}-wal`))
    const pageSize = wal.readUInt32BE(8)
    const frames = Math.floor((wal.byteLength - 32) / (24 + pageSize))
    expect(frames).toBeGreaterThan(4)
    wal[32 + (24 + pageSize) + 24 + 100]! ^= 0x01 // frame 2: later transactions follow it
    writeFileSync(join(dir, `${DB}-wal`), wal)
    await expectRefused(dir, /log|damaged/i)
  })

  it(`seeded random bit flips (${flips}): a named error, or exactly the stored config`, async () => {
    const seed = testSeed('durability damage flips')
    const random = seededRandom(seed)
    const outcomes: Record<string, number> = {}
    for (let i = 0; i < flips; i++) {
      const from = random() < 0.5 ? pristine : crashed
      const dir = copyOf(from)
      const file = random() < 0.5 || from === pristine ? DB : `${DB}-wal`
      const bytes = readFileSync(join(dir, file))
      const at = Math.floor(random() * bytes.byteLength)
      bytes[at]! ^= 1 << Math.floor(random() * 8)
      writeFileSync(join(dir, file), bytes)
      const outcome = await attempt(dir)
      const context = `seed ${seed}, flip ${i}: ${file} byte ${at} of ${from === pristine ? 'a clean' : 'a crashed'} store`
      if ('error' in outcome) {
        expect(outcome.error, context).toBeInstanceOf(ConfmeshError)
        const name = (outcome.error as Error).name
        outcomes[name] = (outcomes[name] ?? 0) + 1
      } else if (file !== DB && JSON.stringify(outcome.config) === JSON.stringify(withoutLastWrite(expected))) {
        // Damage inside the LAST transaction of a crashed store's log cannot be told from a torn write: SQLite (and
        // so confmesh) drops that one transaction, k39 here (docs/durability.md, "Undetectable loss"). Never more.
        outcomes.lastTransactionDropped = (outcomes.lastTransactionDropped ?? 0) + 1
      } else {
        expect(outcome.config, `${context}: started with an altered config`).toEqual(expected)
        outcomes.harmless = (outcomes.harmless ?? 0) + 1
      }
      rmSync(dir, { recursive: true, force: true })
    }
    console.log(`[durability damage] seed=${seed} ${flips} random flips: ${JSON.stringify(outcomes)}`)
  })
})

/** The stored config without the crashed store's last write (`k39` of the default namespace, its own transaction). */
function withoutLastWrite(config: unknown): unknown {
  const copy = structuredClone(config) as Record<string, Record<string, unknown>>
  if (copy.default !== undefined) delete copy.default.k39
  return copy
}
