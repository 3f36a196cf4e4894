/**
 * A separate process that uses a SQLite store, for the tests that need a real second process: the data-dir lock, a
 * SIGKILL at a random moment, and permission checks as another user. Run as a program it takes a mode:
 *
 * - `hold <dataDir> [appends]`: opens the store, appends `appends` (default 3) updates, prints `ready <pid>`, and keeps
 *   the store open until killed. The store is left with a non-empty write-ahead log when SIGKILLed.
 * - `open <dataDir>`: tries to open the store and prints one JSON line: `{"ok":true}` or
 *   `{"ok":false,"name":...,"code":...,"message":...}`.
 * - `writer <dataDir> <seed>`: loads the store into a Y.Doc, prints `ready <next>`, then forever appends numbered
 *   updates (`doc.getMap('n').set(String(i), i)`) in seeded bursts, compacting now and then, and prints `ack <i>` once
 *   the append of `i` resolved (i.e. it is durable).
 * - `fill <dataDir>`: appends 64 KiB blobs until an append fails (run it under a file-size limit), then appends one
 *   small blob, and prints one JSON line: how many appends were acknowledged, the error, and whether the store still
 *   worked after it.
 *
 * Imported, it exports {@link spawnStorageChild} to drive it.
 *
 * @module
 */

import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import * as Y from 'yjs'
import { createSqliteStorage } from '../../src/storage/sqlite-storage.js'

const here = dirname(fileURLToPath(import.meta.url))
const repoRoot = join(here, '..', '..')

/** A running child and its stdout, line by line. */
export interface StorageChild {
  readonly process: ChildProcessWithoutNullStreams
  /** Complete stdout lines so far. */
  readonly lines: string[]
  /** Resolves with the first line (past or future) matching `test`; rejects after `timeoutMs` or if the child exits. */
  waitForLine(test: (line: string) => boolean, timeoutMs?: number): Promise<string>
  /** Resolves with the exit code (or signal) once the child has exited. */
  readonly exited: Promise<number | NodeJS.Signals | null>
  /** Everything the child wrote to stderr. */
  stderr(): string
}

/** How to run the child. */
export interface StorageChildOptions {
  /** Run as this user (needs root). */
  uid?: number
  /** Run as this group (needs root). */
  gid?: number
  /** Limit the size of every file the child writes (`ulimit -f`, in KiB), so that writes fail as on a full disk. */
  fileSizeLimitKiB?: number
  /**
   * Run this bundled copy of the child (plain `node`, from `cwd`) instead of this file through tsx: for a user who
   * cannot reach the checkout (see `unprivileged-child.ts`). Default: this file.
   */
  bundle?: { script: string; cwd: string }
}

/** Spawns `storage-child.ts` with `args` (through tsx). */
export function spawnStorageChild(args: string[], options: StorageChildOptions = {}): StorageChild {
  const { fileSizeLimitKiB, bundle, ...ids } = options
  const command =
    bundle === undefined
      ? [process.execPath, '--import', 'tsx', join(here, 'storage-child.ts'), ...args]
      : [process.execPath, bundle.script, ...args]
  // Node ignores SIGXFSZ, so a write past the limit fails with EFBIG instead of killing the process.
  const [file, ...argv] =
    fileSizeLimitKiB === undefined
      ? command
      : ['bash', '-c', `ulimit -f ${Math.floor(fileSizeLimitKiB)} && exec "$@"`, 'bash', ...command]
  const cwd = bundle?.cwd ?? repoRoot
  const child = spawn(file!, argv, { cwd, stdio: ['pipe', 'pipe', 'pipe'], ...ids })
  const lines: string[] = []
  const waiters = new Set<() => void>()
  let partial = ''
  let errText = ''
  let exitedWith: number | NodeJS.Signals | null | undefined
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    partial += chunk
    const parts = partial.split('\n')
    partial = parts.pop() ?? ''
    lines.push(...parts)
    for (const wake of waiters) wake()
  })
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk: string) => {
    errText += chunk
  })
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => {
    child.on('close', (code, signal) => {
      exitedWith = code ?? signal
      resolve(exitedWith)
      for (const wake of waiters) wake()
    })
  })
  return {
    process: child,
    lines,
    exited,
    stderr: () => errText,
    waitForLine(test, timeoutMs = 20_000) {
      return new Promise<string>((resolve, reject) => {
        let index = 0
        const check = (): void => {
          for (; index < lines.length; index++) {
            const line = lines[index]!
            if (test(line)) {
              done()
              resolve(line)
              return
            }
          }
          if (exitedWith !== undefined) {
            done()
            reject(new Error(`child exited (${String(exitedWith)}) before the expected line; stderr: ${errText}`))
          }
        }
        const timer = setTimeout(() => {
          done()
          reject(new Error(`no expected line from the child within ${timeoutMs} ms; stderr: ${errText}`))
        }, timeoutMs)
        const done = (): void => {
          clearTimeout(timer)
          waiters.delete(check)
        }
        waiters.add(check)
        check()
      })
    },
  }
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

async function hold(dataDir: string, appends: number): Promise<void> {
  const storage = createSqliteStorage({ dataDir })
  await storage.open()
  for (let i = 0; i < appends; i++) await storage.append(new Uint8Array([i, i, i]))
  process.stdout.write(`ready ${process.pid}\n`)
  setInterval(() => {}, 60_000)
}

async function tryOpen(dataDir: string): Promise<void> {
  const storage = createSqliteStorage({ dataDir })
  try {
    await storage.open()
    await storage.close()
    process.stdout.write(`${JSON.stringify({ ok: true })}\n`)
  } catch (err) {
    const e = err as { name?: string; code?: string; message?: string }
    process.stdout.write(`${JSON.stringify({ ok: false, name: e.name, code: e.code, message: e.message })}\n`)
  }
}

async function writer(dataDir: string, seed: number): Promise<void> {
  const random = seededRandom(seed)
  const storage = createSqliteStorage({ dataDir })
  await storage.open()
  const doc = new Y.Doc()
  for (const update of await storage.load()) Y.applyUpdate(doc, update)
  const map = doc.getMap<number>('n')
  let next = map.size // the parent checks that the stored numbers are always 0..n-1
  process.stdout.write(`ready ${next}\n`)
  let sinceCompaction = 0
  const burst = (): void => {
    const size = 1 + Math.floor(random() * 32)
    for (let k = 0; k < size; k++) {
      const i = next++
      let update: Uint8Array | undefined
      const capture = (u: Uint8Array): void => {
        update = u
      }
      doc.once('update', capture)
      map.set(String(i), i)
      storage.append(update!).then(
        () => process.stdout.write(`ack ${i}\n`),
        (err: unknown) => {
          process.stderr.write(`append ${i} failed: ${String(err)}\n`)
          process.exit(2)
        },
      )
    }
    sinceCompaction += size
    if (sinceCompaction > 200 && random() < 0.2) {
      sinceCompaction = 0
      storage.compact(Y.encodeStateAsUpdate(doc)).catch((err: unknown) => {
        process.stderr.write(`compact failed: ${String(err)}\n`)
        process.exit(2)
      })
    }
    setImmediate(burst)
  }
  burst()
}

async function fill(dataDir: string): Promise<void> {
  const storage = createSqliteStorage({ dataDir })
  await storage.open()
  let acknowledged = 0
  let error: { name?: string; code?: string; message?: string } | undefined
  while (error === undefined) {
    try {
      await storage.append(new Uint8Array(64 * 1024).fill(acknowledged & 0xff))
      acknowledged++
    } catch (err) {
      error = err as typeof error
    }
  }
  let afterwards = 'ok'
  try {
    await storage.append(new Uint8Array([1, 2, 3]))
  } catch (err) {
    afterwards = String(err)
  }
  const loaded = (await storage.load()).length
  const { name, code, message } = error!
  process.stdout.write(`${JSON.stringify({ acknowledged, name, code, message, afterwards, loaded })}\n`)
  await storage.close()
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href
if (isMain) {
  const [mode, dataDir, extra] = process.argv.slice(2)
  if (dataDir === undefined) throw new Error('usage: storage-child.ts hold|open|writer|fill <dataDir> [n]')
  if (mode === 'hold') await hold(dataDir, Number(extra ?? 3))
  else if (mode === 'open') await tryOpen(dataDir)
  else if (mode === 'writer') await writer(dataDir, Number(extra ?? 1))
  else if (mode === 'fill') await fill(dataDir)
  else throw new Error(`unknown mode ${mode}`)
}
