/**
 * A long partition on the simulated network (virtual time, seeded, replayable): 6 whole peers split 3/3, both sides
 * write unique keys and fight over a few hot keys, then the network heals. The merge of the two sides is over the
 * per-update conflict-cost bound as one update (the guard's estimate assumes the worst integration order), which used
 * to be refused and fetched again in 64 parts; now every catch-up reply is applied in causal slices.
 *
 * Checked: every replica identical (JSON, state vector, history, nothing pending); no update refused on any peer
 * (`applier.refused.*`), and the sliced path actually ran; every key's winner equals a replay of every write of both
 * sides merged with plain Yjs in one document under the one last-writer-wins rule; and every replica's reads equal a
 * full rescan of its own final document (so a stale incremental winner index cannot hide behind a matching replay).
 * The heal must converge within {@link HEAL_BOUND_MS} of VIRTUAL time (issue 11's bound): virtual time is a function of
 * the seed alone, so this cannot fail on a busy machine; a seed that breaks it is a finding to replay. Measured over 30
 * seeds: 0.6-3.3 s, median 1.9 s. Before: up to 18.1 s (seed 579412705 at f4440bf: a stream open lost with its
 * connection at the partition held a joiner's pulls for the 30 s catch-up deadline) and 6.0 s (seed 3297365154 at
 * 7d6cccb: SWIM messages waited behind a dial into the partition after the heal). Wall time is printed, not asserted
 * (bench/heal.ts measures the heal on real sockets). Each run takes about 11 s of one core. The first test runs a fresh
 * random seed (printed; `CONFMESH_SEED` replays it), the second the pinned seed of a past oracle bug (see
 * {@link replayWinners}).
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { ENTRIES_ROOT, isStoredEntry, type StoredEntry } from '../../src/doc/entry.js'
import { compareCarried } from '../../src/doc/lww.js'
import type { ConfigMesh } from '../../src/index.js'
import { seedFromEnv } from '../../src/transport/seeded-random.js'
import { createSimulatedNetwork } from '../../src/transport/simulated-network.js'
import { SimulatedCluster } from '../helpers/simulated-mesh.js'

const NS = 'partition'
/** Longest virtual time from the heal to identical replicas and complete rings everywhere (issue 11: 5 s). */
const HEAL_BOUND_MS = 5_000
/** Virtual time both sides write; long enough that the merge is over the bound as one update (measured: 2-3x). */
const WRITE_MS = Number(process.env.CONFMESH_HEAL_WRITE_MS ?? 8_000)

/** The document behind a mesh (test-only access: the reference replay reads the raw entries). */
const docOf = (mesh: ConfigMesh): Y.Doc => (mesh as unknown as { p: { doc: Y.Doc } }).p.doc

/**
 * `namespace/key` -> value of the winning entry, from plain Yjs and the last-writer-wins rule.
 *
 * `states` must hold EVERY write: pass the state of every peer (each peer's own document holds all of its own writes
 * the moment `set` settles), never one peer per side. Seed 3797097241 failed with a replay of peers 0 and 3 only: the
 * writing loop stops right after its last round, when peer 2's last write `hot-12 = p2#3158` had reached peer 1 but
 * not yet peer 0, so the replay lacked it (and `p1#3157`, `p4#3160`) and expected the older `p4#3118`. The mesh was
 * right: its final document has the state vector of the union of all six, and a full rescan of it picks `p2#3158`.
 */
function replayWinners(states: Uint8Array[]): Map<string, unknown> {
  const doc = new Y.Doc()
  for (const s of states) Y.applyUpdate(doc, s)
  const best = new Map<string, { e: StoredEntry; id: Y.ID }>()
  for (let item = doc.getArray(ENTRIES_ROOT)._start; item !== null; item = item.right) {
    if (item.deleted) continue
    item.content.getContent().forEach((e: unknown, i: number) => {
      if (!isStoredEntry(e)) return
      const id = Y.createID(item.id.client, item.id.clock + i)
      const key = `${e.n}/${e.k}`
      const cur = best.get(key)
      if (cur === undefined || compareCarried(e, id, cur.e, cur.id) > 0) best.set(key, { e, id })
    })
  }
  return new Map(
    [...best].filter(([k]) => k.startsWith(`${NS}/`)).map(([k, { e }]) => [k, e.x === 1 ? undefined : e.v]),
  )
}

/** Every replica's reads against a full rescan of its own final document (the incremental index is not stale). */
function expectReadsMatchRescan(mesh: ConfigMesh): void {
  const rescan = replayWinners([Y.encodeStateAsUpdate(docOf(mesh))])
  const ns = mesh.namespace(NS)
  for (const [key, value] of rescan)
    expect(ns.get(key.slice(NS.length + 1)), `${key} on ${mesh.peerId}: read vs rescan`).toEqual(value)
}

/** One whole run: partition, writes on both sides, heal, and every check of the module header. */
async function partitionHeal(seed: number): Promise<void> {
  const started = Date.now()
  const network = createSimulatedNetwork({ seed, link: { latency: { minMs: 1, maxMs: 10 }, loss: 0 } })
  const cluster = await SimulatedCluster.start(network, 6)
  const ids = cluster.peers.map((p) => p.id)
  network.partition([ids.slice(0, 3), ids.slice(3)])
  await network.runUntil(() => cluster.running().every((m) => m.peers().length === 2), {
    what: 'each side to see only itself',
  })
  const rnd = network.random.fork('writes')
  const written = new Set<string>()
  const end = network.scheduler.now() + WRITE_MS
  let writes = 0
  while (network.scheduler.now() < end) {
    for (const [i, peer] of cluster.peers.entries()) {
      const key = rnd.chance(0.3) ? `hot-${rnd.int(0, 15)}` : `p${i}-${writes}`
      await network.settle(peer.mesh!.namespace(NS).set(key, `p${i}#${writes}`))
      written.add(`${NS}/${key}`)
      writes++
    }
    await network.runFor(rnd.int(5, 25))
  }
  const meshes = cluster.running()
  // Every peer's state, not one per side: the last writes may not have crossed their own side yet.
  const replay = replayWinners(meshes.map((m) => Y.encodeStateAsUpdate(docOf(m))))
  expect(new Set(replay.keys()), 'the replay holds every key written').toEqual(written)

  const healedAt = network.scheduler.now()
  const wallHeal = Date.now()
  network.heal()
  let checkedAt = Number.NEGATIVE_INFINITY
  await network.runUntil(
    () => {
      if (network.scheduler.now() - checkedAt < 50) return false
      checkedAt = network.scheduler.now()
      return cluster.converged()
    },
    { what: 'every replica identical after the heal', limitMs: 120_000 },
  )
  const healMs = network.scheduler.now() - healedAt
  const counters = meshes.map((m) => m.diagnostics().counters)
  const refused = counters.flatMap((c) =>
    Object.entries(c).filter(([k, v]) => k.startsWith('applier.refused.') && v > 0),
  )
  const sliced = counters.reduce((n, c) => n + (c['applier.sliced'] ?? 0), 0)
  console.log(
    `[partition heal sim] seed=${seed} writes=${writes} heal->converged ${healMs.toFixed(0)} ` +
      `virtual ms, ${Date.now() - wallHeal} wall ms; replies sliced ${sliced}; refused ${JSON.stringify(refused)}; ` +
      `total ${((Date.now() - started) / 1000).toFixed(1)} s (replay with CONFMESH_SEED=${seed})`,
  )
  expect(refused).toEqual([])
  expect(healMs, `virtual ms from the heal to convergence (seed ${seed})`).toBeLessThanOrEqual(HEAL_BOUND_MS)
  expect(sliced, 'the merge went through the sliced path (else the scenario is too short to test it)').toBeGreaterThan(
    0,
  )
  for (const m of meshes) {
    expectReadsMatchRescan(m)
    const ns = m.namespace(NS)
    for (const [key, value] of replay) expect(ns.get(key.slice(NS.length + 1)), `${key} on ${m.peerId}`).toEqual(value)
    expect(ns.keys().length).toBe(replay.size)
  }
}

/** The seed whose last writes had not crossed their own side when the old replay (peers 0 and 3 only) was taken. */
const PINNED_SEED = 3797097241

describe('partition heal on the simulated network', () => {
  it('6 peers split 3/3 write on both sides; the heal converges within 5 virtual s, refuses nothing, picks the replayed winners', async () => {
    await partitionHeal(seedFromEnv())
  }, 300_000)

  it.skipIf(process.env.CONFMESH_SEED !== undefined)(
    `regression: seed ${PINNED_SEED} (a winner written in the last round, before it crossed its side)`,
    async () => {
      await partitionHeal(PINNED_SEED)
    },
    300_000,
  )
})
