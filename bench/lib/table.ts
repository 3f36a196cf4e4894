/**
 * Table rendering for the benchmark scripts: one row model, two renderings (aligned text for the terminal,
 * GitHub markdown for bench/RESULTS.md).
 *
 * @module
 */

/** A table: column headers and rows of already-formatted cells. */
export interface Table {
  /** Column headers. */
  headers: string[]
  /** Rows; each row has one cell per header. */
  rows: string[][]
  /** Columns to right-align (numbers); by index. Defaults to every column but the first. */
  alignRight?: number[]
}

function isRight(table: Table, col: number): boolean {
  return table.alignRight ? table.alignRight.includes(col) : col > 0
}

/**
 * Render a table as aligned plain text for the terminal.
 *
 * @param table - headers and formatted rows
 * @returns the text, lines separated by `\n`, without a trailing newline
 */
export function renderText(table: Table): string {
  const widths = table.headers.map((h, i) => Math.max(h.length, ...table.rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (isRight(table, i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(table.headers), widths.map((w) => '-'.repeat(w)).join('  '), ...table.rows.map(line)].join('\n')
}

/**
 * Render a table as GitHub-flavoured markdown.
 *
 * @param table - headers and formatted rows
 * @returns the markdown, without a trailing newline
 */
export function renderMarkdown(table: Table): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|')
  const head = `| ${table.headers.map(esc).join(' | ')} |`
  const sep = `|${table.headers.map((_, i) => (isRight(table, i) ? ' ---: ' : ' --- ')).join('|')}|`
  const body = table.rows.map((r) => `| ${table.headers.map((_, i) => esc(r[i] ?? '')).join(' | ')} |`)
  return [head, sep, ...body].join('\n')
}

/**
 * Print a titled table to stdout (plain text), preceded by a blank line.
 *
 * @param title - a one-line title
 * @param table - headers and formatted rows
 */
export function printTable(title: string, table: Table): void {
  process.stdout.write(`\n${title}\n${renderText(table)}\n`)
}
