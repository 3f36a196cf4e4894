import { defineConfig } from 'vitest/config'

// `npm test` runs unit and integration tests; the slow fault-injection suite (50 SIGKILLs, long churn) runs with
// `npm run test:faults`, which sets CONFMESH_FAULTS=full.
const faults = process.env.CONFMESH_FAULTS === 'full'

export default defineConfig({
  test: {
    setupFiles: ['./src/polyfill.ts'],
    include: faults ? ['test/faults/**/*.test.ts'] : ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
    testTimeout: faults ? 600_000 : 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
})
