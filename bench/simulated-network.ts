/**
 * Speed of the simulated network (`src/transport/simulated-*.ts`, exported as `confmesh/testing`): how many random
 * runs (seeds) per second a test suite can afford, and what one simulated event costs.
 *
 * - **Seeds per second** of the network workload the determinism test uses (`test/helpers/network-workload.ts`: 6
 *   peers, lossy/duplicating/reordering links, 40 rounds of publishes and stream exchanges, a partition, a crash and
 *   a restart, then 5 s of virtual time): each run is a fresh network.
 * - **Virtual scheduler**: timer events per second (no network).
 * - **Gossip flood**: delivered messages per second and virtual-to-real time ratio, 20 fully connected peers, every
 *   peer publishing in turn.
 * - **Whole-stack random runs** (`test/helpers/simulated-mesh.ts`, what `test/integration/simulated-mesh.test.ts`
 *   runs): whole confmesh peers with random writes, rollbacks, partitions, crashes and restarts, until identical.
 *
 * Run: `npx tsx bench/simulated-network.ts` (`--quick`: fewer runs). Prints a table and replaces the
 * `simulated-network` section of `bench/RESULTS.md`, leaving other sections alone.
 *
 * @module
 */
import { performance } from 'node:perf_hooks'
import { createSimulatedNetwork } from '../src/transport/simulated-network.js'
import { createVirtualScheduler } from '../src/transport/virtual-scheduler.js'
import { mesh, networkWorkload, TOPIC } from '../test/helpers/network-workload.js'
import { randomRun } from '../test/helpers/simulated-mesh.js'
import { isMain, runMain } from './lib/cleanup.js'
import { machineLine, sampleMachine } from './lib/machine.js'
import { writeResultsSection } from './lib/results.js'
import { fmt } from './lib/stats.js'
import { printTable, renderMarkdown, type Table } from './lib/table.js'

const QUICK = process.argv.includes('--quick')
const COMMAND = `npx tsx bench/simulated-network.ts${QUICK ? ' --quick' : ''}`

/** Seeds per second of the network workload, and events per run. */
async function seedsPerSecond(runs: number): Promise<{ perSecond: number; events: number; msPerRun: number }> {
  await networkWorkload(1) // warm-up (JIT)
  let events = 0
  const start = performance.now()
  for (let seed = 100; seed < 100 + runs; seed++) events += (await networkWorkload(seed)).events
  const ms = performance.now() - start
  return { perSecond: (runs * 1000) / ms, events: events / runs, msPerRun: ms / runs }
}

/** Timer events per second of the bare virtual scheduler. */
async function schedulerEvents(count: number): Promise<number> {
  const scheduler = createVirtualScheduler()
  const clock = scheduler.clock('bench')
  let fired = 0
  for (let i = 0; i < count; i++) clock.setTimeout(() => fired++, i % 1000)
  const start = performance.now()
  await scheduler.runFor(1000)
  const ms = performance.now() - start
  if (fired !== count) throw new Error(`fired ${fired} of ${count}`)
  return (count * 1000) / ms
}

/** Gossip deliveries per second, and virtual ms per real ms, in a 20-peer full mesh. */
async function gossipFlood(messages: number): Promise<{ deliveries: number; speedup: number }> {
  const network = createSimulatedNetwork({ seed: 7, link: { latency: { minMs: 1, maxMs: 20 } } })
  const { peers, got } = await mesh(network, 20)
  const virtualStart = network.scheduler.now()
  const start = performance.now()
  for (let i = 0; i < messages; i++) {
    await network.settle(peers[i % peers.length]!.publish(TOPIC, new Uint8Array(100)))
    await network.runFor(1)
  }
  await network.runFor(100)
  const ms = performance.now() - start
  const delivered = got.reduce((n, g) => n + g.length, 0)
  if (delivered !== messages * 19) throw new Error(`delivered ${delivered} of ${messages * 19}`)
  return { deliveries: (delivered * 1000) / ms, speedup: (network.scheduler.now() - virtualStart) / ms }
}

/** Whole-stack random runs per second, at `peers` peers and 40 steps each. */
async function wholeStackSeeds(peers: number, runs: number): Promise<{ perSecond: number; events: number }> {
  await randomRun(1, { peers, steps: 10 }) // warm-up
  let events = 0
  const start = performance.now()
  for (let seed = 1000; seed < 1000 + runs; seed++) events += (await randomRun(seed, { peers, steps: 40 })).events
  return { perSecond: (runs * 1000) / (performance.now() - start), events: events / runs }
}

async function main(): Promise<void> {
  const machine = await sampleMachine()
  const runs = QUICK ? 20 : 200
  const seeds = await seedsPerSecond(runs)
  const timers = await schedulerEvents(QUICK ? 20_000 : 200_000)
  const flood = await gossipFlood(QUICK ? 200 : 1000)
  const whole3 = await wholeStackSeeds(3, QUICK ? 3 : 10)
  const whole8 = await wholeStackSeeds(8, QUICK ? 2 : 5)
  const table: Table = {
    headers: ['measure', 'value'],
    rows: [
      ['network workload (6 peers, all faults): seeds per second', fmt(seeds.perSecond, 1)],
      ['  ms per seed', fmt(seeds.msPerRun, 1)],
      ['  simulated events per seed', fmt(seeds.events, 0)],
      ['  traced events per second', fmt(seeds.perSecond * seeds.events, 0)],
      ['virtual scheduler: timer events per second', fmt(timers, 0)],
      ['gossip flood, 20 peers: deliveries per second', fmt(flood.deliveries, 0)],
      ['  virtual time per real time', `${fmt(flood.speedup, 1)}x`],
      ['whole-stack random run, 3 peers: seeds per second', fmt(whole3.perSecond, 2)],
      ['  simulated events per seed', fmt(whole3.events, 0)],
      ['whole-stack random run, 8 peers: seeds per second', fmt(whole8.perSecond, 2)],
      ['  simulated events per seed', fmt(whole8.events, 0)],
    ],
  }
  printTable('Simulated network', table)
  writeResultsSection(
    'simulated-network',
    [
      '## Simulated network: seeds per second',
      '',
      `\`${COMMAND}\` (${runs} seeds of the network workload). ${machineLine(machine)}`,
      '',
      renderMarkdown(table),
      '',
      'Each simulated event is followed by one turn of the Node event loop, so the promise chains it started settle',
      'before the next event (what makes a run replayable). A whole-stack seed runs every part of confmesh (Yjs, the',
      'ingest pipeline, history, membership heartbeats) on every peer: that, not the network, is its cost.',
    ].join('\n'),
  )
}

if (isMain(import.meta.url)) void runMain(main)
