/**
 * Atomic file replacement: the content goes to a temporary file in the same directory, is fsynced, takes the existing
 * file's mode, and is renamed over the target (then the directory is fsynced), so a reader sees the old file or the
 * new one, never a mix, and a crash leaves one of them. An unchanged content is not written at all.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { type FileHandle, open, readFile, rename, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { RenderWriteError } from './errors.js'

/** Mode of a file the renderer creates (not replaces): rw-r--r--, before the umask. */
export const DEFAULT_FILE_MODE = 0o644

/** Writes `content` to `path` atomically; resolves `false` (and writes nothing) when the file holds it already. */
export async function writeFileAtomic(path: string, content: string): Promise<boolean> {
  const bytes = Buffer.from(content, 'utf8')
  let mode: number | undefined
  try {
    const [existing, info] = await Promise.all([readFile(path), stat(path)])
    if (existing.equals(bytes)) return false
    mode = info.mode & 0o7777
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new RenderWriteError(`cannot read ${path}: ${(err as Error).message}`, { cause: err })
    }
  }
  const dir = dirname(path)
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  let handle: FileHandle | undefined
  try {
    handle = await open(temp, 'wx', mode ?? DEFAULT_FILE_MODE)
    if (mode !== undefined) await handle.chmod(mode) // the umask applied to open(); keep the old mode exactly
    await handle.writeFile(bytes)
    await handle.sync()
    await handle.close()
    handle = undefined
    await rename(temp, path)
  } catch (err) {
    await handle?.close().catch(() => {})
    await unlink(temp).catch(() => {})
    throw new RenderWriteError(`cannot write ${path}: ${(err as Error).message}`, { cause: err })
  }
  await syncDirectory(dir)
  return true
}

/** Makes the rename durable (best effort: some platforms cannot fsync a directory). */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined
  try {
    handle = await open(dir, 'r')
    await handle.sync()
  } catch {
    // not supported here (e.g. Windows); the rename itself is still atomic
  } finally {
    await handle?.close().catch(() => {})
  }
}
