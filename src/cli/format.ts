/**
 * Output formatting of the command line: aligned text tables for people, JSON for scripts. Pure functions of their
 * input (no clock, no terminal probing), so the same answer always prints the same bytes (golden tests rely on it).
 *
 * @module
 */
import type { ApiSchemaIssue } from '../client/errors.js'
import type { JsonValue } from '../config/value.js'

/** A column of {@link formatTable}: its header and how a row shows in it. */
export interface Column<Row> {
  readonly header: string
  readonly cell: (row: Row) => string
}

/**
 * Rows under upper-case headers, columns separated by two spaces, trailing spaces trimmed; `empty` (default
 * `(none)`) when there are no rows. Ends with a newline.
 */
export function formatTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[], empty = '(none)'): string {
  if (rows.length === 0) return `${empty}\n`
  const cells = [columns.map((c) => c.header.toUpperCase()), ...rows.map((r) => columns.map((c) => oneLine(c.cell(r))))]
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)))
  return cells
    .map(
      (line) =>
        `${line
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('')
}

/** `field  value` lines, fields aligned; fields whose value is `undefined` are left out. Ends with a newline. */
export function formatFields(fields: ReadonlyArray<readonly [string, string | undefined]>): string {
  const shown = fields.filter((f): f is readonly [string, string] => f[1] !== undefined)
  const width = Math.max(0, ...shown.map(([name]) => name.length))
  return shown.map(([name, value]) => `${name.padEnd(width)}  ${oneLine(value)}\n`).join('')
}

/** A value as compact JSON; `(absent)` for `undefined` (a deleted or never-set key). */
export function formatValue(value: JsonValue | undefined): string {
  return value === undefined ? '(absent)' : JSON.stringify(value)
}

/** A time (ms since epoch) as ISO 8601 UTC; `-` when missing. */
export function formatTime(ms: number | undefined): string {
  return typeof ms === 'number' && Number.isFinite(ms) ? new Date(ms).toISOString() : '-'
}

/** JSON for scripts: pretty-printed, one trailing newline. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`
}

/** JSON on one line (a stream of events). */
export function formatJsonLine(value: unknown): string {
  return `${JSON.stringify(value)}\n`
}

/** `yes` / `no` / `-`. */
export function formatFlag(flag: boolean | undefined): string {
  return flag === undefined ? '-' : flag ? 'yes' : 'no'
}

/** Tags as `k=v,k=v` (sorted), `-` when none. */
export function formatTags(tags: Readonly<Record<string, string>> | undefined): string {
  const entries = Object.entries(tags ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${v}`).join(',')
}

/** A version as the API gives it (`{ id, clock }` or an id) -> its id. */
export function versionId(version: unknown): string {
  if (typeof version === 'string') return version
  const id = (version as { id?: unknown } | null | undefined)?.id
  return typeof id === 'string' ? id : JSON.stringify(version)
}

/** Schema violations as a table: key, where in the value, what is wrong, which schema said so. */
export function formatIssues(issues: readonly ApiSchemaIssue[]): string {
  return formatTable(
    [
      { header: 'key', cell: (i) => `${i.namespace}/${i.key}` },
      { header: 'path', cell: (i) => i.path || '-' },
      { header: 'problem', cell: (i) => i.message },
      {
        header: 'schema',
        cell: (i) => `${i.namespace}/${i.pattern}${i.rollout === undefined ? '' : ` (rollout ${i.rollout})`}`,
      },
    ],
    issues,
  )
}

function oneLine(text: string): string {
  return text.replace(/[\r\n\t]/g, ' ')
}
