/**
 * etcd API latency: an etcd client (the `etcd3` npm client, one gRPC connection per role) against a confmesh agent's
 * etcd API and against a real etcd (Debian's `etcd-server`, one member on 127.0.0.1 with a temp data dir), in the
 * same run. Closed loop, one request in flight:
 * - put: `put(key, value)` until acknowledged;
 * - get: `get(key)` of an existing key;
 * - watch: a prefix watch on a second connection; put -> event delivered, measured in this process (one clock).
 * confmesh is measured twice for watch: the watcher on the same agent, and on a second agent (the put travels the
 * mesh). Agents are `confmesh node --etcd` processes (the built package when dist/ exists, else the sources via
 * tsx), like etcd.
 *
 * Usage: `npx tsx bench/etcd-api.ts [--quick] [--n N]`; writes the `etcd-api` section of bench/RESULTS.md.
 *
 * @module
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Etcd3 } from 'etcd3'
import { startAgent } from '../test/helpers/agent-process.js'
import { isMain, onCleanup, runMain } from './lib/cleanup.js'
import { machineLine, sampleMachine } from './lib/machine.js'
import { writeResultsSection } from './lib/results.js'
import { type Summary, summarize } from './lib/stats.js'
import { printTable, renderMarkdown, type Table } from './lib/table.js'
import { etcdVersion, startEtcd } from './peers/etcd.js'

const RUNNER = existsSync(fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url))) ? 'dist' : 'tsx'

/** `confmesh node --etcd 127.0.0.1:0` as its own process (stopped at cleanup). */
async function spawnAgent(bootstrap: string[]): Promise<{ addresses: string[]; etcd: string }> {
  const args = ['--etcd', '127.0.0.1:0', ...bootstrap.flatMap((b) => ['--bootstrap', b])]
  const agent = await startAgent({ runner: RUNNER, args, http: false })
  onCleanup(async () => {
    await agent.stop()
  })
  const etcd = agent.events.find((e) => e.event === 'started')?.etcd
  if (typeof etcd !== 'string') throw new Error('the agent printed no etcd address')
  return { addresses: agent.addresses, etcd }
}

async function timed(n: number, op: (i: number) => Promise<unknown>): Promise<Summary> {
  const ms: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    await op(i)
    ms.push(performance.now() - t0)
  }
  return summarize(ms)
}

/** put -> watch event latency: `writer` puts under a fresh prefix that `watcher` watches. */
async function watchLatency(writer: Etcd3, watcher: Etcd3, n: number, prefix: string): Promise<Summary> {
  const w = await watcher.watch().prefix(prefix).create()
  const arrived = new Map<string, number>()
  let wake: (() => void) | undefined
  w.on('put', (kv) => {
    arrived.set(kv.value.toString(), performance.now())
    wake?.()
  })
  const ms: number[] = []
  try {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now()
      await writer.put(`${prefix}k`).value(String(i))
      const deadline = Date.now() + 10_000
      while (!arrived.has(String(i))) {
        if (Date.now() > deadline) throw new Error(`watch event ${i} under ${prefix} not seen within 10 s`)
        await new Promise<void>((r) => {
          wake = r
          setTimeout(r, 100)
        })
      }
      ms.push(arrived.get(String(i))! - t0)
    }
  } finally {
    await w.cancel()
  }
  return summarize(ms)
}

interface Row {
  system: string
  put: Summary
  get: Summary
  watch: Summary
}

async function measure(system: string, endpoint: string, watchEndpoint: string, n: number): Promise<Row> {
  const writer = new Etcd3({ hosts: endpoint })
  const watcher = new Etcd3({ hosts: watchEndpoint })
  try {
    const warm = Math.max(20, n / 10)
    await timed(warm, (i) =>
      writer
        .put(`warm/${i % 10}`)
        .value(String(i))
        .exec(),
    )
    const put = await timed(n, (i) =>
      writer
        .put(`bench/put/${i % 100}`)
        .value(`value-${i}`)
        .exec(),
    )
    const get = await timed(n, (i) => writer.get(`bench/put/${i % 100}`).string())
    await watchLatency(writer, watcher, warm, `bench/warm-${system.length}/`)
    const watch = await watchLatency(writer, watcher, n, `bench/watch-${Date.now()}/`)
    return { system, put, get, watch }
  } finally {
    writer.close()
    watcher.close()
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const nArg = args.indexOf('--n')
  const n = nArg >= 0 ? Number(args[nArg + 1]) : args.includes('--quick') ? 100 : 500
  const version = etcdVersion()
  if (version === undefined) throw new Error('etcd is not installed (apt-get install etcd-server)')
  const machine = await sampleMachine()
  const etcd = await startEtcd({ members: 1 })
  const a = await spawnAgent([])
  const b = await spawnAgent(a.addresses)
  try {
    // wait until the agents are connected (a put on one reaches the other) before measuring anything
    const probe = new Etcd3({ hosts: [b.etcd] })
    const writer = new Etcd3({ hosts: [a.etcd] })
    const deadline = Date.now() + 30_000
    await writer.put('bench/probe').value('1')
    while ((await probe.get('bench/probe').string()) !== '1') {
      if (Date.now() > deadline) throw new Error('agents did not connect within 30 s')
      await new Promise((r) => setTimeout(r, 50))
    }
    probe.close()
    writer.close()
    const rows: Row[] = []
    const etcdEndpoint = etcd.endpoints[0]!.replace('http://', '')
    rows.push(await measure('etcd (1 member)', etcdEndpoint, etcdEndpoint, n))
    const alone = await spawnAgent([])
    rows.push(await measure('confmesh agent alone', alone.etcd, alone.etcd, n))
    rows.push(await measure('confmesh agent (2-member mesh)', a.etcd, a.etcd, n))
    const cross = await measure('confmesh, watch on 2nd agent', a.etcd, b.etcd, n)
    rows.push(cross)
    const fmt = (s: Summary) => `${s.p50.toFixed(2)} / ${s.p99.toFixed(2)}`
    const table: Table = {
      headers: ['system', 'put p50 / p99 ms', 'get p50 / p99 ms', 'put -> watch event p50 / p99 ms'],
      rows: rows.map((r) => [r.system, fmt(r.put), fmt(r.get), fmt(r.watch)]),
    }
    printTable(`etcd API latency, ${n} requests each, one in flight`, table)
    const [e, c] = [rows[0]!, rows[2]!]
    const ratio = (x: number, y: number) => (x / y).toFixed(2)
    writeResultsSection(
      'etcd-api',
      [
        '## etcd API: an etcd client against a confmesh agent and against etcd',
        '',
        `Command: \`npx tsx bench/etcd-api.ts${n === 500 ? '' : ` --n ${n}`}\` · ${version}`,
        machineLine(machine),
        '',
        `The \`etcd3\` npm client, closed loop, ${n} requests per column, one in flight; latencies measured in the`,
        'client process. etcd: one member on 127.0.0.1 with a temp data dir (fsync on every put). confmesh: agents',
        `(\`confmesh node --etcd\`, ${RUNNER === 'dist' ? 'built package' : 'sources via tsx'}), in memory (no data dir),`,
        'answering from their local replica; "alone" is an agent without',
        'peers; the last row puts on one agent and watches on another (gossip, apply, revision, watch event).',
        '',
        renderMarkdown(table),
        '',
        `Ratios confmesh / etcd (p50): put ${ratio(c.put.p50, e.put.p50)}, get ${ratio(c.get.p50, e.get.p50)}, ` +
          `watch on the same node ${ratio(c.watch.p50, e.watch.p50)} (2-member mesh). confmesh acknowledges a put once`,
        'applied locally (no quorum, no fsync without a data dir); etcd after a Raft commit and fsync. A confmesh put also',
        'pays, on the same event loop, the gossip of the change to the mesh (encode, sign, send): "alone" shows the agent',
        'without peers. Not linearizable: see docs/etcd.md.',
      ].join('\n'),
    )
  } finally {
    await etcd.stop()
  }
}

if (isMain(import.meta.url)) void runMain(main)
