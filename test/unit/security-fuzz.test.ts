/**
 * Fuzzing of the update guard against Yjs. The oracle: every input is either refused by `inspectUpdate` with one of
 * the named errors (and a document handed it through `guardedApply` stays byte-for-byte unchanged), or accepted, and
 * then `Y.decodeUpdate` agrees with the inspection, `Y.applyUpdate` succeeds on a fresh document and `guardedApply`
 * on a populated one either succeeds or refuses it with a named error for that document's state (leaving it
 * unchanged). Nothing may hang (per-input and total time bounds) and memory growth stays bounded.
 *
 * `CONFMESH_FUZZ_ITERATIONS` (default 10000) sets the number of random byte strings and of mutated valid updates;
 * `CONFMESH_TEST_SEED` reproduces a run.
 */
import * as prng from 'lib0/prng'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { UpdateRejectedError } from '../../src/errors.js'
import {
  type GuardedApplyResult,
  guardedApply,
  inspectUpdate,
  type UpdateInfo,
} from '../../src/security/update-guard.js'
import {
  bytes,
  makeCorpus,
  type Rng,
  randomStructuralUpdate,
  rng,
  varString,
  varUint,
  viewFromYjs,
} from './fixtures/security/yjs-corpus.js'

const ITERATIONS = Math.max(1, Number(process.env.CONFMESH_FUZZ_ITERATIONS ?? 10_000))
const SEED = Number(process.env.CONFMESH_TEST_SEED ?? Date.now() % 1_000_000)
console.log(`security-fuzz seed=${SEED} iterations=${ITERATIONS} (CONFMESH_TEST_SEED / CONFMESH_FUZZ_ITERATIONS)`)

const NAMED = new Set(['MalformedUpdateError', 'UpdateTooLargeError', 'UpdateTimeoutError', 'ForbiddenContentError'])
/** Per-input CPU-time bound for inspect + decode + two applies (generous: GC pauses count too). */
const MAX_INPUT_MS = 2000
/**
 * Total CPU-time bound for one fuzz block, scaled by the iteration count. CPU time, not wall-clock time: a saturated
 * machine deschedules the process for seconds (a 5,000-input block took 20 s of wall-clock time at load 15).
 */
const maxTotalMs = (n: number): number => 8000 + n * 2
/** CPU time (user + system) of this process since `start` (a `process.cpuUsage()`), in ms. */
const cpuMsSince = (start: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1000
}
/** Reset the long-lived target document when its pending buffers exceed this. */
const MAX_WARM_PENDING_BYTES = 4 * 1024

const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex')

interface Stats {
  accepted: number
  rejected: number
  byError: Record<string, number>
  /** accepted by `inspectUpdate` but refused by `guardedApply` against the populated document (document-aware checks) */
  refusedByDoc: number
  /** accepted inputs that advanced the populated document's state vector (integrated structs there) */
  advancedWarm: number
  slowestMs: number
}

const newStats = (): Stats => ({
  accepted: 0,
  rejected: 0,
  byError: {},
  refusedByDoc: 0,
  advancedWarm: 0,
  slowestMs: 0,
})

/**
 * Runs inputs through the oracle. Holds a long-lived "warm" document built from valid states, so accepted inputs
 * are also integrated against existing structs (where crafted origins/parents actually resolve).
 */
class Harness {
  readonly base: Uint8Array[]
  warm: Y.Doc
  n = 0

  constructor(base: Uint8Array[]) {
    this.base = base
    this.warm = this.makeWarm()
  }

  makeWarm(): Y.Doc {
    const doc = new Y.Doc()
    for (const s of this.base) Y.applyUpdate(doc, s)
    return doc
  }

  /** Feed one input; throws (failing the test) on any oracle violation. */
  feed(input: Uint8Array, stats: Stats): UpdateInfo | null {
    const t0 = performance.now()
    const cpu0 = process.cpuUsage()
    this.n++
    let info: UpdateInfo | null = null
    try {
      info = inspectUpdate(input)
    } catch (err) {
      if (!(err instanceof UpdateRejectedError) || !NAMED.has(err.name)) {
        throw new Error(`unnamed error ${String(err)} for input ${hex(input)}`)
      }
      stats.rejected++
      stats.byError[err.name] = (stats.byError[err.name] ?? 0) + 1
      // a refused input leaves the document unchanged (full state compare on a sample, state vector always)
      const full = this.n % 25 === 0
      const before = full ? Y.encodeStateAsUpdate(this.warm) : Y.encodeStateVector(this.warm)
      expect(() => guardedApply(this.warm, input)).toThrow(err.constructor as typeof UpdateRejectedError)
      const after = full ? Y.encodeStateAsUpdate(this.warm) : Y.encodeStateVector(this.warm)
      if (Buffer.compare(before, after) !== 0) throw new Error(`rejected input changed the doc: ${hex(input)}`)
    }
    if (info !== null) {
      stats.accepted++
      try {
        const view = viewFromYjs(input)
        expect(info.structCount).toBe(view.structCount)
        expect(info.ranges).toEqual(view.ranges)
        expect(info.deleteSet).toEqual(view.deleteSet)
        expect([...info.roots].sort()).toEqual([...view.roots].sort())
        Y.applyUpdate(new Y.Doc({ guid: 'fuzz' }), input) // a fixed guid skips a uuid per document
        const sv = Y.encodeStateVector(this.warm)
        const full = this.n % 25 === 0 ? Y.encodeStateAsUpdate(this.warm) : null
        let r: GuardedApplyResult | null = null
        try {
          r = guardedApply(this.warm, input)
        } catch (err) {
          // document-aware refusal (e.g. a live multi-clock map value): named, and nothing applied
          if (!(err instanceof UpdateRejectedError) || !NAMED.has(err.name)) throw err
          stats.refusedByDoc++
          if (Buffer.compare(sv, Y.encodeStateVector(this.warm)) !== 0) throw new Error('refused input changed the doc')
          if (full !== null) expect(Y.encodeStateAsUpdate(this.warm)).toEqual(full)
        }
        if (Buffer.compare(sv, Y.encodeStateVector(this.warm)) !== 0) stats.advancedWarm++
        // reading the document back must work too (sampled: it costs O(document))
        if (this.n % 8 === 0) this.warm.toJSON()
        // reset on pending growth, every 64 accepted inputs when starting empty, and every 1000 inputs anyway (a
        // document grown by thousands of random structs makes every step slower and the run superlinear)
        const every = this.base.length === 0 ? 64 : 1000
        if ((r?.pendingBytes ?? 0) > MAX_WARM_PENDING_BYTES || stats.accepted % every === 0) {
          this.warm = this.makeWarm()
        }
      } catch (err) {
        throw new Error(`accepted input failed in Yjs: ${String(err)}\ninput: ${hex(input)}`, { cause: err })
      }
    }
    const ms = performance.now() - t0
    stats.slowestMs = Math.max(stats.slowestMs, ms)
    // CPU time, not wall-clock time: on a loaded machine (CI runs test files in parallel) a process can be descheduled
    // for seconds; what this bound catches is an input that makes the guard or Yjs itself spin.
    const cpu = process.cpuUsage(cpu0)
    const cpuMs = (cpu.user + cpu.system) / 1000
    if (cpuMs > MAX_INPUT_MS) throw new Error(`input took ${cpuMs.toFixed(0)} ms of CPU: ${hex(input)}`)
    return info
  }
}

const INTERESTING = [
  0, 1, 2, 7, 8, 9, 10, 0x20, 0x28, 0x3f, 0x40, 0x7f, 0x80, 0x88, 0xc8, 0xff, 116, 117, 118, 119, 125,
]

const randomBytes = (gen: Rng): Uint8Array => {
  const len = prng.int32(gen, 0, 96)
  const out = new Uint8Array(len)
  const mode = prng.int32(gen, 0, 2)
  for (let i = 0; i < len; i++) {
    out[i] =
      mode === 0
        ? prng.int32(gen, 0, 255)
        : mode === 1
          ? prng.int32(gen, 0, 12)
          : prng.bool(gen)
            ? prng.oneOf(gen, INTERESTING)
            : prng.int32(gen, 0, 255)
  }
  return out
}

const splice = (u: Uint8Array, at: number, del: number, insert: ArrayLike<number>): Uint8Array => {
  del = Math.min(del, u.length - at)
  const out = new Uint8Array(u.length - del + insert.length)
  out.set(u.subarray(0, at), 0)
  out.set(insert, at)
  out.set(u.subarray(at + del), at + insert.length)
  return out
}

/** Apply 1-3 random mutations: bit flips, truncation, splices, interesting bytes, varint inflation. */
const mutate = (gen: Rng, u: Uint8Array, corpus: Uint8Array[]): Uint8Array => {
  let out: Uint8Array = Uint8Array.from(u)
  const rounds = prng.int32(gen, 1, 3)
  for (let m = 0; m < rounds; m++) {
    if (out.length === 0) return out
    const at = prng.int32(gen, 0, out.length - 1)
    switch (prng.int32(gen, 0, 8)) {
      case 0: // bit flips
        for (let k = prng.int32(gen, 1, 4); k > 0; k--) {
          const i = prng.int32(gen, 0, out.length - 1)
          out[i] = out[i]! ^ (1 << prng.int32(gen, 0, 7))
        }
        break
      case 1: // truncation
        out = out.slice(0, at)
        break
      case 2: // delete a range
        out = splice(out, at, prng.int32(gen, 1, Math.min(8, out.length - at)), [])
        break
      case 3: // insert random bytes
        out = splice(out, at, 0, randomBytes(gen).subarray(0, prng.int32(gen, 1, 6)))
        break
      case 4: {
        // splice in a slice of another valid update
        const other = prng.oneOf(gen, corpus)
        const from = prng.int32(gen, 0, Math.max(0, other.length - 1))
        out = splice(out, at, prng.int32(gen, 0, 4), other.subarray(from, from + prng.int32(gen, 1, 24)))
        break
      }
      case 5: // interesting byte
      case 6:
        out[at] = prng.oneOf(gen, INTERESTING)
        break
      case 7: {
        // varint inflation: a canonical byte becomes a non-canonical two-byte varint, or a huge value
        const b = out[at]!
        out = prng.bool(gen)
          ? splice(out, at, 1, [0x80 | (b & 0x7f), 0x00])
          : splice(out, at, 1, [0xff, 0xff, 0xff, 0xff, prng.oneOf(gen, [0x0f, 0x7f])])
        break
      }
      default: // small arithmetic change (often keeps the structure valid but moves a clock/client/length)
        out[at] = (out[at]! + prng.int32(gen, -3, 3)) & 0xff
    }
  }
  return out
}

describe('update guard fuzzing', () => {
  const corpus = makeCorpus(SEED, { edits: 300 })
  const valid = corpus.updates.filter((u) => u.length > 2)
  const base = corpus.docs.slice(0, 2).map((d) => Y.encodeStateAsUpdate(d))
  const harness = new Harness(base)
  const heapBefore = process.memoryUsage().heapUsed

  it('known reproductions are refused and leave the document unchanged', () => {
    const repro: [string, Uint8Array][] = [
      // yjs #498: a zero-length buffer made lib0's readVarUint loop forever
      ['#498 empty buffer', new Uint8Array()],
      // yjs #687: a few bytes whose struct count claims billions (Yjs pre-sized `new Array(n)`)
      ['#687 billions of structs', bytes(1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x00, 0x00)],
      ['#687 2^53 structs', bytes(1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 0, 0)],
      // yjs #479 ("garbagedoc", reconstructed): non-update bytes and a doc whose counts and lengths are garbage
      ['#479 json text', new TextEncoder().encode('{"doc":"garbage","v":[1,2,3]}')],
      [
        '#479 garbage counts',
        bytes(0x01, 0xa1, 0x8d, 0xb7, 0x03, 0xcb, 0xf1, 0x02, 0x00, 0x87, 0xff, 0x7f, 0x06, 0x00),
      ],
      ['varint of 150 continuation bytes (lib0 yields NaN)', bytes(Array(150).fill(0x80), 0x00, 0x00)],
      ['self-referencing origin (Yjs throws mid-transaction)', bytes(1, 1, 5, 0, 0x88, 5, 3, 1, 126, 0)],
      ['zero-length GC at clock 0', bytes(1, 2, 5, 0, 0, 0, 0, 0, 0)],
      ['any nesting bomb', bytes(1, 1, 5, 0, 8, 1, varString('list'), 1, Array(50_000).fill([117, 1]).flat(), 126, 0)],
      ['json nesting bomb', bytes(1, 1, 5, 0, 2, 1, varString('list'), 1, varString('['.repeat(100_000)), 0)],
      ['delete set claiming 2^32 ranges', bytes(0, 1, 5, varUint(2 ** 32), 0, 1)],
    ]
    for (const [name, u] of repro) {
      const before = Y.encodeStateAsUpdate(harness.warm)
      const cpu0 = process.cpuUsage()
      expect(() => guardedApply(harness.warm, u), name).toThrow(UpdateRejectedError)
      expect(cpuMsSince(cpu0), name).toBeLessThan(500)
      expect(Y.encodeStateAsUpdate(harness.warm), name).toEqual(before)
    }
  })

  it(`${ITERATIONS} random byte strings`, () => {
    const gen = rng(SEED + 1)
    const stats = newStats()
    const cpu0 = process.cpuUsage()
    for (let i = 0; i < ITERATIONS; i++) harness.feed(randomBytes(gen), stats)
    const ms = cpuMsSince(cpu0)
    console.log(`random bytes: ${JSON.stringify(stats)} in ${ms.toFixed(0)} ms of CPU`)
    expect(stats.accepted + stats.rejected).toBe(ITERATIONS)
    expect(ms).toBeLessThan(maxTotalMs(ITERATIONS))
  })

  it(`${ITERATIONS} mutated valid updates`, () => {
    const gen = rng(SEED + 2)
    const stats = newStats()
    // the target starts empty and accumulates accepted mutants (reset every 64), so mutated structs integrate
    // against each other and full-state mutants keep advancing it
    const accumulating = new Harness([])
    const cpu0 = process.cpuUsage()
    for (let i = 0; i < ITERATIONS; i++) accumulating.feed(mutate(gen, prng.oneOf(gen, valid), valid), stats)
    const ms = cpuMsSince(cpu0)
    console.log(`mutated updates: ${JSON.stringify(stats)} in ${ms.toFixed(0)} ms of CPU`)
    expect(stats.accepted + stats.rejected).toBe(ITERATIONS)
    // the mutator must keep producing applicable inputs, or the apply path is not being fuzzed
    if (ITERATIONS >= 1000) expect(stats.accepted).toBeGreaterThan(ITERATIONS / 50)
    expect(ms).toBeLessThan(maxTotalMs(ITERATIONS))
  })

  it(`${Math.ceil(ITERATIONS / 2)} structurally valid updates with arbitrary references`, () => {
    const gen = rng(SEED + 3)
    const stats = newStats()
    const n = Math.ceil(ITERATIONS / 2)
    const cpu0 = process.cpuUsage()
    for (let i = 0; i < n; i++) {
      const sv = Y.decodeStateVector(Y.encodeStateVector(harness.warm))
      const known = [...sv.keys()].slice(0, 3)
      const clients = [1, 2, 3, ...known]
      const u = randomStructuralUpdate(gen, clients, (c) => sv.get(c) ?? prng.int32(gen, 0, 6))
      // structurally valid input must be accepted (no false rejects) and then must apply
      if (harness.feed(u, stats) === null) throw new Error(`structurally valid input was rejected: ${hex(u)}`)
    }
    const ms = cpuMsSince(cpu0)
    console.log(`structural updates: ${JSON.stringify(stats)} in ${ms.toFixed(0)} ms of CPU`)
    expect(stats.accepted).toBe(n)
    expect(ms).toBeLessThan(maxTotalMs(n))
  })

  it('memory growth stays bounded', () => {
    ;(globalThis as { gc?: () => void }).gc?.()
    const grown = process.memoryUsage().heapUsed - heapBefore
    console.log(`heap growth over the fuzz run: ${(grown / 1024 / 1024).toFixed(1)} MiB`)
    expect(grown).toBeLessThan(256 * 1024 * 1024)
  })
})
