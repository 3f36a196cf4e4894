/**
 * A single progress line on stderr, rewritten in place on a terminal and printed as plain lines otherwise
 * (so logs of non-interactive runs stay readable). Stdout is left to the result tables.
 *
 * @module
 */

const isTty = Boolean(process.stderr.isTTY)
let lastLen = 0
let lastPrinted = ''

/**
 * Show `message` as the current progress line on stderr.
 *
 * @param message - one line of text; newlines are replaced by spaces
 */
export function progress(message: string): void {
  const line = `[bench] ${message.replace(/\s+/g, ' ')}`
  if (isTty) {
    const pad = lastLen > line.length ? ' '.repeat(lastLen - line.length) : ''
    process.stderr.write(`\r${line}${pad}`)
    lastLen = line.length
  } else if (line !== lastPrinted) {
    process.stderr.write(`${line}\n`)
  }
  lastPrinted = line
}

/** End the progress line (moves to a fresh line on a terminal). Safe to call more than once. */
export function progressDone(): void {
  if (isTty && lastLen > 0) process.stderr.write('\n')
  lastLen = 0
  lastPrinted = ''
}

/**
 * Print a note on stderr on its own line (e.g. "etcd not installed: skipping etcd rows"), ending any progress line.
 *
 * @param message - the note
 */
export function note(message: string): void {
  progressDone()
  process.stderr.write(`[bench] ${message}\n`)
}
