/**
 * Seeded randomness for simulations: lib0's Xoroshiro128+ (the generator Yjs's randomized tests use), forked into
 * independent named streams so that adding a draw in one part of a run does not shift every other part's numbers.
 *
 * Guarantees: the same seed gives the same numbers, stream by stream, on every platform; `fork(label)` depends only on
 * the parent's seed and the label, never on how many numbers the parent has drawn.
 *
 * @module
 */
import * as prng from 'lib0/prng'
import type { Random } from '../clock.js'

/** A seeded source of random numbers. */
export interface SeededRandom {
  /** The seed it was created with (print it: it replays the run). */
  readonly seed: number
  /** A number in `[0, 1)`. */
  next: Random
  /** An integer in `[min, max]`. */
  int(min: number, max: number): number
  /** `true` with probability `p`. */
  chance(p: number): boolean
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T
  /** An independent stream named `label`. */
  fork(label: string): SeededRandom
}

/** Creates a seeded random source (`seed`: an unsigned 32-bit integer). */
export function createSeededRandom(seed: number): SeededRandom {
  const s = seed >>> 0
  const gen = prng.create(s)
  const next = (): number => gen.next()
  return {
    seed: s,
    next,
    int: (min, max) => Math.floor(next() * (max + 1 - min)) + min,
    chance: (p) => p > 0 && next() < p,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    fork: (label) => createSeededRandom(hash32(`${s}:${label}`)),
  }
}

/**
 * The seed of a test run: `CONFMESH_SEED` from the environment when set (to replay a printed run), else a fresh
 * random one. Print what this returns.
 */
export function seedFromEnv(env: Record<string, string | undefined> = process.env): number {
  const fromEnv = env.CONFMESH_SEED
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv)
    if (Number.isSafeInteger(n) && n >= 0) return n >>> 0
  }
  return Math.floor(Math.random() * 0x1_0000_0000) >>> 0
}

/** FNV-1a, 32 bits: a stable hash of a string. */
export function hash32(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}
