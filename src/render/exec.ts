/**
 * Runs the command given as `exec` after a render that changed the file (e.g. `nginx -s reload`), through the
 * shell, with a timeout. Never throws for the command's own failure: the result says how it ended.
 *
 * @module
 */
import { spawn } from 'node:child_process'

/** Default time a command may run before it is killed (ms). */
export const DEFAULT_EXEC_TIMEOUT_MS = 60_000

/** How a command ended. */
export interface ExecResult {
  /** Exit code; `null` when it was killed by a signal (or could not start). */
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  /** Whether it outran its timeout (and was killed). */
  readonly timedOut: boolean
  /** Why it could not start, if it could not. */
  readonly error?: Error
}

/** Options of {@link runExec}. */
export interface ExecOptions {
  /** Kill (SIGTERM) after this many ms. Default {@link DEFAULT_EXEC_TIMEOUT_MS}. */
  timeoutMs?: number
  /** Where its output goes: `'inherit'` (the renderer's stdout/stderr) or `'ignore'`. Default `'inherit'`. */
  stdio?: 'inherit' | 'ignore'
  /** Extra environment variables. */
  env?: Record<string, string>
}

/** Runs `command` through the shell; resolves once it ended. */
export function runExec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    let timedOut = false
    const child = spawn(command, {
      shell: true,
      stdio: ['ignore', options.stdio ?? 'inherit', options.stdio ?? 'inherit'],
      env: { ...process.env, ...options.env },
    })
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGTERM')
    }, options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS)
    child.once('error', (error) => {
      clearTimeout(timer)
      resolve({ code: null, signal: null, timedOut, error })
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, timedOut })
    })
  })
}
