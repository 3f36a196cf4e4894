/**
 * The 32-bit hash function of the ring: xxHash32 (xxhash-wasm), loaded once per process.
 *
 * Why xxhash-wasm and not `node:crypto`: the ring hashes every looked-up key, so the hash is the hot path. Measured on
 * Node 20 with 100k short keys: xxhash-wasm `h32` ~12M hashes/s, `h64` ~7.5M/s (bigint result), `createHash('md5')`
 * ~0.56M/s and `sha1` ~0.6M/s (one object per call). A cryptographic hash buys nothing here (placement does not
 * need to resist an adversary choosing keys; bounded loads cap the damage anyway) and `node:crypto` alone would
 * already miss the 1M lookups/s target. xxHash32 is well distributed, specified, and identical on every platform,
 * which is what determinism across peers needs.
 *
 * Why a lazily-awaited loader and not a module-level `await`: top-level await would make importing confmesh
 * itself asynchronous for every consumer (and breaks `require(esm)` on newer Node), and a WebAssembly failure would
 * break the whole import instead of the one call that needs hashing. {@link loadHasher} memoises a single promise,
 * so the wasm module is compiled once however many rings are created.
 *
 * @module
 */
import xxhash from 'xxhash-wasm'

/** A deterministic, seeded 32-bit string hash. Every peer of a mesh must use the same one. */
export interface Hasher {
  /**
   * Hashes the UTF-8 encoding of `input` with `seed` to an unsigned 32-bit integer (`0 .. 2^32-1`).
   * Lone surrogates are encoded as U+FFFD, so they collide with it (harmless for placement).
   */
  hash32(input: string, seed: number): number
}

let loading: Promise<Hasher> | undefined

/**
 * Returns the process-wide xxHash32 {@link Hasher}, compiling the WebAssembly module on first use.
 * Safe to call any number of times; a failed load is retried on the next call.
 */
export function loadHasher(): Promise<Hasher> {
  if (loading === undefined) {
    loading = xxhash().then(
      (api) => ({ hash32: (input: string, seed: number) => api.h32(input, seed) }),
      (err: unknown) => {
        loading = undefined
        throw err
      },
    )
  }
  return loading
}
