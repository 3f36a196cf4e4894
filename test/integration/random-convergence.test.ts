import { afterEach, describe, expect, it } from 'vitest'
import { type ConfigMesh, UnknownVersionError, VersionPrunedError } from '../../src/index.js'
import {
  NetworkControl,
  reconnectAll,
  replicaState,
  seededRandom,
  startCluster,
  stopAll,
  testSeed,
  waitForConvergence,
} from '../helpers/cluster.js'

let meshes: ConfigMesh[] = []
afterEach(async () => {
  await stopAll(meshes)
  meshes = []
})

describe('seeded randomized convergence with real peers', () => {
  it('5 peers, random sets/deletes on random peers, random disconnects and reconnects: identical replicas', async () => {
    const seed = testSeed('random convergence')
    const rand = seededRandom(seed)
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!
    const network = new NetworkControl()
    meshes = await startCluster(5, { network, retention: { versions: 25 } }) // small: pruning happens too
    const isolated = new Set<ConfigMesh>()
    const keys = ['a', 'b', 'c', 'd', 'e', 'f']
    const namespaces = ['default', 'payments', 'flags']
    let ops = 0
    const versions: string[] = [] // versions seen on random peers: rollback targets (maybe unknown elsewhere, or pruned)
    let rollbacks = 0
    for (let step = 0; step < 150; step++) {
      const p = rand()
      const m = pick(meshes)
      if (p < 0.55) {
        await m.namespace(pick(namespaces)).set(pick(keys), { step, by: m.peerId.slice(-4), n: rand() })
        ops++
        versions.push(m.version().id)
      } else if (p < 0.7) {
        await m.namespace(pick(namespaces)).delete(pick(keys))
        ops++
      } else if (p < 0.78 && isolated.size < 2) {
        isolated.add(m)
        await network.split([meshes.filter((x) => !isolated.has(x)), ...[...isolated].map((x) => [x])])
      } else if (p < 0.83 && isolated.size > 0) {
        isolated.clear()
        network.heal()
        await reconnectAll(meshes)
      } else if (p >= 0.83 && p < 0.9 && versions.length > 0) {
        const ns = pick(namespaces)
        const scope = pick([undefined, { namespace: ns }, { namespace: ns, keys: [pick(keys), pick(keys)] }])
        try {
          // refused at once when this peer lacks the version (an isolated peer): pulling for it is tested in
          // versions.test.ts; here its extra catch-up rounds (seconds each on a loaded machine) only slow the run
          await m.rollback(pick(versions.slice(-20)), { ...scope, timeoutMs: 0 })
          rollbacks++
          ops++
        } catch (err) {
          if (!(err instanceof UnknownVersionError || err instanceof VersionPrunedError)) throw err
        }
      }
      // think time between operations (workload pacing, not synchronisation)
      if (rand() < 0.3) await new Promise((r) => setTimeout(r, Math.floor(rand() * 15)))
      else await new Promise((r) => setImmediate(r))
    }
    network.heal()
    await reconnectAll(meshes)
    await waitForConvergence(meshes, 30_000)
    const states = meshes.map(replicaState)
    for (const s of states) {
      expect(s.pending).toBe(false)
      expect(s.json).toBe(states[0]!.json)
      expect(s.stateVector).toBe(states[0]!.stateVector)
    }
    const histories = meshes.map((m) => JSON.stringify(m.history()))
    for (const [i, m] of meshes.entries()) {
      expect(histories[i]).toBe(histories[0])
      expect(JSON.stringify(m.at(m.version()).toJSONAll())).toBe(states[i]!.json)
    }
    console.log(
      `[random convergence] seed=${seed}: ${ops} writes (${rollbacks} rollbacks), final ${states[0]!.json.length} bytes of JSON`,
    )
  })
})
