/**
 * Benchmark of the agent's HTTP API:
 *
 * 1. GET throughput and latency: `GET /v1/kv/{ns}/{key}` against an agent running as its own OS process
 *    (`confmesh node --http`), from this process over keep-alive connections (node:http), closed loop with 1 and
 *    with 32 requests in flight. The client shares 2 cores with the agent: the numbers are a floor.
 * 2. Watch latency: a `PUT` on agent A (its own process) -> the change at peer B (in this process): B's in-process
 *    watcher (`mesh.watch`) next to an SSE client of B's HTTP API (`GET /v1/watch`, fetch + eventsource-parser, also in
 *    this process). Writes go one at a time (the next after both saw the previous), timed from just before the PUT on
 *    one clock (`performance.now()` here). SSE minus in-process = the cost of the HTTP hop (serialise, write,
 *    loopback TCP, parse).
 *
 * Run: `npx tsx bench/http.ts` (`--quick`: shorter). Uses the built package (`npm run build`) for the agent if
 * present, else runs it through tsx. Prints tables and replaces the `http` section of bench/RESULTS.md.
 *
 * @module
 */
import { existsSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { type ConfigMesh, createHttpApi, createMesh } from '../src/index.js'
import { type AgentProcess, startAgent } from '../test/helpers/agent-process.js'
import { openSse } from '../test/helpers/sse-client.js'
import { waitFor } from '../test/helpers/wait-for.js'
import { machineLine, sampleMachine, warnIfBusy } from './lib/machine.js'
import { writeResultsSection } from './lib/results.js'
import { fmt, summarize } from './lib/stats.js'
import { printTable, renderMarkdown, type Table } from './lib/table.js'

const QUICK = process.argv.includes('--quick')
const COMMAND = `npx tsx bench/http.ts${QUICK ? ' --quick' : ''}`
const GET_SECONDS = QUICK ? 2 : 8
const WRITES = QUICK ? 100 : 500
const RUNNER = existsSync(fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url))) ? 'dist' : 'tsx'

interface GetRun {
  inFlight: number
  requests: number
  seconds: number
  latencies: number[]
}

/** Closed loop of GETs: `inFlight` workers, each sending its next request when the previous answered. */
async function getLoad(url: string, inFlight: number, seconds: number): Promise<GetRun> {
  const agent = new Agent({ keepAlive: true, maxSockets: inFlight })
  const target = new URL(url)
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = request({ host: target.hostname, port: target.port, path: target.pathname, agent }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`GET ${url}: ${res.statusCode}`))
        res.resume()
        res.on('end', resolve)
      })
      req.on('error', reject)
      req.end()
    })
  for (let i = 0; i < inFlight * 20; i++) await one() // warm-up: connections open, code paths compiled
  const latencies: number[] = []
  const started = performance.now()
  const end = started + seconds * 1000
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const t = performance.now()
      await one()
      latencies.push(performance.now() - t)
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
  const elapsed = (performance.now() - started) / 1000
  agent.destroy()
  return { inFlight, requests: latencies.length, seconds: elapsed, latencies }
}

/** Sequential writes on `writer` (HTTP PUT) observed at `mesh` in-process and over SSE from its HTTP API. */
async function watchLatency(writer: AgentProcess, mesh: ConfigMesh, apiUrl: string, writes: number) {
  const inProcess: number[] = []
  const sse: number[] = []
  const answered: number[] = []
  let sentAt = 0
  let current = ''
  let seenInProcess = false
  let seenSse = false
  const unwatch = mesh.namespace('bench').watch((e) => {
    if (e.key === current) {
      inProcess.push(performance.now() - sentAt)
      seenInProcess = true
    }
  })
  const stream = await openSse(`${apiUrl}/v1/watch?namespace=bench`)
  stream.onEvent = (e) => {
    if ((e.data as { key?: string }).key === current) {
      sse.push(e.at - sentAt)
      seenSse = true
    }
  }
  for (let i = 0; i < writes + 10; i++) {
    const warm = i < 10
    current = `k${i}`
    seenInProcess = false
    seenSse = false
    sentAt = performance.now()
    const res = await fetch(`${writer.url}/v1/kv/bench/${current}`, { method: 'PUT', body: String(i) })
    await res.body?.cancel()
    answered.push(performance.now() - sentAt)
    await waitFor(() => seenInProcess && seenSse, { timeoutMs: 30_000, intervalMs: 1, message: `write ${i} seen` })
    if (warm) {
      inProcess.pop()
      sse.pop()
      answered.pop()
    }
  }
  unwatch()
  stream.close()
  return { inProcess, sse, answered }
}

async function main(): Promise<void> {
  const machine = await sampleMachine()
  warnIfBusy(machine)
  const a = await startAgent({ runner: RUNNER })
  const b = await createMesh({ bootstrap: [a.addresses[0]!] })
  const api = await createHttpApi(b)
  try {
    await waitFor(() => b.peers().length === 1, { timeoutMs: 30_000, message: 'b joins a' })
    const put = await fetch(`${a.url}/v1/kv/bench/read-me`, { method: 'PUT', body: '{"limit":500,"zone":"eu"}' })
    await put.body?.cancel()
    const getUrl = `${a.url}/v1/kv/bench/read-me`
    const runs: GetRun[] = []
    for (const inFlight of [1, 32]) {
      const run = await getLoad(getUrl, inFlight, GET_SECONDS)
      console.log(`GET, ${inFlight} in flight: ${fmt(run.requests / run.seconds)} req/s`)
      runs.push(run)
    }
    const getTable: Table = {
      headers: ['in flight', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'max ms'],
      rows: runs.map((r) => {
        const s = summarize(r.latencies)
        return [
          String(r.inFlight),
          r.requests.toLocaleString('en-US'),
          fmt(r.requests / r.seconds, 0),
          fmt(s.p50, 3),
          fmt(s.p99, 3),
          fmt(s.max, 2),
        ]
      }),
    }
    printTable('GET /v1/kv/{ns}/{key} (agent in its own process)', getTable)

    const { inProcess, sse, answered } = await watchLatency(a, b, api.url, WRITES)
    const p = summarize(inProcess)
    const s = summarize(sse)
    const watchTable: Table = {
      headers: ['observer at peer B', 'writes', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
      rows: [
        ['(the PUT answered by A)', summarize(answered), answered.length],
        ['in-process watcher (mesh.watch)', p, inProcess.length],
        ['SSE client of B (GET /v1/watch)', s, sse.length],
      ].map(([label, x, n]) => {
        const v = x as ReturnType<typeof summarize>
        return [String(label), String(n), fmt(v.p50, 3), fmt(v.p95, 3), fmt(v.p99, 3), fmt(v.max, 2)]
      }),
    }
    printTable('PUT on agent A -> change seen at peer B', watchTable)

    const markdown = [
      '## HTTP API: GET throughput, watch latency over SSE',
      '',
      `Command: \`${COMMAND}\``,
      '',
      machineLine(machine),
      '',
      `GET of one key from an agent (\`confmesh node --http\`, ${RUNNER === 'dist' ? 'built package' : 'sources via tsx'}) in its own process; the client is this process (node:http, keep-alive), closed loop for ${GET_SECONDS} s per row. Client and agent share the 2 cores, so req/s is a floor.`,
      '',
      renderMarkdown(getTable),
      '',
      `Watch: ${WRITES} sequential \`PUT\`s on agent A (own process); each timed from just before the PUT until peer B (in this process) saw it, through its in-process watcher and through an SSE client of B's HTTP API (also in this process, sharing B's event loop). Latency includes the PUT's HTTP round trip, A's apply (in memory), gossip to B.`,
      '',
      renderMarkdown(watchTable),
      '',
      `The HTTP hop adds **${fmt(s.p50 - p.p50, 3)} ms** at p50 and ${fmt(s.p99 - p.p99, 3)} ms at p99 over the in-process watcher.`,
    ].join('\n')
    writeResultsSection('http', markdown)
    console.log(`\nwrote the http section of bench/RESULTS.md`)
  } finally {
    await api.close()
    await b.stop()
    await a.stop()
  }
}

await main()
