/**
 * Runs `confmesh` as real OS processes for tests: long-running agents (`confmesh node`) and one-shot CLI commands.
 *
 * Agents are started with `--json` (unless `json: false`) and the harness waits for the agent's `started` line, which
 * the agent prints once its peer AND its HTTP API are up: `{"event":"started","peerId","addresses","http"}` (text
 * mode: a line `ready` after `peer ID`, `listening ADDR`... and `http URL`). Every stdout/stderr line is kept, so tests
 * can wait for log lines with {@link AgentProcess.waitForLine}.
 *
 * Runner: by default the compiled package (`bin/confmesh.js`, run `npm run build` first; `npm test` does). Set
 * `CONFMESH_TEST_RUNNER=tsx` (or `runner: 'tsx'`) to run the TypeScript sources through tsx instead (slower start,
 * never stale: handy while developing).
 *
 * @example
 * ```ts
 * const a = await startAgent({ dataDir: await tempDir() })
 * const b = await startAgent({ args: ['--bootstrap', a.addresses[0]!] })
 * await fetch(`${a.url}/v1/kv/default/x`, { method: 'PUT', body: '1' })
 * const r = await runCli(['--endpoint', b.url!, 'get', 'x'])
 * expect(await a.stop()).toBe(0) // SIGTERM, then the exit code
 * ```
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const BIN = join(ROOT, 'bin/confmesh.js')
const DIST = join(ROOT, 'dist/src/cli/main.js')
const TSX_ENTRY = join(ROOT, 'test/helpers/cli-entry.ts')

/** How the `confmesh` command is run: the compiled package, or the sources through tsx. */
export type Runner = 'dist' | 'tsx'

/** Options shared by agents and one-shot commands. */
export interface ProcessOptions {
  /** Extra environment variables (merged over `process.env`). */
  env?: Record<string, string | undefined>
  /** Working directory. Default: the repository root. */
  cwd?: string
  /** Default `CONFMESH_TEST_RUNNER` or `'dist'`. */
  runner?: Runner
}

/** Options of {@link startAgent}. */
export interface StartAgentOptions extends ProcessOptions {
  /** Extra arguments after `node` (e.g. `['--bootstrap', addr, '--weight', '2']`). */
  args?: string[]
  /** `--data-dir`. Default none (memory only). */
  dataDir?: string
  /** `--http HOST:PORT`; `false` serves no HTTP API. Default `'127.0.0.1:0'` (any free loopback port). */
  http?: string | false
  /** `--json` logs (parsed into {@link AgentProcess.events}). Default true. */
  json?: boolean
  /** Give up waiting for the started line after this many ms. Default 30000. */
  timeoutMs?: number
}

/** How a process ended. */
export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** An agent running as its own OS process. */
export interface AgentProcess {
  readonly pid: number
  readonly peerId: string
  /** The peer's dialable multiaddrs (each ending in `/p2p/<peerId>`). */
  readonly addresses: string[]
  /** Base URL of its HTTP API (`http://127.0.0.1:PORT`), undefined with `http: false`. */
  readonly url: string | undefined
  /** Every stdout line so far. */
  readonly stdout: string[]
  /** Every stderr line so far. */
  readonly stderr: string[]
  /** Every stdout line that parsed as a JSON object (with `--json`: the agent's log events). */
  readonly events: Array<Record<string, unknown>>
  /** Resolves once the process exited. */
  readonly exited: Promise<Exit>
  /** Resolves with the first stdout line (already printed or future) matching `match`; rejects after the deadline. */
  waitForLine(match: RegExp | ((line: string) => boolean), timeoutMs?: number): Promise<string>
  /** Sends `signal` (default SIGTERM) and resolves with the exit code once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>
}

/** The command line that runs `confmesh ARGS` with the chosen runner. */
export function confmeshCommand(args: string[], runner: Runner = defaultRunner()): { file: string; args: string[] } {
  if (runner === 'tsx') return { file: process.execPath, args: ['--import', 'tsx', TSX_ENTRY, ...args] }
  if (!existsSync(DIST)) throw new Error('dist/ is missing: run `npm run build` before process tests')
  return { file: process.execPath, args: [BIN, ...args] }
}

function defaultRunner(): Runner {
  return process.env.CONFMESH_TEST_RUNNER === 'tsx' ? 'tsx' : 'dist'
}

function spawnConfmesh(args: string[], options: ProcessOptions): ChildProcess {
  const cmd = confmeshCommand(args, options.runner)
  return spawn(cmd.file, cmd.args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
}

/** Starts `confmesh node` and waits until its peer and HTTP API are up. Rejects (and kills it) if it does not start. */
export async function startAgent(options: StartAgentOptions = {}): Promise<AgentProcess> {
  const json = options.json ?? true
  const args = ['node', ...(options.args ?? [])]
  if (options.dataDir !== undefined) args.push('--data-dir', options.dataDir)
  const http = options.http ?? '127.0.0.1:0'
  if (http !== false) args.push('--http', http)
  if (json) args.push('--json')
  const proc = spawnConfmesh(args, options)
  const stdout: string[] = []
  const stderr: string[] = []
  const events: Array<Record<string, unknown>> = []
  const lineWaiters = new Set<(line: string) => void>()
  const exited = new Promise<Exit>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })))
  createInterface({ input: proc.stderr! }).on('line', (line) => stderr.push(line))
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    stdout.push(line)
    if (line.startsWith('{')) {
      try {
        const parsed = JSON.parse(line) as unknown
        if (parsed !== null && typeof parsed === 'object') events.push(parsed as Record<string, unknown>)
      } catch {
        // not JSON: a text line
      }
    }
    for (const w of [...lineWaiters]) w(line)
  })
  const waitForLine = (match: RegExp | ((line: string) => boolean), timeoutMs = 30_000): Promise<string> => {
    const test = typeof match === 'function' ? match : (l: string) => match.test(l)
    const seen = stdout.find(test)
    if (seen !== undefined) return Promise.resolve(seen)
    return new Promise<string>((resolve, reject) => {
      const waiter = (line: string): void => {
        if (!test(line)) return
        done()
        resolve(line)
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`no stdout line matching ${String(match)} within ${timeoutMs} ms\n${describe()}`))
      }, timeoutMs)
      const done = (): void => {
        clearTimeout(timer)
        lineWaiters.delete(waiter)
      }
      lineWaiters.add(waiter)
      void exited.then(() => {
        if (!lineWaiters.has(waiter)) return
        done()
        reject(new Error(`process exited before printing a line matching ${String(match)}\n${describe()}`))
      })
    })
  }
  const describe = (): string => `stdout:\n${stdout.join('\n')}\nstderr:\n${stderr.join('\n')}`
  const kill = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    await exited
  }
  let started: { peerId: string; addresses: string[]; url: string | undefined }
  try {
    started = json
      ? parseStarted(await waitForLine(isStartedLine, options.timeoutMs))
      : parseTextStarted(stdout, await waitForLine(/^ready$/, options.timeoutMs))
  } catch (err) {
    await kill()
    throw err
  }
  return {
    pid: proc.pid!,
    ...started,
    stdout,
    stderr,
    events,
    exited,
    waitForLine,
    kill,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
      return (await exited).code
    },
  }
}

function isStartedLine(line: string): boolean {
  return line.startsWith('{') && line.includes('"event":"started"')
}

function parseStarted(line: string): { peerId: string; addresses: string[]; url: string | undefined } {
  const e = JSON.parse(line) as { peerId: string; addresses: string[]; http?: string }
  return { peerId: e.peerId, addresses: e.addresses, url: e.http }
}

function parseTextStarted(lines: string[], _ready: string) {
  const peerId = lines.find((l) => l.startsWith('peer '))?.slice(5) ?? ''
  const addresses = lines.filter((l) => l.startsWith('listening ')).map((l) => l.slice(10))
  const url = lines.find((l) => l.startsWith('http '))?.slice(5)
  return { peerId, addresses, url }
}

/**
 * Starts `count` agents: the first alone, the others bootstrapping from it (all with `options`; `dataDirs[i]` as
 * agent i's data dir). Resolves once every agent printed its started line (not once they see each other: wait for
 * that with `/v1/peers` if the test needs it).
 */
export async function startAgents(
  count: number,
  options: StartAgentOptions & { dataDirs?: string[] } = {},
): Promise<AgentProcess[]> {
  const { dataDirs, ...rest } = options
  const withDir = (i: number): StartAgentOptions =>
    dataDirs?.[i] === undefined ? rest : { ...rest, dataDir: dataDirs[i] }
  const first = await startAgent(withDir(0))
  const others = await Promise.allSettled(
    Array.from({ length: count - 1 }, (_, i) =>
      startAgent({ ...withDir(i + 1), args: [...(rest.args ?? []), '--bootstrap', first.addresses[0]!] }),
    ),
  )
  const failed = others.find((r) => r.status === 'rejected')
  const started = [first, ...others.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))]
  if (failed !== undefined) {
    await stopAgents(started)
    throw (failed as PromiseRejectedResult).reason
  }
  return started
}

/** SIGTERMs every agent and waits for all to exit; resolves with their exit codes. Use in `afterEach`. */
export async function stopAgents(agents: readonly AgentProcess[]): Promise<Array<number | null>> {
  return Promise.all(agents.map((a) => a.stop()))
}

/** What a one-shot `confmesh` command printed and returned. */
export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Options of {@link runCli}. */
export interface RunCliOptions extends ProcessOptions {
  /** Written to the command's stdin (then closed). Default: stdin closed at once. */
  input?: string
  /** SIGKILL the command after this many ms (the result then has `code: null`). Default 30000. */
  timeoutMs?: number
}

/** Runs `confmesh ARGS` to completion; resolves with its exit code and output. */
export async function runCli(args: string[], options: RunCliOptions = {}): Promise<CliResult> {
  const proc = spawnConfmesh(args, options)
  let stdout = ''
  let stderr = ''
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
  })
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  proc.stdin!.end(options.input ?? '')
  const timer = setTimeout(() => proc.kill('SIGKILL'), options.timeoutMs ?? 30_000)
  const code = await new Promise<number | null>((resolve) => proc.once('close', (c) => resolve(c)))
  clearTimeout(timer)
  return { code, stdout, stderr }
}

/** A fresh temporary directory; remove it with {@link removeTempDir}. */
export function tempDir(prefix = 'confmesh-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix))
}

/** Removes a directory made by {@link tempDir}. */
export function removeTempDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true })
}
