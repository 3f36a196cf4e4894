/**
 * `confmesh --endpoint URL CMD` against two real agents (`confmesh node --http`, separate OS processes, token-protected):
 * golden outputs of every command as a table and as `--json` (peer ids, versions, times, ports and event ids
 * normalised), exit codes through the real binary (0 ok, 1 not found, 2 usage, 3 refused), and the watch client
 * resuming with Last-Event-ID across a dropped connection (a loopback TCP proxy whose connections the test cuts).
 *
 * Goldens live in test/integration/golden/cli/ (written by vitest on the first run; review them like code).
 */
import { writeFile } from 'node:fs/promises'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.js'
import { type ApiClient, createApiClient } from '../../src/client/api-client.js'
import { type ApiWatchEvent, openWatchStream } from '../../src/client/watch-stream.js'
import { type AgentProcess, removeTempDir, runCli, startAgents, stopAgents, tempDir } from '../helpers/agent-process.js'
import { waitFor } from '../helpers/wait-for.js'

const WRITE_TOKEN = 'w-0123456789abcdef'
const READ_TOKEN = 'r-0123456789abcdef'
const golden = (name: string): string => join(import.meta.dirname, 'golden', 'cli', `${name}.txt`)

interface Run {
  code: number
  stdout: string
  stderr: string
}

describe('confmesh --endpoint against running agents', () => {
  let dir = ''
  let agents: AgentProcess[] = []
  let a: AgentProcess
  let b: AgentProcess
  let clientA: ApiClient

  beforeAll(async () => {
    dir = await tempDir()
    const tokenFile = join(dir, 'tokens')
    await writeFile(tokenFile, `write ${WRITE_TOKEN}\nread ${READ_TOKEN}\n`, { mode: 0o600 })
    agents = await startAgents(2, { args: ['--http-token-file', tokenFile] })
    ;[a, b] = agents as [AgentProcess, AgentProcess]
    clientA = createApiClient({ endpoint: a.url!, token: WRITE_TOKEN })
    const clientB = createApiClient({ endpoint: b.url!, token: WRITE_TOKEN })
    await waitFor(
      async () =>
        // ready and connected both ways: the peers goldens print both (a joiner is not ready until its first sync)
        (await clientA.peers()).some((p) => p.peerId === b.peerId && p.ready && p.connected) &&
        (await clientB.peers()).some((p) => p.peerId === a.peerId && p.ready && p.connected),
      { timeoutMs: 30_000, message: 'the agents to see each other ready and connected' },
    )
  })

  afterAll(async () => {
    await stopAgents(agents)
    await removeTempDir(dir)
  })

  /** Runs the CLI in this process against agent `on` (default A) with the write token from the environment. */
  const cli = async (args: string[], options: { on?: AgentProcess; env?: Record<string, string> } = {}) => {
    let stdout = ''
    let stderr = ''
    const abort = new AbortController()
    const code = await main(args, {
      out: (t) => {
        stdout += t
      },
      err: (t) => {
        stderr += t
      },
      env: { CONFMESH_ENDPOINT: (options.on ?? a).url!, CONFMESH_TOKEN: WRITE_TOKEN, ...options.env },
      signal: abort.signal,
    })
    return { code, stdout, stderr } satisfies Run
  }

  /**
   * Replaces what differs between runs: peer ids, versions, times, ports, event ids, client ids, sizes; and shrinks
   * table column gaps to two spaces (column alignment is checked by the unit tests of `formatTable`).
   */
  const normalise = async (text: string): Promise<string> => {
    const history = await clientA.history()
    const ids = history.map((h) => h.id).reverse() // oldest first: v1 is the first write
    let out = text
    out = out.replaceAll(a.peerId, '<peer-A>').replaceAll(b.peerId, '<peer-B>')
    // longest ids first, so no id is replaced inside a longer one
    const ordered = ids.map((id, i) => [id, `<v${i + 1}>`] as const).sort(([x], [y]) => y.length - x.length)
    for (const [id, name] of ordered)
      out = out.replace(new RegExp(`(?<![A-Za-z0-9_-])${escapeRegExp(id)}(?![A-Za-z0-9_-])`, 'g'), name)
    return out
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, '<time>')
      .replace(/"(time|lastSeen|startedAt|started|uptimeSeconds|documentBytes)": ?[\d.]+/g, '"$1": "<$1>"')
      .replace(/\br[0-9a-f]{16}\b/g, '<rollout>')
      .replace(/"clock": \{[^}]*\}/g, '"clock": "<clock>"')
      .replace(/\/tcp\/\d+/g, '/tcp/<port>')
      .replace(/\b[0-9a-f]{12}-\d+\b/g, '<event-id>')
      .replace(/^(document bytes|uptime)( +).*$/gm, '$1$2<$1>')
      .replace(/"version": "\d+\.\d+\.\d+[^"]*"/g, '"version": "<software>"')
      .replace(/^(software +).*$/gm, '$1<software>')
      .replace(/(\S) {2,}/g, '$1  ') // column gaps: widths follow the (varying) lengths of the replaced ids
  }

  const expectGolden = async (name: string, run: Run, code = 0): Promise<void> => {
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code, stderr: run.stderr })
    await expect(await normalise(run.stdout)).toMatchFileSnapshot(golden(name))
  }

  it('kv commands: set, get, delete, dump (tables and --json)', async () => {
    await expectGolden('set', await cli(['set', 'port', '8080', '--namespace', 'app']))
    await expectGolden('set.json', await cli(['set', 'host', '"example.org"', '--namespace', 'app', '--json']))
    await expectGolden('set-string', await cli(['set', 'name', 'web server', '--namespace', 'app']))
    await expectGolden('get', await cli(['get', 'port', '--namespace', 'app']))
    await expectGolden('get.json', await cli(['get', 'host', '--namespace', 'app', '--json']))
    const missing = await cli(['get', 'nope', '--namespace', 'app'])
    expect(missing.code).toBe(1)
    expect(missing.stdout).toBe('')
    expect(missing.stderr).toMatch(/404/)
    await expectGolden('delete', await cli(['delete', 'name', '--namespace', 'app']))
    await expectGolden('delete-again.json', await cli(['delete', 'name', '--namespace', 'app', '--json']))
    await cli(['set', 'greeting', '{"text":"hi","n":[1,2]}'])
    await expectGolden('dump', await cli(['dump']))
    await expectGolden('dump.json', await cli(['dump', '--json']))
    await expectGolden('dump-namespace-prefix', await cli(['dump', '--namespace', 'app', '--prefix', 'p']))
    // the other agent serves the same data once it arrived
    await waitFor(async () => (await cli(['get', 'port', '--namespace', 'app'], { on: b })).code === 0)
  })

  it('version commands: snapshot, history, diff, rollback', async () => {
    const first = (await clientA.history()).at(-1)!.id
    await expectGolden('snapshot', await cli(['snapshot', '--message', 'release 1']))
    await cli(['set', 'port', '9090', '--namespace', 'app'])
    await expectGolden('history', await cli(['history', '--limit', '3']))
    await expectGolden('history.json', await cli(['history', '--limit', '2', '--json']))
    await expectGolden('diff', await cli(['diff', '--from', first]))
    await expectGolden('diff.json', await cli(['diff', '--from', first, '--json']))
    const snapshot = (await clientA.history()).find((h) => h.message === 'release 1')!.id
    await expectGolden('rollback', await cli(['rollback', snapshot, '--namespace', 'app']))
    await cli(['set', 'port', '7070', '--namespace', 'app'])
    await expectGolden(
      'rollback.json',
      await cli(['rollback', snapshot, '--namespace', 'app', '--keys', 'port', '--json']),
    )
    expect((await clientA.get('app', 'port')).value).toBe(8080)
    const unknown = await cli(['diff', '--from', 'AAAA'])
    expect([1, 3]).toContain(unknown.code) // an id naming no known version: 404 (not found) or 400 (refused)
  })

  it('cluster commands: peers, ring, status', async () => {
    await expectGolden('peers', await cli(['peers']))
    await expectGolden('peers.json', await cli(['peers', '--json']))
    const ring = await cli(['ring', 'port', '--count', '2', '--json'])
    expect(ring.code).toBe(0)
    const owners = (JSON.parse(ring.stdout) as { owners: string[] }).owners
    expect([...owners].sort()).toEqual([a.peerId, b.peerId].sort())
    const table = await cli(['ring', 'port', '--count', '2'])
    expect(table.stdout).toBe(`RANK  OWNER\n1     ${owners[0]}\n2     ${owners[1]}\n`)
    const members = await cli(['ring'])
    const lines = members.stdout.split('\n').slice(1, 3)
    expect(lines.map((l) => l.split(/\s+/)[0]).sort()).toEqual([a.peerId, b.peerId].sort())
    for (const l of lines) expect(l).toMatch(/^\S+\s+1\s+\d+\.\d %$/) // weight 1, a share of the key space
    await expectGolden('status', await cli(['status']))
    await expectGolden('status.json', await cli(['status', '--json']))
  })

  it('watch prints each change as it happens (table and --json lines)', async () => {
    for (const json of [false, true]) {
      let stderr = ''
      let stdout = ''
      const abort = new AbortController()
      const done = main(['watch', '--namespace', 'live', '--count', '2', ...(json ? ['--json'] : [])], {
        out: (t) => {
          stdout += t
        },
        err: (t) => {
          stderr += t
        },
        env: { CONFMESH_ENDPOINT: a.url!, CONFMESH_TOKEN: READ_TOKEN },
        signal: abort.signal,
      })
      await waitFor(() => stderr.includes('watching'), { message: 'the watch stream to open' })
      const clientB = createApiClient({ endpoint: b.url!, token: WRITE_TOKEN })
      await clientB.set('other', 'x', 1) // another namespace: filtered out by the agent
      await clientB.set('live', 'k', json ? 'json' : 'text')
      await clientB.delete('live', 'k')
      expect(await done).toBe(0)
      await expectGolden(json ? 'watch.json' : 'watch', { code: 0, stdout, stderr: '' })
    }
  })

  it('exit codes: 0, 1 not found, 2 usage, 3 refused (through the real binary, and in process)', async () => {
    const env = { CONFMESH_ENDPOINT: a.url!, CONFMESH_TOKEN: READ_TOKEN }
    // the binary: bin/confmesh.js sets the process's exit code from main's (4 processes at once)
    const [ok, notFound, usage, readOnly] = await Promise.all([
      runCli(['get', 'port', '--namespace', 'app', '--json'], { env }),
      runCli(['get', 'missing'], { env }),
      runCli(['get'], { env }),
      runCli(['set', 'port', '1', '--namespace', 'app'], { env }),
    ])
    expect(ok.code, ok.stderr).toBe(0)
    expect(JSON.parse(ok.stdout)).toMatchObject({ namespace: 'app', key: 'port', value: 8080 })
    expect(notFound.code, notFound.stderr).toBe(1)
    expect(usage.code, usage.stderr).toBe(2)
    expect(usage.stderr).toMatch(/usage: confmesh get KEY/)
    expect(readOnly.code, readOnly.stderr).toBe(3)
    expect(readOnly.stderr).toMatch(/403/)
    // in process
    const read = { CONFMESH_TOKEN: READ_TOKEN }
    expect((await cli(['status', '--bogus'])).code).toBe(2)
    expect((await cli(['frobnicate'])).code).toBe(2)
    expect((await cli(['history', '--limit', 'x'])).code).toBe(2)
    const noToken = await cli(['status'], { env: { CONFMESH_TOKEN: '' } })
    expect(noToken.code).toBe(3)
    expect(noToken.stderr).toMatch(/401/)
    expect((await cli(['--token', 'nope', 'watch'], { env: read })).code).toBe(3)
    const template = join(dir, 'port.liquid')
    await writeFile(template, '{{ kv.app.port }}')
    const render = ['--token', 'nope', 'render', '--template', template, '--out', join(dir, 'port.txt')]
    expect((await cli(render)).code).toBe(3) // the watch is refused before the first render
    expect((await cli([...render, '--once'])).code).toBe(3)
    const down = await cli(['--endpoint', 'http://127.0.0.1:9', 'status'])
    expect(down.code).toBe(1)
    expect(down.stderr).toMatch(/cannot reach/)
    expect((await clientA.get('app', 'port')).value).toBe(8080) // the refused write changed nothing
  }, 120_000)

  it('the watch client resumes with Last-Event-ID across a dropped connection and misses nothing', async () => {
    const proxy = await startProxy(new URL(a.url!).port)
    const client = createApiClient({ endpoint: `http://127.0.0.1:${proxy.port}`, token: READ_TOKEN })
    const seen: ApiWatchEvent[] = []
    let opens = 0
    let reloads = 0
    const stream = openWatchStream(client, {
      namespace: 'resume',
      retryMs: 20,
      onEvent: (e) => seen.push(e),
      onOpen: () => opens++,
      onReload: () => reloads++,
    })
    try {
      await waitFor(() => opens === 1, { message: 'the stream to open' })
      for (let i = 0; i < 3; i++) await clientA.set('resume', 'n', i)
      await waitFor(() => seen.length === 3, { message: 'the first 3 events' })
      await proxy.cut() // drop the connection and refuse new ones
      for (let i = 3; i < 8; i++) await clientA.set('resume', 'n', i) // written while the client is away
      await proxy.resume()
      await waitFor(() => seen.length === 8, { message: 'the missed events after the reconnect' })
      expect(opens).toBeGreaterThanOrEqual(2)
      expect(reloads).toBe(0)
      expect(seen.map((e) => e.value)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    } finally {
      await stream.stop()
      await proxy.close()
    }
  })

  it('the watch client is told to reload when the agent cannot replay (an id from another agent run)', async () => {
    const client = createApiClient({ endpoint: a.url!, token: READ_TOKEN })
    let reloads = 0
    const seen: ApiWatchEvent[] = []
    const stream = openWatchStream(client, {
      namespace: 'reload',
      lastEventId: '0123456789ab-7',
      onEvent: (e) => seen.push(e),
      onReload: () => reloads++,
    })
    try {
      await waitFor(() => reloads === 1, { message: 'the reload event' })
      await clientA.set('reload', 'k', 1) // live events follow the reload
      await waitFor(() => seen.length === 1, { message: 'the live event after the reload' })
      expect(stream.lastEventId).toMatch(/^[0-9a-f]{12}-\d+$/)
      expect(stream.lastEventId).not.toBe('0123456789ab-7')
    } finally {
      await stream.stop()
    }
  })

  it('schema, rollout and flags commands (tables and --json); a refusal lists the schema issues', async () => {
    const schemaFile = join(dir, 'limit.schema.json')
    await writeFile(schemaFile, JSON.stringify({ type: 'integer', maximum: 100 }))
    const quota = ['--namespace', 'quota']
    await cli(['set', 'limits.mem', '500', ...quota])
    // current values break it: refused (3) with the issues on stderr, unless --force
    const breaks = await cli(['schema', 'set', 'limits.*', schemaFile, ...quota])
    expect(breaks.code).toBe(3)
    await expect(await normalise(breaks.stderr)).toMatchFileSnapshot(golden('schema-set-refused.stderr'))
    await expectGolden('schema-set', await cli(['schema', 'set', 'limits.*', schemaFile, ...quota, '--force']))
    await expectGolden('schema-validate', await cli(['schema', 'validate']), 1)
    await expectGolden('schema-validate.json', await cli(['schema', 'validate', '--json']), 1)
    await cli(['set', 'limits.mem', '50', ...quota])
    expect(await cli(['schema', 'validate'])).toMatchObject({ code: 0, stdout: 'every value is valid\n' })
    await cli(['schema', 'set', 'name', '{"type":"string","maxLength":8}', ...quota])
    await expectGolden('schema-get', await cli(['schema', 'get']))
    await expectGolden('schema-get-pattern', await cli(['schema', 'get', 'limits.*', ...quota]))
    await expectGolden('schema-get.json', await cli(['schema', 'get', '--json', ...quota]))
    const refused = await cli(['set', 'limits.cpu', '500', ...quota])
    expect(refused.code).toBe(3)
    await expect(await normalise(refused.stderr)).toMatchFileSnapshot(golden('set-schema-refused.stderr'))
    expect((await cli(['schema', 'get', 'nothing', ...quota])).code).toBe(1)
    expect((await cli(['schema', 'delete', 'name', ...quota], { env: { CONFMESH_TOKEN: READ_TOKEN } })).code).toBe(3)
    await expectGolden('schema-delete', await cli(['schema', 'delete', 'name', ...quota]))
    expect((await cli(['schema'])).code).toBe(2)
    expect((await cli(['schema', 'set', 'x', 'no-such-file'])).code).toBe(2)

    const web = ['--namespace', 'web']
    await cli(['set', 'color', '"blue"', ...web])
    const start = ['rollout', 'start', 'color', '"green"', ...web, '--tag', 'zone=eu', '--peer', a.peerId]
    await expectGolden('rollout-start', await cli(start))
    // widening adds a group (a hash share would make who is in depend on the random peer ids)
    await expectGolden('rollout-start-widen', await cli([...start, '--tag', 'role=edge', '--json']))
    await expectGolden('rollout-list', await cli(['rollout', 'list']))
    await expectGolden('rollout-list.json', await cli(['rollout', 'list', '--json']))
    const conflict = await cli(['rollout', 'start', 'color', '"red"', ...web])
    expect(conflict.code).toBe(3)
    expect(conflict.stderr).toMatch(/409 ERR_ROLLOUT_CONFLICT/)
    expect((await cli(['rollout', 'start', 'color', '"green"', '--percent', 'x'])).code).toBe(2)
    expect((await cli(['rollout', 'start', 'color', '"green"', '--tag', 'zone'])).code).toBe(2)
    expect((await cli(['rollout', 'abort', 'r0123456789abcdef'])).code).toBe(1) // no such rollout: 404
    const id = (await clientA.rollouts())[0]?.id
    expect((await cli(['get', 'color', ...web, '--json'])).stdout).toMatch(/"green"/) // A is in the group
    expect((await cli(['get', 'color', ...web, '--json'], { on: b })).stdout).toMatch(/"blue"/) // B is not
    await expectGolden('rollout-promote', await cli(['rollout', 'promote', id!]))
    await waitFor(async () => (await clientA.rollouts()).length === 0)
    expect(await cli(['rollout', 'list'])).toMatchObject({ code: 0, stdout: '(no active rollouts)\n' })

    const flagFile = join(dir, 'flags.json')
    const flag = (on: boolean) => ({
      state: 'ENABLED',
      variants: { on: true, off: false },
      defaultVariant: on ? 'on' : 'off',
    })
    await writeFile(flagFile, JSON.stringify({ flags: { 'new-checkout': flag(false), 'dark-mode': flag(true) } }))
    await expectGolden('flags-import', await cli(['flags', 'import', flagFile]))
    await expectGolden(
      'flags-import.json',
      await cli(['flags', 'import', flagFile, '--namespace', 'web-flags', '--json']),
    )
    expect((await clientA.get('flags', 'dark-mode')).value).toEqual(flag(true))
    const badFile = join(dir, 'bad-flags.json')
    await writeFile(badFile, JSON.stringify({ flags: { x: { state: 'ON', variants: { a: 1 }, defaultVariant: 'a' } } }))
    const bad = await cli(['flags', 'import', badFile, '--namespace', 'bad-flags'])
    expect(bad.code).toBe(3)
    expect(bad.stderr).toMatch(/400 ERR_INVALID_FLAGS/)
    expect(await clientA.list('bad-flags')).toMatchObject({ entries: {} })
  })
})

/** A loopback TCP proxy to the agent: `cut()` destroys every connection and stops listening until `resume()`. */
async function startProxy(targetPort: string) {
  const sockets = new Set<Socket>()
  let server: Server | undefined
  let port = 0
  const listen = (): Promise<void> =>
    new Promise((resolve) => {
      server = createServer((inbound) => {
        const outbound = connect(Number(targetPort), '127.0.0.1')
        for (const s of [inbound, outbound]) {
          sockets.add(s)
          s.on('close', () => sockets.delete(s))
          s.on('error', () => {})
        }
        inbound.pipe(outbound).pipe(inbound)
      })
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port
        resolve()
      })
    })
  const stop = async (): Promise<void> => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())))
    server = undefined
  }
  await listen()
  return {
    get port() {
      return port
    },
    cut: stop,
    resume: listen,
    close: stop,
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')
}
