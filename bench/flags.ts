/**
 * Question: how fast is a feature-flag evaluation through confmesh, next to a plain `get`?
 *
 * One mesh in this process (no network on any measured path) loads `examples/feature-flags.flagd.json`. Measured, each
 * on its own: `mesh.get` (and `get` of a key under an active rollout this peer is in: the overlay's cost), the
 * provider's synchronous resolve (what the OpenFeature SDK calls) for a static flag, a flag with `if`/`ends_with`/
 * `sem_ver` targeting and a `fractional` split, the same through the OpenFeature SDK client (`await
 * client.getXValue`: hooks, context merge, promise), and what a schema adds to a local write (`set`, awaited).
 * Rates: calls in a tight loop for `--ms` (default 1000) after a warm-up, per CPU-second and per wall second; p99: every call of a second pass timed alone
 * with `performance.now()` (timer cost included, ~0.1 µs). Contexts rotate over 1,000 targeting keys.
 * Writes the `flags` section of bench/RESULTS.md.
 *
 * Run: `npx tsx bench/flags.ts [--quick] [--ms=1000]`
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { OpenFeature } from '@openfeature/server-sdk'
import { type ConfigMesh, ConfmeshProvider, createMesh } from '../src/index.js'
import { isMain, runMain } from './lib/cleanup.js'
import { parseCli } from './lib/cli.js'
import { machineLine, sampleMachine, warnIfBusy } from './lib/machine.js'
import { writeResultsSection } from './lib/results.js'
import { fmt, summarize } from './lib/stats.js'
import { printTable, renderMarkdown, type Table } from './lib/table.js'

/** One measured operation. */
interface Row {
  label: string
  /** calls per CPU-second of this process (the fair figure on a shared machine) */
  perCpuSecond: number
  /** calls per wall-clock second */
  perSecond: number
  p50us: number
  p99us: number
}

type Op = (i: number) => unknown

/** Calls per second of `op` over `ms`, then p50/p99 of single calls (µs). Async ops are awaited one by one. */
async function measure(label: string, op: Op, ms: number, isAsync = false): Promise<Row> {
  const run = async (until: number): Promise<number> => {
    let n = 0
    while (performance.now() < until) {
      for (let k = 0; k < 256; k++, n++) {
        if (isAsync) await op(n)
        else op(n)
      }
    }
    return n
  }
  await run(performance.now() + Math.min(ms, 300)) // warm-up: JIT, caches
  const cpu = process.cpuUsage()
  const start = performance.now()
  const n = await run(start + ms)
  const perSecond = n / ((performance.now() - start) / 1000)
  const used = process.cpuUsage(cpu)
  const perCpuSecond = n / ((used.user + used.system) / 1e6)
  const samples: number[] = []
  const count = Math.min(100_000, Math.max(10_000, Math.round(perSecond / 10)))
  for (let i = 0; i < count; i++) {
    const t = performance.now()
    if (isAsync) await op(i)
    else op(i)
    samples.push((performance.now() - t) * 1000)
  }
  const s = summarize(samples)
  return { label, perCpuSecond, perSecond, p50us: s.p50, p99us: s.p99 }
}

/** Runs the flag benchmark and prints its table. */
export async function runFlagsBench(options: { argv?: string[]; write?: boolean } = {}): Promise<Row[]> {
  const cli = parseCli(options.argv)
  const ms = cli.num('ms', cli.quick ? 300 : 1000)
  const machine = await sampleMachine()
  warnIfBusy(machine)
  const mesh: ConfigMesh = await createMesh()
  const rows: Row[] = []
  try {
    await mesh.importFlags(readFileSync(new URL('../examples/feature-flags.flagd.json', import.meta.url), 'utf8'))
    await mesh.update({ 'search.timeoutMs': 200, 'rolled.key': 1 })
    await mesh.rollout('default', 'rolled.key', 2, { peers: [mesh.peerId] })
    const provider = new ConfmeshProvider(mesh)
    await OpenFeature.setProviderAndWait('bench', provider)
    const client = OpenFeature.getClient('bench')
    const contexts = Array.from({ length: 1_000 }, (_, i) => ({
      targetingKey: `user-${i}`,
      email: i % 3 === 0 ? `u${i}@example.com` : `u${i}@other.org`,
      appVersion: `${1 + (i % 3)}.${i % 10}.0`,
    }))
    const ctx = (i: number) => contexts[i % 1_000]!

    rows.push(await measure('mesh.get (plain key)', () => mesh.get('search.timeoutMs'), ms))
    rows.push(await measure('mesh.get (key under a rollout this peer is in)', () => mesh.get('rolled.key'), ms))
    rows.push(await measure('provider, static flag', () => provider.resolve('boolean', 'new-checkout', false), ms))
    rows.push(
      await measure(
        'provider, targeting (if/ends_with/sem_ver)',
        (i) => provider.resolve('number', 'discount', 0, ctx(i)),
        ms,
      ),
    )
    rows.push(
      await measure('provider, fractional split', (i) => provider.resolve('string', 'header-color', '', ctx(i)), ms),
    )
    rows.push(await measure('SDK client, static flag', () => client.getBooleanValue('new-checkout', false), ms, true))
    rows.push(await measure('SDK client, targeting', (i) => client.getNumberValue('discount', 0, ctx(i)), ms, true))
    rows.push(
      await measure('SDK client, fractional split', (i) => client.getStringValue('header-color', '', ctx(i)), ms, true),
    )
    // what a schema adds to a local write (awaited sets: one change set each)
    rows.push(await measure('set (no schema)', (i) => mesh.set('limit', i % 1000), ms, true))
    await mesh.setSchema('default', 'limit', { type: 'integer', minimum: 0, maximum: 1000 })
    rows.push(await measure('set (schema on the key)', (i) => mesh.set('limit', i % 1000), ms, true))
  } finally {
    await OpenFeature.close()
    await mesh.stop()
  }

  const table: Table = {
    headers: ['operation', 'calls / CPU-second', 'calls/s (wall)', 'p50 µs', 'p99 µs'],
    rows: rows.map((r) => [r.label, fmt(r.perCpuSecond, 0), fmt(r.perSecond, 0), fmt(r.p50us, 2), fmt(r.p99us, 2)]),
  }
  printTable('flags: evaluations per second, in process', table)
  if (options.write !== false) {
    const get = rows[0]!.perCpuSecond
    const ratio = (label: string) => fmt(get / rows.find((r) => r.label === label)!.perCpuSecond, 1)
    writeResultsSection(
      'flags',
      [
        '## Feature flags, rollouts and schemas: in-process cost',
        '',
        machineLine(machine),
        '',
        `Command: \`npx tsx bench/flags.ts${cli.quick ? ' --quick' : ''}\`. One mesh, \`examples/feature-flags.flagd.json\` loaded; calls in a tight loop for ${ms} ms after a warm-up, per CPU-second of this process (the fair figure on a shared machine: the loop is single-threaded) and per wall-clock second; p50/p99 = single calls timed alone (timer cost ~0.1 µs included). Contexts rotate over 1,000 targeting keys. "provider" = \`ConfmeshProvider.resolve\` (what the SDK calls); "SDK client" = \`await client.getXValue\` through \`@openfeature/server-sdk\`.`,
        '',
        renderMarkdown(table),
        '',
        `Per CPU-second, a static flag costs ${ratio('provider, static flag')}x a plain \`get\` through the provider and ${ratio('SDK client, static flag')}x through the SDK client; targeting ${ratio('provider, targeting (if/ends_with/sem_ver)')}x (provider). Issue goals: > 1M/s static, > 100k/s with targeting.`,
      ].join('\n'),
    )
  }
  return rows
}

if (isMain(import.meta.url)) await runMain(async () => void (await runFlagsBench()))
