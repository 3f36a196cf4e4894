/**
 * Persists an etcd API's revision state in the mesh's data dir, as one JSON file per served namespace
 * (`etcd-<namespace>.json`), written atomically (temp file, fsync, rename) at most every `flushMs` after a change
 * and on close.
 *
 * Revisions never go backwards across a restart, also after a crash that lost the last writes: every write records a
 * `ceiling` {@link CEILING_STEP} revisions ahead, the agent writes again before it reaches the ceiling, and a restart
 * after an unclean stop continues from the ceiling (the gap is harmless: etcd revisions only have to grow).
 *
 * @module
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { open, rename } from 'node:fs/promises'
import { join } from 'node:path'
import type { MeshLogger } from '../logger.js'
import { EtcdStateError } from './errors.js'
import type { RevisionState } from './revision-store.js'

/** How far ahead of the current revision a write reserves revisions. */
export const CEILING_STEP = 10_000
/** Default delay between a change and the write of the state, ms. */
export const DEFAULT_FLUSH_MS = 200

interface FileContent extends RevisionState {
  format: 1
  namespace: string
  ceiling: number
  clean: boolean
}

/** The revision file of one namespace. */
export interface RevisionFile {
  /** The saved state (its revision raised to the ceiling after an unclean stop), or `undefined` without a file. */
  load(): RevisionState | undefined
  /** Notes a change; the state is written within `flushMs` (at once when the ceiling comes near). */
  changed(revision: number): void
  /** Writes the final state and marks it clean. */
  close(): Promise<void>
}

/** Options of {@link openRevisionFile}. */
export interface RevisionFileInit {
  dataDir: string
  namespace: string
  /** Reads the current state (called when writing). */
  state(): RevisionState
  flushMs?: number
  logger: MeshLogger
}

/** Opens (does not yet read) the revision file of `namespace` in `dataDir`. */
export function openRevisionFile(init: RevisionFileInit): RevisionFile {
  const path = join(init.dataDir, `etcd-${encodeURIComponent(init.namespace)}.json`)
  const flushMs = init.flushMs ?? DEFAULT_FLUSH_MS
  /** The ceiling on disk: no revision at or above it may be served before a new one is written. */
  let ceiling = 0
  let timer: NodeJS.Timeout | undefined
  let writing: Promise<void> = Promise.resolve()
  let inFlight = false
  let closed = false

  const content = (clean: boolean): { text: string; ceiling: number } => {
    const state = init.state()
    const next = state.revision + (clean ? 0 : CEILING_STEP)
    const c: FileContent = { format: 1, namespace: init.namespace, ceiling: next, clean, ...state }
    return { text: JSON.stringify(c), ceiling: next }
  }
  const writeSyncNow = (text: string): void => {
    const tmp = `${path}.${process.pid}.tmp`
    const fd = openSync(tmp, 'w', 0o600)
    try {
      writeSync(fd, text)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, path)
  }
  const writeAsync = async (text: string): Promise<void> => {
    const tmp = `${path}.${process.pid}.tmp`
    const fh = await open(tmp, 'w', 0o600)
    try {
      await fh.writeFile(text)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, path)
  }
  const flush = (): void => {
    timer = undefined
    const next = content(false)
    inFlight = true
    writing = writing
      .then(() => writeAsync(next.text))
      .then(() => {
        ceiling = Math.max(ceiling, next.ceiling)
      })
      .catch((err) => init.logger.error(`etcd revision state not written to ${path}: ${String(err)}`))
      .finally(() => {
        inFlight = false
      })
  }
  const flushSync = (clean: boolean): void => {
    const next = content(clean)
    writeSyncNow(next.text)
    ceiling = next.ceiling
  }

  return {
    load() {
      let text: string
      try {
        text = readFileSync(path, 'utf8')
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw new EtcdStateError(`cannot read ${path}: ${(err as Error).message}`, { cause: err })
      }
      const c = parse(text, path)
      ceiling = c.clean ? c.revision : Math.max(c.revision, c.ceiling)
      // The first write after start reserves a new ceiling before any revision beyond it is served.
      writeSyncNow(JSON.stringify({ ...c, revision: ceiling, ceiling: ceiling + CEILING_STEP, clean: false }))
      const loadedCeiling = ceiling
      ceiling += CEILING_STEP
      return { revision: loadedCeiling, keys: c.keys }
    },
    changed(revision) {
      if (closed) return
      if (revision > ceiling) {
        // A burst outran the scheduled write: reserve synchronously before serving this revision.
        if (timer !== undefined) clearTimeout(timer)
        timer = undefined
        flushSync(false)
        return
      }
      if (revision >= ceiling - CEILING_STEP / 2 && !inFlight) {
        if (timer !== undefined) clearTimeout(timer)
        flush()
        return
      }
      timer ??= setTimeout(flush, flushMs)
    },
    async close() {
      if (closed) return
      closed = true
      if (timer !== undefined) clearTimeout(timer)
      await writing
      flushSync(true)
    },
  }
}

function parse(text: string, path: string): FileContent {
  let c: unknown
  try {
    c = JSON.parse(text)
  } catch (err) {
    throw new EtcdStateError(`${path} is not JSON (delete it to restart revisions at 1)`, { cause: err })
  }
  const o = c as Partial<FileContent>
  const int = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
  const row = (r: unknown): boolean =>
    Array.isArray(r) &&
    r.length === 6 &&
    typeof r[0] === 'string' &&
    int(r[1]) &&
    int(r[2]) &&
    int(r[3]) &&
    typeof r[4] === 'string' &&
    typeof r[5] === 'string'
  if (
    o === null ||
    typeof o !== 'object' ||
    o.format !== 1 ||
    !int(o.revision) ||
    !int(o.ceiling) ||
    typeof o.clean !== 'boolean' ||
    !Array.isArray(o.keys) ||
    !o.keys.every(row)
  ) {
    throw new EtcdStateError(`${path} is not an etcd revision state (delete it to restart revisions at 1)`)
  }
  return o as FileContent
}
