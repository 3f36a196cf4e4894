/**
 * Churn, checked like Jepsen's set-full workload: `peers` confmesh peers as OS processes (each with its own data dir
 * and a fixed port, like a deployment), `writers` of them adding unique elements (one key each) as fast as their
 * acknowledged sets allow, while every `killEveryMs` a random peer is SIGKILLed and restarted on the same data dir
 * `restartAfterMs` later. Writers are killed too: they restart their write loop under a new generation prefix.
 *
 * After the churn every peer must converge (identical JSON and state vectors, nothing pending), and then:
 * - lost: acknowledged elements missing (or with another value) on any peer: must be 0;
 * - duplicates: elements a peer incarnation reported as added more than once (watch events): must be 0;
 * - unexpected: elements present that no writer ever attempted: must be 0;
 * - writer ids: Yjs client ids in the state vector, which must not grow by one per restart;
 * - visibility latency: from a write's acknowledgement at its writer to its change event on each other peer
 *   (per peer, and until every peer saw it), as percentiles.
 *
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import { seededRandom, TEST_TIMING } from '../../helpers/cluster.js'
import { type ChildAck, type ChildChange, type PeerProcess, spawnPeer } from '../../helpers/peer-process.js'
import { waitFor } from '../../helpers/wait-for.js'

/** Options of {@link runChurn}. */
export interface ChurnScenario {
  seed: number
  peers: number
  writers: number
  durationMs: number
  /** Default 2000. */
  killEveryMs?: number
  /** Default 500. */
  restartAfterMs?: number
  /** Pause of each writer between acknowledged sets, ms. Default 20. */
  writePauseMs?: number
  /** Give peers data dirs. `false` (memory only) is for comparing latencies without kills. Default true. */
  durable?: boolean
}

/** Latency percentiles in ms. */
export interface Percentiles {
  samples: number
  p50: number
  p95: number
  p99: number
  max: number
}

/** What {@link runChurn} measured. */
export interface ChurnReport {
  peers: number
  writers: number
  kills: number
  acknowledged: number
  lost: number
  duplicates: number
  unexpected: number
  /** Distinct Yjs client ids in the converged state vector. */
  writerIds: number
  /** After the churn stopped: time until all peers converged, ms. */
  convergeMs: number
  /**
   * Acknowledgement at the writer -> change event at another peer (one sample per element and peer), for peers that
   * were up when the write was acknowledged: push latency under churn.
   */
  perPeer: Percentiles
  /** The same for peers that were down or restarting then: the catch-up after a restart, downtime included. */
  afterRestart: Percentiles
  /** Acknowledgement at the writer -> the last peer's first change event for it. */
  allPeers: Percentiles
  /**
   * The churn target: a write is on every peer that saw it this long after the later of its acknowledgement and the
   * restart (process started, mesh created: `ready`) of the last peer that missed it (the writer too, when it was
   * killed before any other peer had the write). One sample per element seen by every other peer.
   */
  sinceRestart: Percentiles
  /** The same, from the moment the last peer that missed it was spawned (process start and mesh creation included). */
  sinceSpawn: Percentiles
}

interface ChildState {
  json: Record<string, Record<string, unknown>>
  diagnostics: { stateVector: Record<string, number>; pending: boolean; counters: Record<string, number> }
}

const NS = 'churn'

/** Runs the scenario; throws (vitest `expect`) on the first violated property. */
export async function runChurn(scenario: ChurnScenario): Promise<ChurnReport> {
  const random = seededRandom(scenario.seed)
  const killEveryMs = scenario.killEveryMs ?? 2_000
  const restartAfterMs = scenario.restartAfterMs ?? 500
  const writePauseMs = scenario.writePauseMs ?? 20
  const root = mkdtempSync(join(tmpdir(), 'confmesh-churn-'))
  const ports = await freePorts(scenario.peers)
  const writerSet = new Set(Array.from({ length: scenario.writers }, (_, i) => scenario.peers - 1 - i))
  /** Every incarnation of every peer, in start order (their `acks` and `changes` stay readable after a kill). */
  const incarnations: Array<{
    peer: number
    proc: PeerProcess
    readyAt: number
    spawnedAt: number
    killedAt?: number
  }> = []
  const live: Array<PeerProcess | undefined> = []
  const generation: number[] = Array.from({ length: scenario.peers }, () => 0)
  let bootstrap: string | undefined
  let kills = 0
  const t0 = Date.now()
  const progress = (what: string) =>
    console.log(`[churn] +${((Date.now() - t0) / 1000).toFixed(1)} s (${new Date().toISOString()}) ${what}`)

  const start = async (peer: number): Promise<PeerProcess> => {
    const spawnedAt = Date.now()
    const proc = await spawnPeer({
      mesh: {
        ...(scenario.durable === false ? {} : { dataDir: join(root, `p${peer}`) }),
        listen: [`/ip4/127.0.0.1/tcp/${ports[peer]}`],
        timing: TEST_TIMING,
        ...(bootstrap === undefined || peer === 0 ? {} : { bootstrap: [bootstrap] }),
      },
      watch: true,
      timeoutMs: 30_000,
    })
    incarnations.push({ peer, proc, readyAt: Date.now(), spawnedAt })
    live[peer] = proc
    return proc
  }
  const startWriting = (peer: number): Promise<unknown> =>
    writerSet.has(peer)
      ? live[peer]!.call('writeLoop', {
          namespace: NS,
          prefix: `w${peer}.g${generation[peer]!++}-`,
          inFlight: 1,
          pauseMs: writePauseMs,
        })
      : Promise.resolve()

  try {
    const first = await start(0)
    bootstrap = first.addresses.find((a) => a.includes(`/tcp/${ports[0]}/`)) ?? first.addresses[0]!
    await Promise.all(Array.from({ length: scenario.peers - 1 }, (_, i) => start(i + 1)))
    await waitFor(
      async () => {
        const states = await Promise.all(live.map((p) => p!.call<{ peers: unknown[] }>('state')))
        return states.every((s) => s.peers.length === scenario.peers - 1)
      },
      { timeoutMs: 60_000, intervalMs: 100, message: 'every peer to see every other as a live member' },
    )
    progress(`${scenario.peers} peers up and meshed: ${live.map((p, i) => `${i}=${p!.peerId.slice(-8)}`).join(' ')}`)
    await Promise.all(live.map((_, peer) => startWriting(peer)))

    // The churn: one random peer down at a time, on a fixed schedule. A restarted writer writes again at once.
    const began = Date.now()
    const steps = Math.floor(scenario.durationMs / killEveryMs)
    for (let step = 0; step < steps; step++) {
      const victim = Math.floor(random() * scenario.peers)
      const dying = incarnations.findLast((x) => x.peer === victim)!
      dying.killedAt = Date.now()
      await live[victim]!.kill()
      live[victim] = undefined
      kills++
      await sleep(restartAfterMs)
      await start(victim)
      await startWriting(victim)
      progress(`killed and restarted peer ${victim}`)
      await sleep(Math.max(0, began + (step + 1) * killEveryMs - Date.now()))
    }
    if (steps === 0) await sleep(scenario.durationMs)
    await Promise.all([...writerSet].map((w) => live[w]!.call('stopWriteLoop')))
    progress('writers stopped; waiting for convergence')

    // Converge.
    const stopped = Date.now()
    let states: ChildState[] = []
    await waitFor(
      async () => {
        states = await Promise.all(live.map((p) => p!.call<ChildState>('state')))
        const json = JSON.stringify(states[0]!.json[NS] ?? {})
        const sv = JSON.stringify(sorted(states[0]!.diagnostics.stateVector))
        return states.every(
          (s) =>
            !s.diagnostics.pending &&
            JSON.stringify(s.json[NS] ?? {}) === json &&
            JSON.stringify(sorted(s.diagnostics.stateVector)) === sv,
        )
      },
      { timeoutMs: 60_000, intervalMs: 200, message: `seed ${scenario.seed}: all peers to converge after the churn` },
    )
    const convergeMs = Date.now() - stopped

    // The checker.
    const acked = new Map<string, ChildAck>()
    for (const { proc } of incarnations) for (const a of proc.acks) acked.set(a.key, a)
    /** The restart of the writer that acknowledged `key`, when it was killed before any other peer saw the write
     * (until then nobody could have it). */
    const writerBackAt = (key: string, firstOtherAt: number): number | undefined => {
      const k = incarnations.findIndex((x) => x.proc.acks.some((a) => a.key === key))
      const inc = incarnations[k]
      if (inc?.killedAt === undefined || inc.killedAt > firstOtherAt) return undefined
      return incarnations.slice(k + 1).find((x) => x.peer === inc.peer)?.readyAt
    }
    const final = states[0]!.json[NS] ?? {}
    let lost = 0
    for (const s of states) {
      const read = s.json[NS] ?? {}
      for (const [key, a] of acked) if (read[key] !== a.value) lost++
    }
    const attempted = (key: string): boolean => /^w\d+\.g\d+-\d+$/.test(key)
    const unexpected = Object.keys(final).filter((k) => !attempted(k) || typeof final[k] !== 'number').length
    let duplicates = 0
    const firstSeen = new Map<string, Map<number, number>>() // key -> peer -> first change event time
    const readyAtOf = new Map<string, number>() // `${key}@${peer}` -> when the incarnation that first saw it started
    const spawnedAtOf = new Map<number, number>() // readyAt -> spawnedAt of that incarnation
    for (const { peer, proc, readyAt, spawnedAt } of incarnations) {
      spawnedAtOf.set(readyAt, spawnedAt)
      const added = new Set<string>()
      for (const c of proc.changes as ChildChange[]) {
        if (c.namespace !== NS || c.source !== 'remote') continue
        if (added.has(c.key)) duplicates++
        added.add(c.key)
        let byPeer = firstSeen.get(c.key)
        if (byPeer === undefined) {
          byPeer = new Map()
          firstSeen.set(c.key, byPeer)
        }
        if (!byPeer.has(peer) || byPeer.get(peer)! > c.at) {
          byPeer.set(peer, c.at)
          readyAtOf.set(`${c.key}@${peer}`, readyAt)
        }
      }
    }
    const perPeer: number[] = []
    const afterRestart: number[] = []
    const allPeers: number[] = []
    const sinceRestart: number[] = []
    const sinceSpawn: number[] = []
    /** sinceRestart samples grouped by what they waited for (the last peer's incarnation, the writer's restart). */
    const slow = new Map<string, { count: number; max: number; key: string }>()
    for (const [key, a] of acked) {
      const writer = Number(key.slice(1, key.indexOf('.')))
      const seen = firstSeen.get(key)
      if (seen === undefined) continue
      for (const [peer, at] of seen) {
        if (peer === writer) continue
        const upSince = readyAtOf.get(`${key}@${peer}`)!
        ;(upSince <= a.at ? perPeer : afterRestart).push(Math.max(0, at - a.at))
      }
      const others = [...seen].filter(([p]) => p !== writer)
      if (others.length === scenario.peers - 1) {
        const visibleAt = Math.max(...others.map(([, at]) => at))
        allPeers.push(Math.max(0, visibleAt - a.at))
        // The later of the acknowledgement and the (re)start of each peer whose incarnation first saw it.
        const upAt = others.map(([p]) => readyAtOf.get(`${key}@${p}`)!)
        const back = writerBackAt(key, Math.min(...others.map(([, at]) => at)))
        if (back !== undefined) upAt.push(back)
        const since = Math.max(0, visibleAt - Math.max(a.at, ...upAt))
        sinceRestart.push(since)
        const last = others.find(([, at]) => at === visibleAt)!
        const cause =
          `last seen on peer ${last[0]} (incarnation ready at +${Math.round(readyAtOf.get(`${key}@${last[0]}`)! - t0)} ms)` +
          (back === undefined ? '' : `, writer back at +${Math.round(back - t0)} ms`)
        const group = slow.get(cause) ?? { count: 0, max: 0, key }
        if (since > 500) group.count++
        if (since >= group.max) Object.assign(group, { max: since, key })
        slow.set(cause, group)
        sinceSpawn.push(Math.max(0, visibleAt - Math.max(a.at, ...upAt.map((r) => spawnedAtOf.get(r) ?? r))))
      }
    }
    // The slowest groups of samples of the target metric (who saw them last, and when its incarnation started): the
    // first thing to read when p99 moves.
    for (const [cause, g] of [...slow].sort(([, x], [, y]) => y.max - x.max).slice(0, 8))
      console.log(
        `[churn] sinceRestart max ${Math.round(g.max)} ms (${g.key}), ${g.count} samples over 500 ms: ${cause}`,
      )
    expect(acked.size, 'writers acknowledged writes').toBeGreaterThan(0)
    return {
      peers: scenario.peers,
      writers: scenario.writers,
      kills,
      acknowledged: acked.size,
      lost,
      duplicates,
      unexpected,
      writerIds: Object.keys(states[0]!.diagnostics.stateVector).length,
      convergeMs,
      perPeer: percentiles(perPeer),
      afterRestart: percentiles(afterRestart),
      allPeers: percentiles(allPeers),
      sinceRestart: percentiles(sinceRestart),
      sinceSpawn: percentiles(sinceSpawn),
    }
  } finally {
    await Promise.all(live.map((p) => p?.kill()))
    rmSync(root, { recursive: true, force: true })
  }
}

function percentiles(xs: number[]): Percentiles {
  const s = [...xs].sort((a, b) => a - b)
  const at = (q: number) => (s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))]!)
  const round = (x: number) => Math.round(x * 10) / 10
  return { samples: s.length, p50: round(at(0.5)), p95: round(at(0.95)), p99: round(at(0.99)), max: round(at(1)) }
}

function sorted(sv: Record<string, number>): Array<[string, number]> {
  return Object.entries(sv).sort(([a], [b]) => Number(a) - Number(b))
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** `n` distinct TCP ports that were free a moment ago on 127.0.0.1. */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer()
          s.once('error', reject)
          s.listen(0, '127.0.0.1', () => resolve(s))
        }),
    ),
  )
  const ports = servers.map((s) => (s.address() as { port: number }).port)
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  return ports
}
