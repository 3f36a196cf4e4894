/**
 * SWIM configuration: the knobs, their defaults (memberlist's LAN profile, which Foca's `Config::new_lan` copies),
 * and the formulas that scale with the mesh size N. Every formula here is the one the state machine uses, so the
 * bounds stated in docs/membership.md are computed from this file.
 *
 * - Suspicion timeout (Lifeguard, dynamic): `min = suspicionMult * max(1, log10 N) * probeIntervalMs`,
 *   `max = suspicionMaxMult * min`; a fresh suspicion waits `max` and shrinks towards `min` as independent
 *   confirmations arrive: `max - (max - min) * ln(c + 1) / ln(k + 1)` for c of the k = suspicionConfirmations expected.
 * - Retransmit limit: each membership update is sent `retransmitMult * ceil(log10(N + 1))` times by each peer that
 *   learns it (memberlist's formula; O(log N) total traffic per update per peer).
 * - Push-pull interval: `pushPullIntervalMs` up to 32 members, then multiplied by `ceil(log2 N - log2 32) + 1`
 *   (memberlist's `pushPullScale`), so the full-state exchange costs O(N / log N) bytes per peer per second. Below
 *   32 members push-pulls run more often (`max(N, 6) / 32` of it), most with a connected member
 *   (`localPushPullIntervalMs`), so a small mesh repairs a missed update in seconds at the same bytes per peer;
 *   only while the peer's table changed within the last 6 of those periods (a quiet table has nothing to repair: it
 *   runs the wide period alone). From 32 members the local period is the unscaled `pushPullIntervalMs`, and only
 *   joins (a member new to the table) make a table active.
 *
 * @module
 */

/** Options of the SWIM state machine; every field has a documented default. */
export interface SwimConfig {
  /** Protocol period: one probe per period. Default 2,000 ms. */
  probeIntervalMs: number
  /** Wait for a direct ack before asking k others. Default 500 ms (scaled by local health). */
  probeTimeoutMs: number
  /** k: members asked to probe indirectly when the direct probe gets no ack. Default 3. */
  indirectChecks: number
  /** Lambda of the retransmit limit `retransmitMult * ceil(log10(N + 1))`. Default 4. */
  retransmitMult: number
  /** Suspicion multiplier (see module header). Default 1. */
  suspicionMult: number
  /** k: independent confirmations after which a suspicion runs only its lower bound (memberlist: suspicionMult - 2). Default 3. */
  suspicionConfirmations: number
  /** Upper suspicion bound as a multiple of the lower one. Default 4. */
  suspicionMaxMult: number
  /**
   * Longest suspicion of a member whose dial this peer saw refused (nothing listens at its address: its process is
   * gone; `Swim.refused`). Default 2,000 ms.
   */
  refusedSuspicionMs: number
  /** Lifeguard: highest local health multiplier (score 0 .. max - 1 scales probe period and timeout). Default 8. */
  awarenessMaxMultiplier: number
  /** Gossip period for queued updates (sent only while the queue holds something). Default 200 ms. */
  gossipIntervalMs: number
  /** Members each gossip round goes to. Default 3. */
  gossipFanout: number
  /** Full-state push-pull period at up to 32 members (scaled with N, see module header). Default 30,000 ms. */
  pushPullIntervalMs: number
  /** A down member's tombstone is kept this long (old gossip cannot bring it back), then forgotten. Default 60,000 ms. */
  removeDownAfterMs: number
  /** Byte budget of one datagram-sized message (probe, ack, gossip) including its piggybacked updates. Default 1,400. */
  maxPacketBytes: number
  /** Most updates piggybacked on one message. Default 32. */
  maxPiggyback: number
  /** Most updates held for dissemination (oldest beyond this are dropped; push-pull repairs). Default 4,096. */
  maxQueuedUpdates: number
}

/**
 * Defaults: twice memberlist's LAN period (2 s) with its probe timeout (500 ms) and a shorter suspicion, `log10 N`
 * periods (4 s at 100 peers, 2 s up to 10) growing to 4x that without confirmations. A crashed process is dropped
 * everywhere within 5 s at 100 peers (the bound the heartbeat membership gave; {@link crashDropMs}) because its
 * neighbours' dials to it are refused (`refusedSuspicionMs`, 2 s); a host gone silent within
 * {@link detectionBoundMs} (10 s expected at 100). Until session 12 the period was 500 ms, until session 14 1 s:
 * each halving of the probes cut the idle CPU of the 100-peer fleet by a fifth or more (session 14: 0.45 % of a core
 * per peer at 1 s, 0.35-0.45 % at 2 s) and, at 2 s, loaded peers got twice the time to refute: 100 peers formed 8-35 s
 * after the last start in 4 runs (33 s at 1 s), with 2,277-5,982 suspicions and 14-186 false downs (8,874 and 630)
 * (bench/RESULTS.md "Fleet: 100 real peers").
 */
export const DEFAULT_SWIM_CONFIG: Readonly<SwimConfig> = Object.freeze({
  probeIntervalMs: 2_000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  retransmitMult: 4,
  suspicionMult: 1,
  suspicionMaxMult: 4,
  suspicionConfirmations: 3,
  refusedSuspicionMs: 2_000,
  awarenessMaxMultiplier: 8,
  gossipIntervalMs: 200,
  gossipFanout: 3,
  pushPullIntervalMs: 30_000,
  removeDownAfterMs: 60_000,
  maxPacketBytes: 1_400,
  maxPiggyback: 32,
  maxQueuedUpdates: 4_096,
})

/** Lower and upper suspicion timeouts (ms) at mesh size `n`. */
export function suspicionBounds(config: SwimConfig, n: number): { minMs: number; maxMs: number } {
  const scale = Math.max(1, Math.log10(Math.max(1, n)))
  const minMs = Math.floor(config.suspicionMult * scale * config.probeIntervalMs)
  return { minMs, maxMs: config.suspicionMaxMult * minMs }
}

/** Confirmations a suspicion expects before it reaches its lower bound (0 when the mesh is too small to give them). */
export function expectedConfirmations(config: SwimConfig, n: number): number {
  const k = config.suspicionConfirmations
  return n - 2 < k ? 0 : Math.max(0, k)
}

/**
 * Suspicion timeout (ms from the start of the suspicion) after `confirmations` independent confirmations of `k`
 * expected (memberlist `remainingSuspicionTime` plus the elapsed time).
 */
export function suspicionTimeoutMs(confirmations: number, k: number, minMs: number, maxMs: number): number {
  if (k < 1) return minMs
  const frac = Math.log(confirmations + 1) / Math.log(k + 1)
  return Math.max(minMs, Math.floor(maxMs - frac * (maxMs - minMs)))
}

/** How many times each peer sends one update at mesh size `n`. */
export function retransmitLimit(config: SwimConfig, n: number): number {
  return config.retransmitMult * Math.max(1, Math.ceil(Math.log10(n + 1)))
}

/** Mesh size from which the push-pull period is `pushPullIntervalMs` (scaled up beyond, down below). */
export const PUSH_PULL_FULL_SIZE = 32
/** Below {@link PUSH_PULL_FULL_SIZE} the period shrinks with N, but not below this many members' worth. */
const PUSH_PULL_MIN_SIZE = 6

/**
 * Period (ms) of any member's push-pull with a random member at mesh size `n`, the wide one (a member it may have to
 * dial: it crosses a partition whose sides hold no connection to each other).
 */
export function pushPullIntervalMs(config: SwimConfig, n: number): number {
  if (n <= PUSH_PULL_FULL_SIZE) return config.pushPullIntervalMs
  const mult = Math.ceil(Math.log2(n) - Math.log2(PUSH_PULL_FULL_SIZE)) + 1
  return config.pushPullIntervalMs * mult
}

/** From this mesh size the join-window push-pull period grows with N (see {@link localPushPullIntervalMs}). */
const JOIN_PUSH_PULL_SCALE_SIZE = 1_000
/** The join-window push-pull period is at least `pushPullIntervalMs` divided by this (10 s at the default 30 s). */
const JOIN_PUSH_PULL_DIVISOR = 3

/**
 * Period (ms) of push-pulls at mesh size `n` while this peer's table is active, most of them with a member this peer
 * is connected to. Below 32 members: the wide period ({@link pushPullIntervalMs}) times `max(n, 6) / 32` (30 s at
 * 32, 5.6 s at up to 6), active while the table changed lately, so the bytes a peer spends on full-state exchange
 * per second stay flat in N while a small mesh repairs a missed update (dissemination sends each only
 * `retransmitLimit` times: about e^-4 of the members miss one) within seconds. From 32 members: active only while
 * members join (a member new to the table appeared within the last two such periods), every
 * `pushPullIntervalMs / 3` (10 s) up to 333 members and `pushPullIntervalMs * n / 1000` beyond (30 s at 1,000), at
 * most the wide period (300 s at 10,000): the join window's bytes per peer per second stay flat from 333 members
 * (about 2 x 68 B x 1,000 / 30 s, 4.5 KB/s), while a forming or growing mesh repairs a missed join within 10 s up
 * to a few hundred members; a large mesh whose failures never stop (1 % of 10,000 crashing) stays at the wide rate.
 * The 100-peer fleet formed 16-36 s after the last start at a 30 s join-window period and 15-32 s at 10 s (so the
 * period does not decide formation there), while with the wide 90 s period alone one peer still missed a member 60 s
 * after the last start in 3 of 4 runs; at 10 s a settled mesh stops exchanging tables 40 s sooner.
 */
export function localPushPullIntervalMs(config: SwimConfig, n: number): number {
  if (n >= PUSH_PULL_FULL_SIZE) {
    const joinMs = Math.max(
      Math.round(config.pushPullIntervalMs / JOIN_PUSH_PULL_DIVISOR),
      Math.round((config.pushPullIntervalMs * n) / JOIN_PUSH_PULL_SCALE_SIZE),
    )
    return Math.min(pushPullIntervalMs(config, n), joinMs)
  }
  return Math.round((config.pushPullIntervalMs * Math.max(n, PUSH_PULL_MIN_SIZE)) / PUSH_PULL_FULL_SIZE)
}

/** Time (ms) for a `down` to reach every peer: about log_{fanout+1}(N) + 1 gossip rounds. */
function spreadTimeMs(config: SwimConfig, n: number): number {
  const rounds = Math.ceil(Math.log(Math.max(2, n)) / Math.log(config.gossipFanout + 1) + 1)
  return rounds * config.gossipIntervalMs
}

/**
 * Time (ms) from a silent failure (a host that stops answering: no connection closes) until every live peer holds
 * the member as down, as a function of N and the period P:
 *
 * - first probe: each of the N - 1 peers probes it with probability ~1/(N - 1) per period, so nobody has probed it
 *   after m periods with probability ~e^-m: on average e/(e - 1) periods, within ln(1/eps) periods with probability
 *   1 - eps, and within N - 1 periods always (the round-robin order reaches every member once per pass);
 * - the prober suspects it at the end of that period (+P); the suspicion runs between `min` (k confirmations, the
 *   usual case at N > k + 2, since other probers confirm it) and `max` (none);
 * - the `down` spreads in about log_{fanout+1}(N) + 1 gossip rounds.
 *
 * `expectedMs` assumes confirmations (min), `boundMs` is the 1 - 1e-6 bound with no confirmations (max, at most
 * `worstMs`), `worstMs` the deterministic bound. At the defaults: 100 peers 5.6 s / 24 s / 109 s. A crashed process
 * closes its connections, which starts its neighbours' probes sooner: see {@link crashDropMs}.
 */
export function detectionBoundMs(
  config: SwimConfig,
  n: number,
): { expectedMs: number; boundMs: number; worstMs: number } {
  const { minMs, maxMs } = suspicionBounds(config, n)
  const spreadMs = spreadTimeMs(config, n)
  const p = config.probeIntervalMs
  const worstMs = Math.round((n - 1) * p + p + maxMs + spreadMs)
  return {
    expectedMs: Math.round((Math.E / (Math.E - 1)) * p + p + minMs + spreadMs),
    boundMs: Math.min(worstMs, Math.round(Math.ceil(Math.log(1e6)) * p + p + maxMs + spreadMs)),
    worstMs,
  }
}

/**
 * Time (ms) from a process crash on a live host until every live peer holds it down. Its connections close, so each
 * neighbour probes it in its next period (`Swim.probeSoon`), by dialling it, and the host refuses the dial (nothing
 * listens on its port any more): the neighbour suspects it at once, for at most `refusedSuspicionMs`
 * (`Swim.refused`). Half a period on average (a period at most) until the first neighbour's probe, + that
 * suspicion (or the regular one, when shorter), + log_{fanout+1}(N) + 1 gossip rounds. A host that goes silent
 * (nothing refuses, nothing closes) takes {@link detectionBoundMs}.
 */
export function crashDropMs(config: SwimConfig, n: number): { expectedMs: number; boundMs: number } {
  const { minMs, maxMs } = suspicionBounds(config, n)
  const spreadMs = spreadTimeMs(config, n)
  const p = config.probeIntervalMs
  return {
    expectedMs: Math.round(p / 2 + Math.min(minMs, config.refusedSuspicionMs) + spreadMs),
    boundMs: Math.round(p + Math.min(maxMs, config.refusedSuspicionMs) + spreadMs),
  }
}

/** memberlist's `DefaultLANConfig` as it ships (period 1 s, suspicion 4 log10 N periods up to 6x), for comparison. */
export const MEMBERLIST_LAN_CONFIG: Readonly<SwimConfig> = Object.freeze({
  ...DEFAULT_SWIM_CONFIG,
  probeIntervalMs: 1_000,
  probeTimeoutMs: 500,
  suspicionMult: 4,
  suspicionMaxMult: 6,
  suspicionConfirmations: 2,
})

/** Fills the defaults of a partial config. */
export function swimConfig(partial: Partial<SwimConfig> = {}): SwimConfig {
  return { ...DEFAULT_SWIM_CONFIG, ...partial }
}
