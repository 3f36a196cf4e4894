/**
 * The test functions an acceptance suite registers its tests with. The suites in `confmesh/testing` never import a
 * test runner themselves: the caller passes its own (`import { describe, it, expect, beforeEach, afterEach } from
 * 'vitest'`), so vitest stays an optional peer dependency and confmesh's runtime never loads it. Only the types come
 * from vitest (`expect`'s matchers); a runner with the same API (Jest's `expect` and globals) works as well.
 *
 * @module
 */
import type { ExpectStatic } from 'vitest'

/** What a test gets from the runner (vitest's context has it). */
export interface TestContext {
  /** Skips the running test. */
  skip(note?: string): void
}

/** The test runner functions a suite uses. */
export interface TestApi {
  describe(name: string, fn: () => void): void
  it(name: string, fn: (context: TestContext) => Promise<void> | void, timeout?: number): void
  expect: ExpectStatic
  beforeEach(fn: () => Promise<void> | void): void
  afterEach(fn: () => Promise<void> | void): void
}
