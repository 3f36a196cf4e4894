/**
 * Leases in the whole-stack random runs (`simulated-mesh.ts`): random acquire / renew / release / use on random live
 * peers (crashes come from the run), and a ledger that checks what `docs/leases.md` promises, on virtual time:
 *
 * - **Exclusion**: two leases of one name are never both held (from the moment `acquire` resolved until the lease's
 *   signal aborted, its holder crashed, or the run ended) at the same virtual instant, unless a partition was in
 *   place within the takeover guard (`maxTtlMs + memberTimeoutMs`) before the overlap began ("What does not hold:
 *   partitions").
 * - **Fencing**: a fenced resource per name accepts a holder's action only with a token at least the highest it has
 *   seen. Outside those windows every action of a holder whose lease has not ended is accepted, and grants of a name
 *   carry strictly increasing tokens in the order they were made.
 *
 * @module
 */
import {
  type ConfigMesh,
  type Lease,
  LeaseHeldError,
  LeaseLostError,
  LeaseUnavailableError,
  MeshStoppedError,
} from '../../src/index.js'
import type { SeededRandom } from '../../src/transport/seeded-random.js'
import type { SimulatedNetwork } from '../../src/transport/simulated-network.js'

/** Lease names the runs use. */
const NAMES = ['leader', 'job']
/** `lease.maxTtlMs` of the simulated peers (short, so the takeover guard passes within a run). */
export const SIM_LEASE_MAX_TTL_MS = 1_000

interface Held {
  name: string
  peer: string
  token: number
  lease: Lease
  start: number
  end: number | undefined
}

/** Tracks leases of one run and checks the promises of `docs/leases.md` (see the module comment). */
export class LeaseLedger {
  readonly held: Held[] = []
  /** Partition periods `[start, end]` (end `Infinity` while in place). */
  readonly partitions: Array<[number, number]> = []
  /** Highest token each fenced resource has accepted. */
  readonly #fence = new Map<string, number>()
  readonly counts = { granted: 0, refused: 0, renewed: 0, lost: 0, released: 0, uses: 0, fenced: 0 }

  constructor(
    readonly network: SimulatedNetwork,
    /** The takeover guard: `maxTtlMs + memberTimeoutMs`. */
    readonly guardMs: number,
  ) {}

  now(): number {
    return this.network.scheduler.now()
  }

  partitioned(): void {
    this.partitions.push([this.now(), Number.POSITIVE_INFINITY])
  }

  healed(): void {
    const open = this.partitions.at(-1)
    if (open !== undefined && open[1] === Number.POSITIVE_INFINITY) open[1] = this.now()
  }

  /** A peer crashed: its leases end now. */
  crashed(peer: string): void {
    for (const h of this.held) if (h.peer === peer && h.end === undefined) h.end = this.now()
  }

  /** Whether a partition was in place at some time in `[t - guard, t]`. */
  disturbed(t: number): boolean {
    return this.partitions.some(([s, e]) => s <= t && e >= t - this.guardMs)
  }

  /** One random lease operation: a renew, release or use of a lease that has not ended, or an acquire on `mesh`. */
  async step(rnd: SeededRandom, mesh: ConfigMesh): Promise<void> {
    const active = this.held.filter((h) => h.end === undefined && !h.lease.expired)
    const p = rnd.next()
    if (p < 0.4 || active.length === 0) {
      const name = rnd.pick(NAMES)
      const ttlMs = rnd.int(200, SIM_LEASE_MAX_TTL_MS)
      try {
        const lease = await this.network.settle(mesh.lease(name, { ttlMs, timeoutMs: 1_500 }))
        const h: Held = { name, peer: mesh.peerId, token: lease.token, lease, start: this.now(), end: undefined }
        lease.signal.addEventListener('abort', () => {
          h.end ??= this.now()
        })
        this.held.push(h)
        this.counts.granted++
      } catch (err) {
        if (!(err instanceof LeaseHeldError || err instanceof LeaseUnavailableError)) throw err
        this.counts.refused++
      }
      return
    }
    const h = rnd.pick(active)
    if (p < 0.6) {
      try {
        await this.network.settle(h.lease.renew())
        this.counts.renewed++
      } catch (err) {
        if (!(err instanceof LeaseLostError || err instanceof MeshStoppedError)) throw err
        this.counts.lost++
      }
    } else if (p < 0.75) {
      await this.network.settle(h.lease.release())
      this.counts.released++
    } else {
      this.use(h)
    }
  }

  /** The holder acts on the fenced resource of its lease's name (only while its lease has not ended). */
  use(h: Held): void {
    if (h.end !== undefined || h.lease.expired) return
    this.counts.uses++
    const highest = this.#fence.get(h.name) ?? 0
    if (h.token < highest) {
      this.counts.fenced++
      if (!this.disturbed(this.now())) {
        throw new Error(
          `lease ${h.name}: ${h.peer} holds token ${h.token} while the resource saw ${highest}, with no partition`,
        )
      }
      return
    }
    this.#fence.set(h.name, h.token)
  }

  /** Checks exclusion and token order over the whole run (call at its end). */
  check(): void {
    const end = this.now()
    for (const name of NAMES) {
      const grants = this.held.filter((h) => h.name === name).sort((a, b) => a.start - b.start)
      for (let i = 0; i < grants.length; i++) {
        const a = grants[i]!
        for (let j = i + 1; j < grants.length; j++) {
          const b = grants[j]!
          if (b.start >= (a.end ?? end)) continue
          if (!this.disturbed(b.start)) {
            throw new Error(
              `lease ${name}: ${a.peer} (token ${a.token}, from ${a.start}) and ${b.peer} (token ${b.token}, from ` +
                `${b.start}) held at once at ${b.start}, with no partition`,
            )
          }
        }
        const next = grants[i + 1]
        if (next !== undefined && next.token <= a.token && !this.disturbed(next.start)) {
          throw new Error(`lease ${name}: token ${next.token} granted after ${a.token}`)
        }
      }
    }
  }
}
