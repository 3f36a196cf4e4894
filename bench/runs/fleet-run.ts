/**
 * One fleet measurement: N real confmesh peers (each a libp2p node on its own TCP port on 127.0.0.1), K per OS
 * process (peer hosts, test/helpers/peer-host/), one membership protocol. In order: formation (time until every peer
 * sees all N-1 others), an idle window (process CPU and traffic per peer), propagation (closed-loop writes on random
 * peers, time until every other peer's watch fired), a crash (SIGKILL of the process of one peer, which runs alone,
 * time until every other peer dropped it). Every timestamp is the machine-wide monotonic clock (bench/lib/clock.ts), taken in the process
 * where the event happened.
 *
 * All peers share one IP, which a fleet does not: libp2p's per-IP inbound limits are lifted (`colocated`), as if each
 * host had its own address.
 *
 * @module
 */
import { type HostEvent, type PeerHost, spawnHost, stopHosts } from '../../test/helpers/peer-host/host.js'
import type { HostMeshOptions, HostStats, PeerInit } from '../../test/helpers/peer-host/protocol.js'
import { onCleanup } from '../lib/cleanup.js'
import { nowMs } from '../lib/clock.js'
import { type Summary, summarize } from '../lib/stats.js'
import { seededRandom } from '../peers/cluster.js'

/** Options of {@link runFleet}. */
export interface FleetInit {
  peers: number
  /** Peers per process. */
  perHost: number
  /** Mesh options of every peer (the membership protocol, timing). */
  mesh: HostMeshOptions
  /** Give formation this long before measuring what formed, ms. */
  formTimeoutMs: number
  /** Pause between full membership and the idle window (join syncs finish), ms. */
  settleMs: number
  /** Length of the idle window, ms. */
  idleMs: number
  /** Closed-loop writes for propagation (0: skip). */
  writes: number
  /** A write not seen by every peer within this many ms counts as missed, ms. */
  deliveryTimeoutMs: number
  /** Give the survivors this long to drop the crashed host's peers, ms (0: skip the crash). */
  crashTimeoutMs: number
  seed: number
  log: (line: string) => void
}

/** What {@link runFleet} measured (NaN where a phase did not run or did not complete). */
export interface FleetResult {
  peers: number
  hosts: number
  /** Time from the first spawn until every peer saw N-1 members, ms (NaN: did not form). */
  formMs: number
  /** Time from the moment the last process had started all its peers until every peer saw N-1 members, ms. */
  formAfterStartMs: number
  /** Peers that saw all N-1 others by the formation deadline, and the fewest members any peer saw. */
  formed: number
  minMembers: number
  /** Idle CPU per peer, % of one core (process CPU of every host over the window / peers). */
  idleCpuPct: number
  /** Idle messages received per peer per second at the transport seam (topic messages + stream frames). */
  idleMsgsPerSec: number
  /** Idle payload bytes received per peer per second at the seam, and all bytes the processes read (sockets). */
  idleBytesPerSec: number
  idleReadBytesPerSec: number
  rssPerPeerMiB: number
  /** Worst process's event-loop delay p99 over the settle window before the idle one, ms: how starved of CPU the peers were. */
  lagP99Ms: number
  /**
   * SWIM events in the idle window (no peer crashed then, so all are false): suspicions raised per peer per second
   * and members declared down (summed over every observer); and the same counts from the start to the end of
   * formation. NaN for heartbeat membership (no counters).
   */
  idleSuspectsPerSec: number
  idleDowns: number
  formSuspects: number
  formDowns: number
  /** Propagation per (write, receiver) and per write (until the last receiver), ms. */
  delivery: Summary
  perWrite: Summary
  /**
   * CPU time of every host over the propagation phase beyond the idle window's rate, per write, ms (every peer's
   * share: receive, verify, apply, forward, gossipsub's IHAVE, the watch events reported to the parent).
   */
  cpuPerWriteMs: number
  missed: number
  /** Time from SIGKILL of one host until every survivor dropped all its peers, ms, and how many were killed. */
  crashDropMs: number
  /** Half of the survivors had dropped the crashed peers this long after the SIGKILL, ms (the spread shows whether detection or dissemination was slow). */
  crashDropP50Ms: number
  crashed: number
  /** Survivors that had not dropped the crashed peers at the deadline. */
  crashNotDropped: number
  /** Load average (1 min) before and after the run. */
  load: [number, number]
}

type Waiter = { resolve: (t: number) => void }

/** One peer's report: when (the host's monotonic clock, ms), from which host (index in `hosts`) and peer. */
interface Report {
  t: number
  host: number
  peer: number
}

/** Collects one kind of per-peer event from every host until `want` peers reported, or the deadline. */
function collect(
  hosts: PeerHost[],
  kind: 'members' | 'gone',
  want: number,
  timeoutMs: number,
): { done: Promise<Report[]>; seen: () => number } {
  const reports: Report[] = []
  let finish: Waiter['resolve'] = () => {}
  const all = new Promise<number>((resolve) => {
    finish = resolve
  })
  const offs = hosts.map((h, i) =>
    h.on((e: HostEvent) => {
      if (e.event !== kind) return
      reports.push({ t: e.t, host: i, peer: e.peer })
      if (reports.length >= want) finish(0)
    }),
  )
  const timer = setTimeout(() => finish(0), timeoutMs)
  const done = all.then(() => {
    clearTimeout(timer)
    for (const off of offs) off()
    return reports
  })
  return { done, seen: () => reports.length }
}

async function snapshot(hosts: PeerHost[]): Promise<HostStats[]> {
  return Promise.all(hosts.map((h) => h.stats()))
}

/** CPU time (µs) all hosts spent between two snapshots of the same hosts. */
function cpuUsBetween(before: HostStats[], after: HostStats[]): number {
  return after.reduce((a, s, i) => a + s.cpuUs - before[i]!.cpuUs, 0)
}

function sumPeers(stats: HostStats[], f: (p: HostStats['peers'][number]) => number): number {
  return stats.reduce((a, s) => a + s.peers.reduce((b, p) => b + f(p), 0), 0)
}

/** Peers per process: N-1 peers in processes of `perHost`, and the last peer alone (the one the crash kills). */
function hostSizes(peers: number, perHost: number): number[] {
  const rest = peers - 1
  const sizes = Array.from({ length: Math.ceil(rest / perHost) }, (_, h) => Math.min(perHost, rest - h * perHost))
  return [...sizes, 1]
}

/** Starts the fleet: one process after another, each peer bootstrapping from 2 peers of earlier processes. */
async function startFleet(
  init: FleetInit,
  rand: () => number,
): Promise<{ hosts: PeerHost[]; t0: number; lastStartedAt: number }> {
  const sizes = hostSizes(init.peers, init.perHost)
  // Only the first process's peers bootstrap from a local peer; every other peer bootstraps from two peers in other
  // processes and from nothing local, as a peer of a fleet would: a peer that bootstrapped from a peer of its own process
  // is never alone, so it never re-dials a seed whose first dial failed, and its whole process stays an island.
  const peerInit = (local: number, seeds: string[]): PeerInit => ({
    mesh: { ...init.mesh, bootstrap: seeds },
    colocated: true,
    ...(seeds.length === 0 && local > 0 ? { bootstrapLocal: [0] } : {}),
  })
  const pick = (from: string[], n: number) => {
    const pool = [...from]
    const out: string[] = []
    while (out.length < n && pool.length > 0) out.push(pool.splice(Math.floor(rand() * pool.length), 1)[0]!)
    return out
  }
  const t0 = nowMs()
  const first = await spawnHost({
    peers: Array.from({ length: sizes[0]! }, (_, i) => peerInit(i, [])),
    timeoutMs: 120_000,
  })
  const hosts = [first]
  // A rollout: one process after another, each peer bootstrapping from two peers of earlier processes. Starting every
  // process at once sent ~2 N handshakes to the seed process at once; on 2 shared cores they outlasted the 5 s dial and
  // upgrade timeouts, and at 100 peers most peers (the seeds too) ended with no connection at all.
  for (const size of sizes.slice(1)) {
    const earlier = hosts.flatMap((h) => h.peers.map((p) => p.addresses[0]!))
    hosts.push(
      await spawnHost({
        peers: Array.from({ length: size }, (_, i) => peerInit(i, pick(earlier, 2))),
        timeoutMs: 120_000 + 5_000 * size,
      }),
    )
  }
  return { hosts, t0, lastStartedAt: nowMs() }
}

/** Runs one fleet measurement; stops every process it started. */
export async function runFleet(init: FleetInit): Promise<FleetResult> {
  const rand = seededRandom(init.seed)
  const n = init.peers
  const loadBefore = (await import('node:os')).loadavg()[0]!
  const result: FleetResult = {
    peers: n,
    hosts: hostSizes(n, init.perHost).length,
    formMs: Number.NaN,
    formAfterStartMs: Number.NaN,
    formed: 0,
    minMembers: 0,
    idleCpuPct: Number.NaN,
    idleMsgsPerSec: Number.NaN,
    idleBytesPerSec: Number.NaN,
    idleReadBytesPerSec: Number.NaN,
    rssPerPeerMiB: Number.NaN,
    lagP99Ms: Number.NaN,
    idleSuspectsPerSec: Number.NaN,
    idleDowns: Number.NaN,
    formSuspects: Number.NaN,
    formDowns: Number.NaN,
    delivery: summarize([]),
    perWrite: summarize([]),
    cpuPerWriteMs: Number.NaN,
    missed: 0,
    crashDropMs: Number.NaN,
    crashDropP50Ms: Number.NaN,
    crashed: 0,
    crashNotDropped: 0,
    load: [loadBefore, Number.NaN],
  }
  let hosts: PeerHost[] = []
  const unregister = onCleanup(() => stopHosts(hosts))
  try {
    const started = await startFleet(init, rand)
    hosts = started.hosts
    init.log(`${n} peers started in ${hosts.length} processes after ${((nowMs() - started.t0) / 1000).toFixed(1)} s`)

    // (c) formation: every peer reports once it sees all N-1 others
    const form = collect(hosts, 'members', n, init.formTimeoutMs)
    await Promise.all(hosts.map((h) => h.track({ count: n - 1 })))
    const formTimes = (await form.done).map((r) => r.t)
    result.formed = formTimes.length
    const afterForm = await snapshot(hosts)
    result.minMembers = Math.min(...afterForm.flatMap((s) => s.peers.map((p) => p.members)))
    if (formTimes.length >= n) {
      result.formMs = Math.max(...formTimes) - started.t0
      result.formAfterStartMs = Math.max(...formTimes) - started.lastStartedAt
    } else {
      const view = afterForm.map((s) => s.peers.map((p) => `${p.members}/${p.connected}/${p.connections}`).join(' '))
      init.log(`members/connected members/connections per peer, by process: ${view.join(' | ')}`)
    }
    init.log(
      `formation: ${formTimes.length}/${n} peers saw all ${n - 1} others` +
        (Number.isNaN(result.formMs)
          ? ` (fewest members seen: ${result.minMembers})`
          : ` in ${result.formMs.toFixed(0)} ms (${result.formAfterStartMs.toFixed(0)} ms after the last process started)`),
    )

    // (a, b) idle window: a measurement window (a duration), not synchronisation
    await new Promise((r) => setTimeout(r, init.settleMs))
    // s0's loop delay covers the settle window; the monitor (a 20 ms timer, ~0.2 % of a core per process) stays off
    // during the idle window so that its cost is not counted as the peers'
    const s0 = await snapshot(hosts)
    await Promise.all(hosts.map((h) => h.loopDelay(false)))
    await new Promise((r) => setTimeout(r, init.idleMs))
    const s1 = await snapshot(hosts)
    await Promise.all(hosts.map((h) => h.loopDelay(true)))
    const secs = (s1[0]!.t - s0[0]!.t) / 1000
    const cpuUs = cpuUsBetween(s0, s1)
    result.idleCpuPct = (cpuUs / 1e6 / secs / n) * 100
    const msgs = (s: HostStats[]) => sumPeers(s, (p) => p.traffic.topicIn + p.traffic.streamIn)
    const bytes = (s: HostStats[]) => sumPeers(s, (p) => p.traffic.topicBytesIn + p.traffic.streamBytesIn)
    result.idleMsgsPerSec = (msgs(s1) - msgs(s0)) / secs / n
    result.idleBytesPerSec = (bytes(s1) - bytes(s0)) / secs / n
    result.idleReadBytesPerSec = s1.reduce((a, s, i) => a + s.rchar - s0[i]!.rchar, 0) / secs / n
    result.rssPerPeerMiB = s1.reduce((a, s) => a + s.rss, 0) / n / 2 ** 20
    result.lagP99Ms = Math.max(...s0.map((s) => s.eventLoopDelay.p99Ms))
    const swimCount = (st: HostStats[], key: string) =>
      sumPeers(st, (p) => p.counters[`membership.events.${key}`] ?? Number.NaN)
    result.idleSuspectsPerSec = (swimCount(s1, 'suspect') - swimCount(s0, 'suspect')) / secs / n
    result.idleDowns = swimCount(s1, 'down') - swimCount(s0, 'down')
    result.formSuspects = swimCount(afterForm, 'suspect')
    result.formDowns = swimCount(afterForm, 'down')
    for (const [i, s] of s1.entries()) {
      const before = s0[i]!
      const count = (st: HostStats, key: string) => st.peers.reduce((a, p) => a + (p.counters[key] ?? 0), 0)
      const health = Math.max(...s.peers.map((p) => p.counters['membership.health'] ?? 0))
      init.log(
        `  process ${i} (${s.peers.length} peers): CPU ${(((s.cpuUs - before.cpuUs) / 1e6 / secs) * 100).toFixed(1)} % ` +
          `of a core, loop delay (settle) p50/p99/max ${before.eventLoopDelay.p50Ms.toFixed(0)}/` +
          `${before.eventLoopDelay.p99Ms.toFixed(0)}/${before.eventLoopDelay.maxMs.toFixed(0)} ms, suspicions seen ` +
          `${count(s, 'membership.events.suspect') - count(before, 'membership.events.suspect')}, ` +
          `refutations ${count(s, 'membership.incarnation') - count(before, 'membership.incarnation')}, highest health score ${health}, ` +
          `SWIM dials ${((count(s, 'membership.dials') - count(before, 'membership.dials')) / secs / s.peers.length).toFixed(2)}/peer/s, ` +
          `evictions ${((count(s, 'membership.evictions') - count(before, 'membership.evictions')) / secs / s.peers.length).toFixed(2)}/peer/s, ` +
          `push-pulls since start (refuted/revived/rumour/unknown/local+wide) ` +
          `${count(s, 'membership.pushPulls.refuted')}/${count(s, 'membership.pushPulls.revived')}/` +
          `${count(s, 'membership.pushPulls.rumour')}/${count(s, 'membership.pushPulls.unknown')}/` +
          `${count(s, 'membership.pushPulls.local') + count(s, 'membership.pushPulls.wide')}, ` +
          `connections/peer ${(s.peers.reduce((a, p) => a + p.connections, 0) / s.peers.length).toFixed(1)}`,
      )
    }
    init.log(
      `idle over ${secs.toFixed(1)} s: CPU ${result.idleCpuPct.toFixed(2)} % of a core per peer, ` +
        `${result.idleMsgsPerSec.toFixed(1)} msgs/s and ${(result.idleBytesPerSec / 1024).toFixed(1)} KiB/s per peer ` +
        `(process reads ${(result.idleReadBytesPerSec / 1024).toFixed(1)} KiB/s per peer); event-loop delay p99 (settle) ` +
        `${result.lagP99Ms.toFixed(0)} ms; false suspicions ${result.idleSuspectsPerSec.toFixed(3)} per peer per s, ` +
        `${result.idleDowns} false downs (formation: ${result.formSuspects} suspicions, ${result.formDowns} downs)`,
    )

    // (d) propagation: one write at a time on a random peer; every other peer's watch must fire
    const formed = !Number.isNaN(result.formMs)
    if (init.writes > 0 && formed) {
      await Promise.all(hosts.map((h) => h.watch(true)))
      const delivery: number[] = []
      const perWrite: number[] = []
      const w0 = await snapshot(hosts)
      const addressOf = hosts.flatMap((h) => h.peers.map((p) => ({ host: h, index: p.index })))
      for (let w = 0; w < init.writes; w++) {
        const writer = addressOf[Math.floor(rand() * addressOf.length)]!
        const key = `fleet-${init.seed}-${w}`
        const seen: number[] = []
        let all: () => void = () => {}
        const done = new Promise<void>((resolve) => {
          all = resolve
        })
        const offs = hosts.map((h) =>
          h.on((e) => {
            if (e.event !== 'change' || e.key !== key || e.source === 'local') return
            seen.push(e.t)
            if (seen.length >= n - 1) all()
          }),
        )
        const timer = setTimeout(all, init.deliveryTimeoutMs)
        const { t0 } = await writer.host.call<{ t0: number }>('set', { key, value: { w } }, writer.index)
        await done
        clearTimeout(timer)
        for (const off of offs) off()
        for (const t of seen) delivery.push(t - t0)
        if (seen.length >= n - 1) perWrite.push(Math.max(...seen) - t0)
        result.missed += n - 1 - seen.length
      }
      await Promise.all(hosts.map((h) => h.watch(false)))
      for (const h of hosts) h.changes.length = 0
      result.delivery = summarize(delivery)
      result.perWrite = summarize(perWrite)
      const w1 = await snapshot(hosts)
      // what the peers would have spent idle over the same time (the idle window's rate) is not the writes' cost
      const idleMs = (result.idleCpuPct / 100) * n * (w1[0]!.t - w0[0]!.t)
      const cpuMs = cpuUsBetween(w0, w1) / 1000
      result.cpuPerWriteMs = (cpuMs - idleMs) / init.writes
      init.log(
        `propagation over ${init.writes} writes: p50 ${result.delivery.p50.toFixed(1)} p95 ` +
          `${result.delivery.p95.toFixed(1)} p99 ${result.delivery.p99.toFixed(1)} ms per delivery; all peers p99 ` +
          `${result.perWrite.p99.toFixed(1)} ms; missed ${result.missed}; CPU per write (all peers, above idle) ` +
          `${result.cpuPerWriteMs.toFixed(0)} ms`,
      )
    }

    // (e) crash: SIGKILL the last host (one peer); every survivor must drop it
    if (init.crashTimeoutMs > 0 && hosts.length > 1 && formed) {
      const victim = hosts.at(-1)!
      const survivors = hosts.slice(0, -1)
      const ids = victim.peers.map((p) => p.peerId)
      const want = n - ids.length
      await Promise.all(survivors.map((h) => h.track({ gone: ids })))
      const gone = collect(survivors, 'gone', want, init.crashTimeoutMs)
      // a survivor already without them reported at once: discard those (they never saw the victim)
      const tKill = nowMs()
      await victim.kill()
      // ms after the SIGKILL, slowest first
      const drops = (await gone.done)
        .filter((r) => r.t >= tKill)
        .map((r) => ({ ...r, t: r.t - tKill }))
        .sort((a, b) => b.t - a.t)
      // the last drop in each process: one late process (a stalled event loop) or stragglers everywhere (dissemination)
      const lastByHost = new Map<number, number>()
      for (const d of drops) if (!lastByHost.has(d.host)) lastByHost.set(d.host, d.t)
      const slowest = drops.slice(0, 3)
      const spread = summarize(drops.map((d) => d.t))
      result.crashed = ids.length
      result.crashNotDropped = want - drops.length
      if (drops.length >= want) result.crashDropMs = spread.max
      if (drops.length > 0) result.crashDropP50Ms = spread.p50
      hosts = survivors
      init.log(
        `crash of ${ids.length} peers: ` +
          (Number.isNaN(result.crashDropMs)
            ? `${result.crashNotDropped} survivors still listed them after ${init.crashTimeoutMs} ms`
            : `every survivor dropped them ${result.crashDropMs.toFixed(0)} ms after the SIGKILL (half of them by ` +
              `${result.crashDropP50Ms.toFixed(0)} ms; last in each process: ` +
              `${[...lastByHost]
                .sort((a, b) => a[0] - b[0])
                .map(([, t]) => t.toFixed(0))
                .join(', ')} ms; slowest process.peer: ` +
              `${slowest.map((d) => `${d.host}.${d.peer} ${d.t.toFixed(0)}`).join(', ')} ms)`),
      )
    }
  } finally {
    await stopHosts(hosts)
    unregister()
    result.load[1] = (await import('node:os')).loadavg()[0]!
  }
  return result
}
