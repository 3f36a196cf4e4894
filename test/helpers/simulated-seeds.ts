/**
 * Many seeds of the whole-stack random run (`simulated-mesh.ts`), shared by `npm test`
 * (`test/integration/simulated-mesh.test.ts`) and the slow suite (`test/faults/simulated-mesh.test.ts`): runs seeds
 * `base .. base + count - 1`, prints the failing seed with the command that replays it, and prints seeds per second.
 *
 * @module
 */
import { appendFileSync } from 'node:fs'
import { hash32 } from '../../src/transport/seeded-random.js'
import { type RandomRunOptions, randomRun } from './simulated-mesh.js'

/**
 * Prints a line, and appends it to the file `CONFMESH_SIM_PROGRESS` names (vitest shows a test's output only when
 * it ends: a long slow-suite run can be followed there).
 */
function progress(line: string): void {
  console.log(line)
  const file = process.env.CONFMESH_SIM_PROGRESS
  if (file !== undefined && file !== '') appendFileSync(file, `${new Date().toISOString()} ${line}\n`)
}

/** Options of {@link runSeeds}. */
export interface SeedsOptions {
  /** First seed. */
  base: number
  /** How many seeds. */
  count: number
  /** Largest mesh: a seed runs `3 + seed % (maxPeers - 2)` peers. */
  maxPeers: number
  /** Every `writersEvery`-th seed runs a private mesh (`RandomRunOptions.writers`); 0: none. */
  writersEvery: number
  /** Random operations per run. Default 40. */
  steps?: number
  /** Seeds that once failed, run first. Default none. */
  regressions?: readonly number[]
  /** Label of the printed lines. */
  label: string
}

/** The options of one seed: its peer count and whether it runs a private mesh. */
export function seedOptions(
  seed: number,
  o: Pick<SeedsOptions, 'maxPeers' | 'writersEvery' | 'steps'>,
): RandomRunOptions {
  return {
    peers: 3 + (seed % (o.maxPeers - 2)),
    steps: o.steps ?? 40,
    writers: o.writersEvery > 0 && hash32(`writers:${seed}`) % o.writersEvery === 0,
  }
}

/** Runs the seeds; throws the first failure after printing how to replay it. Returns what it printed. */
export async function runSeeds(o: SeedsOptions): Promise<{ seconds: number; ops: number; private: number }> {
  const started = Date.now()
  let ops = 0
  let privateRuns = 0
  let writerChanges = 0
  let refused = 0
  const leases: Record<string, number> = {}
  const seeds = [...(o.regressions ?? []), ...Array.from({ length: o.count }, (_, i) => (o.base + i) >>> 0)]
  for (const [i, seed] of seeds.entries()) {
    if (i > 0 && i % (process.env.CONFMESH_SIM_PROGRESS ? 10 : 100) === 0) {
      const sec = (Date.now() - started) / 1000
      progress(`[${o.label}] ${i} seeds passed in ${sec.toFixed(0)} s (${(i / sec).toFixed(2)} seeds/s)`)
    }
    const options = seedOptions(seed, o)
    try {
      const r = await randomRun(seed, options)
      ops += r.ops
      writerChanges += r.writerChanges
      refused += r.refused
      for (const [k, v] of Object.entries(r.leases)) leases[k] = (leases[k] ?? 0) + v
      if (options.writers) privateRuns++
    } catch (err) {
      progress(
        `[${o.label}] seed ${seed} (${options.peers} peers${options.writers ? ', writer set' : ''}) failed; replay: ` +
          `CONFMESH_SEED=${seed} CONFMESH_SIM_SEEDS=1`,
      )
      throw err
    }
  }
  const seconds = (Date.now() - started) / 1000
  progress(
    `[${o.label}] ${seeds.length} seeds from ${o.base} (${privateRuns} with a writer set) in ${seconds.toFixed(1)} s ` +
      `(${(seeds.length / seconds).toFixed(2)} seeds/s), ${ops} writes, ${writerChanges} writer-set changes, ` +
      `${refused} writes refused, leases ${JSON.stringify(leases)}`,
  )
  return { seconds, ops, private: privateRuns }
}
