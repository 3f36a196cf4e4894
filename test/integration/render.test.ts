/**
 * `confmesh render` as a real OS process against real agents (separate processes): writes through one agent's HTTP
 * API are rendered by the renderer watching the other; the file is rewritten, `--exec` ran exactly once per changed
 * render (counted by a file the command appends to), the file's mode is kept, a failed render (a value without the
 * field the template needs, under strict variables) leaves the old file and the renderer keeps going; `--once` exits 0
 * after one render, and 1 with the old file intact when the render fails.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { chmod, readFile, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.js'
import { type ApiClient, createApiClient } from '../../src/client/api-client.js'
import {
  type AgentProcess,
  confmeshCommand,
  removeTempDir,
  runCli,
  startAgents,
  stopAgents,
  tempDir,
} from '../helpers/agent-process.js'
import { waitFor } from '../helpers/wait-for.js'

const TEMPLATE = join(import.meta.dirname, '../../examples/render/nginx-upstream.liquid')

describe('confmesh render against an agent', () => {
  let dir = ''
  let agents: AgentProcess[] = []
  let renderFrom: AgentProcess
  let writeTo: ApiClient

  beforeAll(async () => {
    dir = await tempDir()
    agents = await startAgents(2)
    renderFrom = agents[0]!
    writeTo = createApiClient({ endpoint: agents[1]!.url! })
    const reader = createApiClient({ endpoint: renderFrom.url! })
    await writeTo.batch('upstreams', {
      set: { 'web-1': { host: '10.0.0.7', port: 8080, weight: 2 }, 'web-2': { host: '10.0.0.8', port: 8080 } },
    })
    await waitFor(async () => Object.keys((await reader.list('upstreams')).entries).length === 2, {
      timeoutMs: 30_000,
      message: 'the first writes to reach the rendering agent',
    })
  })

  afterAll(async () => {
    await stopAgents(agents)
    await removeTempDir(dir)
  })

  const execCount = async (file: string): Promise<number> =>
    (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((l) => l === 'ran').length

  it('re-renders on a change, runs --exec once per changed render, keeps the mode, survives a failed render', async () => {
    const out = join(dir, 'upstream.conf')
    const count = join(dir, 'exec-count')
    await writeFile(out, 'old content\n')
    await chmod(out, 0o640)
    const proc = startRender([
      '--endpoint',
      renderFrom.url!,
      'render',
      '--template',
      TEMPLATE,
      '--out',
      out,
      '--exec',
      `echo ran >> '${count}'`,
      '--debounce',
      '20',
    ])
    try {
      await waitFor(async () => (await readFile(out, 'utf8')).includes('web-2'), { message: 'the first render' })
      expect(await readFile(out, 'utf8')).toBe(
        [
          '# rendered by confmesh from the "upstreams" namespace: do not edit',
          'upstream app {',
          '    server 10.0.0.7:8080 weight=2;  # web-1',
          '    server 10.0.0.8:8080;  # web-2',
          '    keepalive 16;',
          '}',
          '',
        ].join('\n'),
      )
      await waitFor(async () => (await execCount(count)) === 1, { message: 'exec after the first render' })
      expect((await stat(out)).mode & 0o777).toBe(0o640)

      await writeTo.set('upstreams', 'web-3', { host: '10.0.0.9', port: 8081, down: true })
      await waitFor(async () => (await readFile(out, 'utf8')).includes('server 10.0.0.9:8081 down;  # web-3'), {
        message: 'the re-render after a remote change',
      })
      await waitFor(async () => (await execCount(count)) === 2, { message: 'exec after the re-render' })
      expect((await stat(out)).mode & 0o777).toBe(0o640)

      // a value without `host`: strict variables fail the render; the file and the exec count stay
      const before = await readFile(out, 'utf8')
      await writeTo.set('upstreams', 'broken', { port: 1 })
      await waitFor(() => proc.stderr.some((l) => /render of .* failed.*undefined variable/.test(l)), {
        message: 'the failed render to be logged',
      })
      expect(await readFile(out, 'utf8')).toBe(before)
      expect(await execCount(count)).toBe(2)
      expect(proc.child.exitCode).toBeNull() // still running

      // fixed in one change: rendered again, exec once more
      await writeTo.batch('upstreams', { set: { 'web-4': { host: '10.0.0.10', port: 8080 } }, delete: ['broken'] })
      await waitFor(async () => (await readFile(out, 'utf8')).includes('web-4'), {
        message: 'the render after the fix',
      })
      await waitFor(async () => (await execCount(count)) === 3, { message: 'exec after the fix' })
      // a second namespace the template reads
      await writeTo.set('nginx', 'keepalive', 32)
      await waitFor(async () => (await readFile(out, 'utf8')).includes('keepalive 32;'), {
        message: 'keepalive render',
      })
      await waitFor(async () => (await execCount(count)) === 4, { message: 'exec after the keepalive render' })
      expect(proc.stdout.filter((l) => / rendered /.test(l)).length).toBe(4)
    } finally {
      expect(await proc.stop()).toBe(0)
    }
    expect(await execCount(count)).toBe(4)
  })

  it('--once renders once and exits 0; unchanged output writes nothing and runs no exec', async () => {
    const out = join(dir, 'once.conf')
    const count = join(dir, 'once-count')
    const args = ['--endpoint', renderFrom.url!, 'render', '--template', TEMPLATE, '--out', out, '--once']
    const first = await runCli([...args, '--exec', `echo ran >> '${count}'`])
    expect(first.code, first.stderr).toBe(0)
    expect(await readFile(out, 'utf8')).toContain('upstream app {')
    expect(await execCount(count)).toBe(1)
    const mtime = (await stat(out)).mtimeMs
    const again = await runCli([...args, '--exec', `echo ran >> '${count}'`])
    expect(again.code, again.stderr).toBe(0)
    expect(await execCount(count)).toBe(1)
    expect((await stat(out)).mtimeMs).toBe(mtime)
  }, 120_000) // two processes started one after the other

  it('--once with a failing render exits 1 and leaves the old file; --lenient renders unset keys empty', async () => {
    const out = join(dir, 'fail.conf')
    await writeFile(out, 'keep me\n')
    const syntax = join(dir, 'syntax.liquid')
    await writeFile(syntax, '{% for b in kv.upstreams %}no end')
    const missing = join(dir, 'missing.liquid')
    await writeFile(missing, 'value={{ kv.app.missing_key }}\n')
    const run = (template: string, ...extra: string[]) =>
      runCli(['--endpoint', renderFrom.url!, 'render', '--template', template, '--out', out, '--once', ...extra])
    const bad = await run(syntax)
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/TemplateError|not closed|tag/i)
    expect(await readFile(out, 'utf8')).toBe('keep me\n')
    const unset = await run(missing)
    expect(unset.code).toBe(1)
    expect(unset.stderr).toMatch(/undefined variable: kv\.app\.missing_key/)
    expect(await readFile(out, 'utf8')).toBe('keep me\n')
    const lenient = await run(missing, '--lenient')
    expect(lenient.code, lenient.stderr).toBe(0)
    expect(await readFile(out, 'utf8')).toBe('value=\n')
    const usage = await runCli(['--endpoint', renderFrom.url!, 'render', '--template', missing])
    expect(usage.code).toBe(2)
  }, 120_000) // five processes started one after the other

  it('waits for an unreachable agent, logging the retries, and stops cleanly on Ctrl-C without writing', async () => {
    const out = join(dir, 'never.conf')
    let stderr = ''
    const abort = new AbortController()
    const endpoint = `http://127.0.0.1:${await closedPort()}`
    const done = main(['--endpoint', endpoint, 'render', '--template', TEMPLATE, '--out', out], {
      out: () => {},
      err: (t) => {
        stderr += t
      },
      env: {},
      signal: abort.signal,
    })
    await waitFor(() => stderr.includes(`watch of ${endpoint}: cannot reach ${endpoint}: ECONNREFUSED; retrying`), {
      message: 'a logged retry',
    })
    abort.abort()
    expect(await done).toBe(0)
    await expect(stat(out)).rejects.toMatchObject({ code: 'ENOENT' })
  })
})

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A long-running `confmesh render` process with its output lines. */
function startRender(args: string[]) {
  const cmd = confmeshCommand(args)
  const child: ChildProcess = spawn(cmd.file, cmd.args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const stdout: string[] = []
  const stderr: string[] = []
  const collect = (into: string[]) => {
    let rest = ''
    return (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n')
      rest = lines.pop()!
      into.push(...lines)
    }
  }
  child.stdout!.on('data', collect(stdout))
  child.stderr!.on('data', collect(stderr))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    child,
    stdout,
    stderr,
    async stop(): Promise<number | null> {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      return exited
    },
  }
}
