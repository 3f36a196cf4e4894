/**
 * Prometheus metrics of one mesh peer (prom-client, every name prefixed `confmesh_`), in a registry of its own so
 * several peers in one process never collide. Gauges and counters read the mesh when scraped (`collect()`: no work
 * between scrapes); two histograms are fed as things happen:
 *
 * - `confmesh_write_apply_seconds`: for every remote change a watcher sees, now minus the writer's hybrid-clock time
 *   of the write (includes clock skew between hosts; hybrid clocks never run behind a time they have seen).
 * - `confmesh_storage_commit_seconds`: every SQLite commit (fsync included), when the storage's `onCommit` is wired to
 *   {@link MeshMetrics.observeStorageCommit} (the agent does; an embedding application may).
 *
 * Event-loop lag comes from `perf_hooks.monitorEventLoopDelay`, reported per scrape interval (reset after each).
 *
 * @module
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { ConfigMesh, MeshStats } from '../mesh/config-mesh.js'

/** Options of {@link createMeshMetrics}. */
export interface MeshMetricsOptions {
  /** Registry to add the metrics to. Default: a new one. */
  registry?: Registry
  /** Resolution of the event-loop delay monitor in ms. Default 10. */
  eventLoopResolutionMs?: number
}

/** The metrics of one peer. */
export interface MeshMetrics {
  readonly registry: Registry
  /** `Content-Type` of {@link MeshMetrics.text}. */
  readonly contentType: string
  /** The Prometheus text exposition of every metric. */
  text(): Promise<string>
  /** Records one storage commit (wire to `createSqliteStorage({ onCommit })`). */
  observeStorageCommit(info: { durationMs: number }): void
  /** Stops watching the mesh and the event loop. Idempotent. */
  stop(): void
}

/** Latency buckets in seconds: 0.5 ms .. 30 s. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/**
 * `read`, called at most once per turn of the event loop: a scrape collects every metric in one turn, so the metrics
 * that need the same reading share it, and the next scrape reads afresh.
 */
function oncePerScrape<T>(read: () => T): () => T {
  let held: { value: T } | undefined
  return () => {
    if (held === undefined) {
      held = { value: read() }
      setImmediate(() => {
        held = undefined
      })
    }
    return held.value
  }
}

/** Creates and registers the metrics of `mesh`. */
export function createMeshMetrics(mesh: ConfigMesh, options: MeshMetricsOptions = {}): MeshMetrics {
  const registry = options.registry ?? new Registry()
  const registers = [registry]
  /** The mesh's counters, once per scrape (`diagnostics()` also encodes the state vector; a dozen metrics read them). */
  const counters = oncePerScrape(() => mesh.diagnostics().counters)
  /** One `stats()` per scrape (it encodes the document), shared by the gauges that need it. */
  const statsOnce = oncePerScrape(() => mesh.stats())
  const statGauge = (name: string, help: string, pick: (s: MeshStats) => number): void => {
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        this.set(pick(await statsOnce()))
      },
    })
  }
  /** A counter mirroring a total the mesh keeps (set at scrape time). */
  const mirror = (
    name: string,
    help: string,
    labelNames: string[],
    read: () => Array<[Record<string, string>, number]>,
  ) => {
    new Counter({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset()
        for (const [labels, value] of read()) this.inc(labels, value)
      },
    })
  }
  const pick =
    (...names: Array<[Record<string, string>, string]>) =>
    (): Array<[Record<string, string>, number]> => {
      const c = counters()
      return names.map(([labels, key]) => [labels, c[key] ?? 0])
    }

  new Gauge({
    name: 'confmesh_peers',
    help: 'Live peers other than this one',
    labelNames: ['connected'],
    registers,
    collect() {
      const peers = mesh.peers()
      const connected = peers.filter((p) => p.connected).length
      this.set({ connected: 'true' }, connected)
      this.set({ connected: 'false' }, peers.length - connected)
    },
  })
  new Gauge({
    name: 'confmesh_members',
    help: 'Live members on the consistent-hash ring, this peer included',
    registers,
    collect() {
      this.set(mesh.ring.members().length)
    },
  })
  statGauge('confmesh_document_bytes', 'Encoded size of the configuration document', (s) => s.documentBytes)
  statGauge(
    'confmesh_entries',
    'Entries held in the document (live values, tombstones, losers awaiting GC)',
    (s) => s.entries,
  )
  statGauge('confmesh_keys', 'Live keys over all namespaces', (s) => s.keys)
  statGauge('confmesh_versions', 'Retained history entries (versions)', (s) => s.versions)
  mirror(
    'confmesh_updates_applied_total',
    'Remote updates applied (gossip, catch-up, join parts)',
    [],
    pick([{}, 'applier.applied']),
  )
  mirror(
    'confmesh_updates_refused_total',
    'Remote updates refused before they changed anything, by reason',
    ['reason'],
    () =>
      Object.entries(counters())
        .filter(([k]) => k.startsWith('applier.refused.'))
        .map(([k, v]) => [{ reason: k.slice('applier.refused.'.length) }, v]),
  )
  mirror(
    'confmesh_gossip_messages_total',
    'Gossip messages: in = received, out = published updates and announcements of large ones, rejected = failed validation',
    ['direction'],
    () => {
      const c = counters()
      return [
        [{ direction: 'in' }, c['gossip.received'] ?? 0],
        [{ direction: 'out' }, (c['gossip.published'] ?? 0) + (c['gossip.announced'] ?? 0)],
        [{ direction: 'rejected' }, c['gossip.rejected'] ?? 0],
      ]
    },
  )
  mirror(
    'confmesh_membership_events_total',
    'Failure-detector events this peer saw (SWIM): members up, suspected, declared down, updated',
    ['event'],
    () =>
      Object.entries(counters())
        .filter(([k]) => k.startsWith('membership.events.'))
        .map(([k, v]) => [{ event: k.slice('membership.events.'.length) }, v]),
  )
  new Gauge({
    name: 'confmesh_membership_health_score',
    help: "Lifeguard local health score (SWIM; 0 = healthy, higher = this peer's probes time out: it slows its probing)",
    registers,
    collect() {
      this.set(counters()['membership.health'] ?? 0)
    },
  })
  mirror(
    'confmesh_catchup_bytes_total',
    'Catch-up (state-vector exchange) bytes: served to peers, fetched from peers',
    ['direction'],
    pick([{ direction: 'served' }, 'catchUp.bytesServed'], [{ direction: 'fetched' }, 'catchUp.bytesReceived']),
  )
  mirror(
    'confmesh_pulls_total',
    'Catch-up pulls this peer made, by result; served = pulls this peer answered',
    ['result'],
    pick(
      [{ result: 'ok' }, 'catchUp.pulls'],
      [{ result: 'failed' }, 'catchUp.failedPulls'],
      [{ result: 'served' }, 'catchUp.served'],
    ),
  )
  mirror(
    'confmesh_storage_appends_total',
    'Updates appended to the data dir, by result',
    ['result'],
    pick([{ result: 'ok' }, 'storage.appends'], [{ result: 'failed' }, 'storage.failedAppends']),
  )

  const commit = new Histogram({
    name: 'confmesh_storage_commit_seconds',
    help: 'Duration of storage commits (one SQLite transaction, fsync included)',
    buckets: LATENCY_BUCKETS,
    registers,
  })
  const writeApply = new Histogram({
    name: 'confmesh_write_apply_seconds',
    help: "Remote writes: time from the writer's hybrid-clock time of the write to this peer's watchers seeing it",
    buckets: LATENCY_BUCKETS,
    registers,
  })
  const unwatch = mesh.watchAll((e) => {
    if (e.source === 'remote') writeApply.observe(Math.max(0, Date.now() - e.time) / 1000)
  })

  const loop = monitorEventLoopDelay({ resolution: options.eventLoopResolutionMs ?? 10 })
  loop.enable()
  new Gauge({
    name: 'confmesh_event_loop_lag_seconds',
    help: 'Event-loop delay since the previous scrape: p50, p99 and max (beyond the monitor resolution)',
    labelNames: ['quantile'],
    registers,
    collect() {
      if (loop.count > 0) {
        this.set({ quantile: '0.5' }, loop.percentile(50) / 1e9)
        this.set({ quantile: '0.99' }, loop.percentile(99) / 1e9)
        this.set({ quantile: '1' }, loop.max / 1e9)
      }
      loop.reset()
    },
  })

  let stopped = false
  return {
    registry,
    contentType: registry.contentType,
    text: () => registry.metrics(),
    observeStorageCommit(info) {
      if (!stopped) commit.observe(info.durationMs / 1000)
    },
    stop() {
      if (stopped) return
      stopped = true
      loop.disable()
      try {
        unwatch()
      } catch {
        // the mesh is stopped already: its watchers are gone with it
      }
    },
  }
}
