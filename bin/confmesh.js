#!/usr/bin/env node
// The confmesh command. Runs the compiled CLI (built by `npm install` through the `prepare` script).
import { main } from '../dist/src/cli/main.js'

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code
  },
  (err) => {
    console.error(err?.message ?? err)
    process.exitCode = 1
  },
)
