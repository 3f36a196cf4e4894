/**
 * Benchmark of the operator tools against running agents (two `confmesh node --http` processes, A and B):
 *
 * 1. Render latency: a `PUT` on agent A -> the file rewritten by a renderer watching agent B's HTTP API (this
 *    process, `createRenderer({ endpoint })`, the SSE watch), timed from just before the PUT until the renderer's
 *    `onRender` reported the changed file (after fsync + rename). Writes go one at a time. With `debounceMs: 0`
 *    (the pipeline's own cost) and with the default 200 ms (what `confmesh render` does by default).
 * 2. CLI command wall time: `confmesh --endpoint B get KEY` as a new process (the built package), and the
 *    join-briefly mode `confmesh get KEY --bootstrap ADDR` (a peer that joins, catches up and leaves), sequential runs.
 *
 * Run: `npx tsx bench/render.ts` (`--quick`: fewer writes and runs). Needs `npm run build` (the CLI runs from dist/).
 * Prints tables and replaces the `render` section of bench/RESULTS.md.
 *
 * @module
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createApiClient } from '../src/client/api-client.js'
import { createRenderer, type RenderResult } from '../src/render/index.js'
import { type AgentProcess, confmeshCommand, startAgents, stopAgents } from '../test/helpers/agent-process.js'
import { waitFor } from '../test/helpers/wait-for.js'
import { runMain } from './lib/cleanup.js'
import { machineLine, sampleMachine, warnIfBusy } from './lib/machine.js'
import { writeResultsSection } from './lib/results.js'
import { fmt, type Summary, summarize } from './lib/stats.js'
import { printTable, renderMarkdown, type Table } from './lib/table.js'

const QUICK = process.argv.includes('--quick')
const COMMAND = `npx tsx bench/render.ts${QUICK ? ' --quick' : ''}`
const WRITES = QUICK ? 30 : 200
const CLI_RUNS = QUICK ? 5 : 20
const JOIN_RUNS = QUICK ? 3 : 8

/** Times `WRITES` sequential PUTs on `writer` until the renderer on `reader` wrote each. */
async function renderLatency(writer: AgentProcess, reader: AgentProcess, debounceMs: number): Promise<number[]> {
  const dir = await mkdtemp(join(tmpdir(), 'confmesh-bench-render-'))
  const template = join(dir, 'upstream.liquid')
  await writeFile(
    template,
    '{% for b in kv.bench %}server {{ b[1].host }}:{{ b[1].port }};  # {{ b[0] }}\n{% endfor %}',
  )
  const client = createApiClient({ endpoint: writer.url! })
  let waiting: ((r: RenderResult) => void) | undefined
  const renderer = createRenderer({
    endpoint: reader.url!,
    template,
    out: join(dir, 'upstream.conf'),
    debounceMs,
    onRender: (r) => {
      if (r.ok && r.changed) waiting?.(r)
    },
  })
  const latencies: number[] = []
  try {
    await renderer.start()
    for (let i = 0; i < WRITES; i++) {
      const rendered = new Promise<RenderResult>((resolve) => {
        waiting = resolve
      })
      const t0 = performance.now()
      await client.set('bench', `s${i % 10}`, { host: `10.0.${i % 250}.1`, port: 8000 + i })
      await rendered
      latencies.push(performance.now() - t0)
    }
  } finally {
    await renderer.stop()
    await rm(dir, { recursive: true, force: true })
  }
  return latencies
}

/** Wall time of `confmesh ARGS` as a new process, `runs` times in a row; every run must exit 0. */
async function cliWallTime(args: string[], runs: number): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const cmd = confmeshCommand(args, 'dist')
    const t0 = performance.now()
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(cmd.file, cmd.args, { stdio: 'ignore' })
      child.once('exit', (c) => resolve(c))
    })
    times.push(performance.now() - t0)
    if (code !== 0) throw new Error(`confmesh ${args.join(' ')} exited with ${code}`)
  }
  return times
}

async function main(): Promise<void> {
  const machine = await sampleMachine()
  warnIfBusy(machine)
  const agents = await startAgents(2, { runner: 'dist' })
  const [a, b] = agents as [AgentProcess, AgentProcess]
  try {
    const clientB = createApiClient({ endpoint: b.url! })
    await waitFor(async () => (await clientB.peers()).some((p) => p.peerId === a.peerId), { timeoutMs: 30_000 })
    const fast = summarize(await renderLatency(a, b, 0))
    console.log(`render, debounce 0: p50 ${fmt(fast.p50, 3)} ms`)
    const debounced = summarize(await renderLatency(a, b, 200))
    console.log(`render, debounce 200 ms: p50 ${fmt(debounced.p50, 3)} ms`)
    await createApiClient({ endpoint: a.url! }).set('bench', 'cli', 1)
    await waitFor(async () => (await clientB.list('bench')).entries.cli === 1)
    const endpointCli = summarize(
      await cliWallTime(['--endpoint', b.url!, 'get', 'cli', '--namespace', 'bench'], CLI_RUNS),
    )
    const joinCli = summarize(
      await cliWallTime(['get', 'cli', '--namespace', 'bench', '--bootstrap', b.addresses[0]!], JOIN_RUNS),
    )

    const row = (label: string, s: Summary): string[] => [
      label,
      String(s.count),
      fmt(s.p50, 3),
      fmt(s.p95, 3),
      fmt(s.p99, 3),
      fmt(s.max, 2),
    ]
    const renderTable: Table = {
      headers: ['renderer (watching agent B over SSE)', 'writes', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
      rows: [row('debounce 0 ms', fast), row('debounce 200 ms (the default)', debounced)],
    }
    const cliTable: Table = {
      headers: ['command (a new process each run)', 'runs', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
      rows: [
        row('confmesh --endpoint URL get KEY', endpointCli),
        row('confmesh get KEY --bootstrap ADDR (join briefly)', joinCli),
      ],
    }
    printTable('PUT on agent A -> file rewritten by a renderer watching agent B', renderTable)
    printTable('CLI wall time', cliTable)
    writeResultsSection(
      'render',
      [
        '## Render and CLI: PUT -> file rewritten, command wall time',
        '',
        `Command: \`${COMMAND}\``,
        '',
        machineLine(machine),
        '',
        `${WRITES} sequential \`PUT\`s on agent A (its own process); each timed from just before the PUT until a renderer in this process, watching agent B (its own process) over SSE, reported the file rewritten (fetch of the namespace, LiquidJS render, temp file + fsync + rename). The debounce waits for quiet after a change, so it adds up to its length to every render.`,
        '',
        renderMarkdown(renderTable),
        '',
        'CLI commands as new processes (built package), one after another. Against an agent the command loads no peer stack (libp2p is imported only by `node`, `keygen` and join-briefly commands); join-briefly starts a libp2p peer, dials, catches up and leaves.',
        '',
        renderMarkdown(cliTable),
      ].join('\n'),
    )
  } finally {
    await stopAgents(agents)
  }
}

await runMain(main)
