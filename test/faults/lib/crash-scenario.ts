/**
 * Crash safety of a mesh peer with a data dir, with real OS processes: a writer process writes continuously
 * (`writeLoop`, several sets in flight) and reports every acknowledged set; it is SIGKILLed at a seeded random moment,
 * restarted on the same data dir, and so on for `rounds` rounds. An observer peer (in this process) receives
 * everything the writer gossips or serves.
 *
 * Checked after every restart: the store opens (no error), every write acknowledged in any earlier round is there,
 * the previous run is reported as unclean, and the writer id was reused (one Yjs client id across all rounds: the
 * state vector does not grow per restart). Checked at the end: writer and observer converge to identical JSON and
 * state vectors, which they would not if a change had left the writer before it was durable and the writer had then
 * reused its (client id, clock) pairs for different content.
 *
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import type { ConfigMesh } from '../../../src/index.js'
import { seededRandom, startMesh, TEST_TIMING } from '../../helpers/cluster.js'
import { type PeerProcess, spawnPeer } from '../../helpers/peer-process.js'
import { waitFor } from '../../helpers/wait-for.js'

/** Options of {@link runCrashRounds}. */
export interface CrashScenario {
  rounds: number
  seed: number
  /** Longest wait after the first acknowledged write of a round before the kill, in ms. Default 400. */
  maxRunMs?: number
}

/** Result of {@link runCrashRounds}, for the test's printout. */
export interface CrashReport {
  rounds: number
  acknowledged: number
  /** Acknowledged writes missing after a restart (must be 0). */
  lost: number
  /** Writes that were not acknowledged before the kill but survived anyway (durable, ack not yet sent). */
  survivedUnacked: number
  /** Distinct Yjs client ids the writer wrote under over all rounds (1 = reused every time). */
  writerIds: number
  /** Client ids in the final state vector (the writer's, and the observer's if its history retention pruned). */
  stateVectorEntries: number
  /** Time from the final restart to convergence with the observer, ms. */
  convergeMs: number
  totalMs: number
}

interface ChildState {
  json: Record<string, Record<string, unknown>>
  diagnostics: { stateVector: Record<string, number>; pending: boolean; counters: Record<string, number> }
}

const NS = 'crash'

/** Runs the scenario; throws (vitest `expect`) on the first violated property. */
export async function runCrashRounds(scenario: CrashScenario): Promise<CrashReport> {
  const started = Date.now()
  const random = seededRandom(scenario.seed)
  const maxRunMs = scenario.maxRunMs ?? 400
  const root = mkdtempSync(join(tmpdir(), 'confmesh-crash-mesh-'))
  const dataDir = join(root, 'writer')
  const acked = new Map<string, number>()
  const writerIds = new Set<string>()
  let observer: ConfigMesh | undefined
  let child: PeerProcess | undefined
  let survivedUnacked = 0
  let lost = 0
  const spawnWriter = () =>
    spawnPeer({ mesh: { dataDir, timing: TEST_TIMING, bootstrap: [observer!.addresses[0]!] }, timeoutMs: 30_000 })

  /** Every acknowledged write is in the writer's store; counts the unacknowledged survivors of the last round. */
  const verify = async (p: PeerProcess, context: string, previousRoundKeys: string[]): Promise<ChildState> => {
    const state = await p.call<ChildState>('state')
    const stored = state.json[NS] ?? {}
    for (const [key, value] of acked) {
      if (stored[key] !== value) {
        lost++
        expect.fail(`${context}: acknowledged write ${key}=${value} is missing (found ${JSON.stringify(stored[key])})`)
      }
    }
    survivedUnacked += previousRoundKeys.filter((k) => k in stored && !acked.has(k)).length
    writerIds.add(String(state.diagnostics.counters['storage.writerId']))
    return state
  }

  try {
    observer = await startMesh()
    let lastRoundKeys: string[] = []
    for (let round = 0; round < scenario.rounds; round++) {
      const context = `seed ${scenario.seed}, round ${round}`
      child = await spawnWriter()
      const state = await verify(child, context, lastRoundKeys)
      if (round > 0) {
        expect(state.diagnostics.counters['storage.uncleanStart'], `${context}: unclean start reported`).toBe(1)
        expect(state.diagnostics.counters['storage.writerReused'], `${context}: writer id reused`).toBe(1)
        expect(state.diagnostics.pending, `${context}: no gap in the stored log`).toBe(false)
      }
      const inFlight = 1 + Math.floor(random() * 8)
      const prefix = `r${round}-`
      const waitMs = Math.floor(random() * maxRunMs)
      await child.call('writeLoop', { namespace: NS, prefix, inFlight })
      await waitFor(() => child!.acks.length > 0, { message: `${context}: a first acknowledged write` })
      if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs))
      await child.kill()
      for (const a of child.acks) acked.set(a.key, a.value)
      // Keys the child may have written but not acknowledged: everything up to the highest index handed out.
      const highest = Math.max(...child.acks.map((a) => a.value)) + inFlight
      lastRoundKeys = Array.from({ length: highest + 1 }, (_, i) => `${prefix}${i}`)
      child = undefined
    }

    child = await spawnWriter()
    const last = await verify(child, `seed ${scenario.seed}, final restart`, lastRoundKeys)
    const restarted = Date.now()
    const final = child
    await waitFor(
      async () => {
        const s = await final.call<ChildState>('state')
        const theirs = JSON.stringify(s.json[NS] ?? {})
        const ours = JSON.stringify(observer!.namespace(NS).toJSON())
        const svOurs = JSON.stringify(sortedVector(observer!.diagnostics().stateVector))
        return (
          !s.diagnostics.pending &&
          theirs === ours &&
          JSON.stringify(sortedVector(s.diagnostics.stateVector)) === svOurs
        )
      },
      { timeoutMs: 30_000, intervalMs: 50, message: `seed ${scenario.seed}: writer and observer to converge` },
    )
    const convergeMs = Date.now() - restarted
    for (const [key, value] of acked) expect(observer.namespace(NS).get(key), `observer has ${key}`).toBe(value)
    return {
      rounds: scenario.rounds,
      acknowledged: acked.size,
      lost,
      survivedUnacked,
      writerIds: writerIds.size,
      stateVectorEntries: Object.keys(last.diagnostics.stateVector).length,
      convergeMs,
      totalMs: Date.now() - started,
    }
  } finally {
    await child?.kill()
    await observer?.stop().catch(() => {})
    rmSync(root, { recursive: true, force: true })
  }
}

function sortedVector(sv: Record<string, number>): Array<[string, number]> {
  return Object.entries(sv).sort(([a], [b]) => Number(a) - Number(b))
}
