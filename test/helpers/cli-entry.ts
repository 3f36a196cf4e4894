/**
 * Runs the `confmesh` command from the TypeScript sources (`node --import tsx test/helpers/cli-entry.ts ARGS`): what
 * `bin/confmesh.js` does with the compiled package. Used by `agent-process.ts` with `CONFMESH_TEST_RUNNER=tsx`.
 *
 * @module
 */
import { main } from '../../src/cli/main.js'

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code
  },
  (err: Error) => {
    console.error(err?.message ?? err)
    process.exitCode = 1
  },
)
