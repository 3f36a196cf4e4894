/**
 * The confmesh software version, read once from the package's `package.json` (found walking up from this file, so it
 * works from the sources and from the compiled `dist/`).
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

let cached: string | undefined

/** The `version` of confmesh's package.json, or `'unknown'`. */
export function packageVersion(): string {
  if (cached !== undefined) return cached
  cached = 'unknown'
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'confmesh' && typeof pkg.version === 'string') {
        cached = pkg.version
        break
      }
    } catch {
      // no package.json here: look further up
    }
    dir = dirname(dir)
  }
  return cached
}
