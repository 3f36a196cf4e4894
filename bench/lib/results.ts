/**
 * Writes one named section of bench/RESULTS.md. Several scripts (and other people's benchmarks) share the file, so a
 * writer replaces only the text between its own `<!-- NAME:start -->` and `<!-- NAME:end -->` markers and appends the
 * section when the markers are missing. The file is re-read right before the write and replaced atomically (write to a
 * temp file, rename), which keeps concurrent writers of other sections from seeing a half-written file.
 *
 * @module
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** Directory of the benchmark harness (`bench/`), from `bench/lib/` or from a bundle in `<repo>/.build/<run>/`. */
export const BENCH_DIR = ((here: string) => {
  const marker = `${path.sep}.build${path.sep}`
  const i = here.lastIndexOf(marker)
  return i >= 0 ? path.join(here.slice(0, i), 'bench') : path.resolve(here, '..')
})(path.dirname(fileURLToPath(import.meta.url)))

/** Default results file, `bench/RESULTS.md`; `CONFMESH_BENCH_RESULTS` overrides it (tests point it at a temp file). */
export function resultsPath(): string {
  return process.env.CONFMESH_BENCH_RESULTS ?? path.join(BENCH_DIR, 'RESULTS.md')
}

const HEADER =
  '# confmesh benchmark results\n\nEach section is written by one script under bench/ and replaced on its next run.\n'

/**
 * Replace `text`'s section `name` with `markdown`, or append the section when absent. Pure; used by
 * {@link writeResultsSection}.
 *
 * @param text - the whole current file
 * @param name - section name (letters, digits, `-`, `_`, `.`)
 * @param markdown - the new body of the section
 */
export function replaceSection(text: string, name: string, markdown: string): string {
  const start = `<!-- ${name}:start -->`
  const end = `<!-- ${name}:end -->`
  const block = `${start}\n${markdown.trim()}\n${end}`
  const i = text.indexOf(start)
  const j = i >= 0 ? text.indexOf(end, i + start.length) : -1
  if (i >= 0 && j >= 0) return text.slice(0, i) + block + text.slice(j + end.length)
  const base = text.length === 0 ? HEADER : text
  return `${base.replace(/\n*$/, '\n')}\n${block}\n`
}

/**
 * Replace only the section `name` of bench/RESULTS.md (between `<!-- name:start -->` and `<!-- name:end -->`),
 * creating the file or appending the section if needed. Text outside the markers is never touched.
 *
 * @param name - section name, e.g. `propagation`
 * @param markdown - the section body (markdown)
 * @param file - the results file; defaults to {@link resultsPath}()
 */
export function writeResultsSection(name: string, markdown: string, file: string = resultsPath()): void {
  if (!/^[\w.-]+$/.test(name)) throw new TypeError(`invalid section name: ${name}`)
  const current = existsSync(file) ? readFileSync(file, 'utf8') : ''
  const next = replaceSection(current, name, markdown)
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, next)
  renameSync(tmp, file)
}

/**
 * Path of the machine-readable companion of a results section: `data/<name>.json` next to the results file.
 *
 * @param name - section name
 */
export function resultsDataPath(name: string): string {
  return path.join(path.dirname(resultsPath()), 'data', `${name}.json`)
}

/**
 * Save the rows behind a results section as JSON (`data/<name>.json` next to the results file), so the headline can
 * be rebuilt without re-running (`bench/index.ts --summary`). `NaN` is stored as `null`.
 *
 * @param name - section name
 * @param data - the rows (any JSON-serialisable value)
 */
export function writeResultsData(name: string, data: unknown): void {
  const file = resultsDataPath(name)
  mkdirSync(path.dirname(file), { recursive: true })
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(data, null, 1)}\n`)
  renameSync(tmp, file)
}

/**
 * Load rows saved by {@link writeResultsData}; `null` numbers come back as `NaN`.
 *
 * @param name - section name
 * @returns the rows, or `undefined` when none were saved
 */
export function readResultsData<T>(name: string): T | undefined {
  const file = resultsDataPath(name)
  if (!existsSync(file)) return undefined
  return JSON.parse(readFileSync(file, 'utf8'), (_k, v) => (v === null ? Number.NaN : v)) as T
}
