/**
 * `confmesh node` agents as separate OS processes (the built `bin/confmesh.js`; `CONFMESH_TEST_RUNNER=tsx` runs the
 * sources), driven over their HTTP APIs with `fetch`: replication between agents, SSE watch of a remote change and
 * its resume with Last-Event-ID across a dropped connection, a clean SIGTERM stop that keeps the data, `--config`
 * YAML with flags winning, token files, and bad options refused with exit code 2.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  type AgentProcess,
  removeTempDir,
  runCli,
  startAgent,
  startAgents,
  stopAgents,
  tempDir,
} from '../helpers/agent-process.js'
import { openSse, type SseStream } from '../helpers/sse-client.js'
import { waitFor } from '../helpers/wait-for.js'

let dir: string
let agents: AgentProcess[] = []
let streams: SseStream[] = []

beforeAll(async () => {
  dir = await tempDir('confmesh-agent-test-')
})
afterEach(async () => {
  for (const s of streams) s.close()
  streams = []
  await Promise.all(agents.map((a) => a.kill()))
  agents = []
})
afterAll(async () => {
  await removeTempDir(dir)
})

async function json<T = Record<string, unknown>>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, init)
  const body = (await res.json()) as T
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${JSON.stringify(body)}`)
  return body
}

async function valueAt(agent: AgentProcess, ns: string, key: string): Promise<unknown> {
  const res = await fetch(`${agent.url}/v1/kv/${ns}/${encodeURIComponent(key)}`)
  if (res.status === 404) {
    await res.body?.cancel()
    return undefined
  }
  return ((await res.json()) as { value: unknown }).value
}

const put = (agent: AgentProcess, ns: string, key: string, value: unknown) =>
  json(`${agent.url}/v1/kv/${ns}/${encodeURIComponent(key)}`, { method: 'PUT', body: JSON.stringify(value) })

async function waitForPeers(list: AgentProcess[], count: number): Promise<void> {
  await waitFor(
    async () => {
      for (const a of list) {
        const { peers } = await json<{ peers: unknown[] }>(`${a.url}/v1/peers`)
        if (peers.length < count) return false
      }
      return true
    },
    { timeoutMs: 30_000, message: `every agent sees ${count} peers` },
  )
}

describe('confmesh node as OS processes', () => {
  it('replicates between agents, streams remote changes over SSE, resumes with Last-Event-ID, stops cleanly and keeps its data', async () => {
    const dataDirs = [join(dir, 'a'), join(dir, 'b')]
    agents = await startAgents(2, { dataDirs })
    const [a, b] = agents as [AgentProcess, AgentProcess]
    expect(a.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    await waitForPeers([a, b], 1)

    // set on one -> get on the other
    await put(a, 'app', 'db.host', 'a.example')
    await waitFor(async () => (await valueAt(b, 'app', 'db.host')) === 'a.example', { message: 'value on b' })

    // SSE watch on b sees a change made on a
    const watch = await openSse(`${b.url}/v1/watch?namespace=app`)
    streams.push(watch)
    await put(a, 'app', 'db.port', 5432)
    const event = await watch.next((e) => (e.data as { key?: string }).key === 'db.port')
    expect(event.data).toMatchObject({ namespace: 'app', value: 5432, source: 'remote', author: a.peerId })
    expect(event.id).toBeDefined()

    // the connection drops; changes made meanwhile arrive on reconnect with Last-Event-ID
    const last = watch.lastEventId!
    watch.close()
    await watch.ended
    await put(a, 'app', 'db.user', 'svc')
    await put(a, 'app', 'db.pool', 10)
    await waitFor(async () => (await valueAt(b, 'app', 'db.pool')) === 10, { message: 'missed writes on b' })
    const resumed = await openSse(`${b.url}/v1/watch?namespace=app`, { 'last-event-id': last })
    streams.push(resumed)
    await resumed.next((e) => (e.data as { key?: string }).key === 'db.pool')
    expect(resumed.events.map((e) => (e.data as { key: string }).key)).toEqual(['db.user', 'db.pool'])

    // its metrics count the storage commits of those writes
    const metrics = await (await fetch(`${a.url}/metrics`)).text()
    expect(Number(/^confmesh_storage_commit_seconds_count (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0)
    expect(metrics).toMatch(/^confmesh_members \d+$/m)

    // SIGTERM: exit 0 after a clean stop
    const peerId = a.peerId
    expect(await a.stop('SIGTERM')).toBe(0)
    expect(a.events.map((e) => e.event)).toEqual(expect.arrayContaining(['started', 'stopping', 'stopped']))
    expect(a.stderr.filter((l) => / error: /.test(l))).toEqual([])

    // the restarted agent has its data and identity without any peer
    // b stops cleanly with a watch stream open: the stream ends, the process exits 0
    expect(await b.stop()).toBe(0)
    await resumed.ended
    const again = await startAgent({ dataDir: dataDirs[0] })
    agents = [again]
    expect(again.peerId).toBe(peerId)
    expect(await valueAt(again, 'app', 'db.pool')).toBe(10)
    expect(await again.stop('SIGINT')).toBe(0)
  })

  it('reads --config YAML (paths relative to the file; flags win) and enforces its token file', async () => {
    const cfgDir = join(dir, 'cfg')
    await mkdir(cfgDir, { recursive: true })
    const readToken = 'read-token-aaaaaaaaaaaaaaaa'
    const writeToken = 'write-token-bbbbbbbbbbbbbbbb'
    await writeFile(join(cfgDir, 'tokens'), `read ${readToken}\nwrite ${writeToken}\n`, { mode: 0o600 })
    await writeFile(
      join(cfgDir, 'agent.yaml'),
      [
        '# confmesh node --config agent.yaml',
        'name: yaml-mesh',
        'data-dir: ./data',
        'http-token-file: tokens',
        'weight: 2',
        'tags:',
        '  zone: eu-west',
        '  role: edge',
      ].join('\n'),
    )
    const configured = await startAgent({ args: ['--config', join(cfgDir, 'agent.yaml'), '--weight', '3'] })
    agents.push(configured)
    const auth = { authorization: `Bearer ${readToken}` }
    expect((await fetch(`${configured.url}/v1/status`)).status).toBe(401)
    const status = await json<{ meshName: string }>(`${configured.url}/v1/status`, { headers: auth })
    expect(status.meshName).toBe('yaml-mesh')
    const denied = await fetch(`${configured.url}/v1/kv/x/y`, { method: 'PUT', body: '1', headers: auth })
    expect(denied.status).toBe(403)
    const ok = await fetch(`${configured.url}/v1/kv/x/y`, {
      method: 'PUT',
      body: '1',
      headers: { authorization: `Bearer ${writeToken}` },
    })
    expect(ok.status).toBe(200)
    expect(configured.events.find((e) => e.event === 'started')?.dataDir).toBe(join(cfgDir, 'data'))

    // another agent of the same mesh sees the tags from the file and the weight from the flag
    const other = await startAgent({
      json: false, // text logs: `peer ID`, `listening ADDR`, `http URL`, `ready`
      args: ['--name', 'yaml-mesh', '--bootstrap', configured.addresses[0]!],
    })
    expect(other.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(other.addresses[0]).toContain(`/p2p/${other.peerId}`)
    agents.push(other)
    const seen = await waitFor(
      async () => {
        const { peers } = await json<{ peers: Array<{ peerId: string; weight: number; tags: object }> }>(
          `${other.url}/v1/peers`,
        )
        return peers.find((p) => p.peerId === configured.peerId)
      },
      { timeoutMs: 30_000, message: 'the configured agent in the peer list' },
    )
    expect(seen.tags).toEqual({ zone: 'eu-west', role: 'edge' })
    expect(seen.weight).toBe(3)
    expect(await stopAgents(agents)).toEqual([0, 0])
  })

  it('refuses bad options with exit code 2 before starting anything', async () => {
    await writeFile(join(dir, 'typo.yaml'), 'data_dir: /tmp/x\n')
    const [insecure, weight, config, typo] = await Promise.all([
      runCli(['node', '--http', '0.0.0.0:0']),
      runCli(['node', '--weight', 'heavy']),
      runCli(['node', '--config', join(dir, 'missing.yaml')]),
      runCli(['node', '--config', join(dir, 'typo.yaml')]),
    ])
    expect(insecure.code).toBe(2)
    expect(insecure.stderr).toContain('InsecureListenError')
    expect(weight.code).toBe(2)
    expect(weight.stderr).toContain('--weight')
    expect(config.code).toBe(2)
    expect(typo.code).toBe(2)
    expect(typo.stderr).toContain('unknown option "data_dir"')
  })
})
