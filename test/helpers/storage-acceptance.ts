/**
 * The storage acceptance suite lives in `src/testing/storage-acceptance.ts` (exported as `confmesh/testing`); this
 * re-export binds it to vitest for the tests here.
 *
 * @module
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runStorageAcceptance as run, type StorageFixture } from '../../src/testing/storage-acceptance.js'

export { docFrom, recordingDoc, type StorageFixture } from '../../src/testing/storage-acceptance.js'

/** Runs the storage acceptance suite with vitest. */
export function runStorageAcceptance(name: string, setup: () => Promise<StorageFixture> | StorageFixture): void {
  run(name, setup, { describe, it, expect, beforeEach, afterEach })
}
