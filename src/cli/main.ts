/**
 * The `confmesh` command (bin/confmesh.js calls {@link main}). It dispatches:
 * - `node` to the agent (a long-running peer);
 * - with `--endpoint URL` (or `CONFMESH_ENDPOINT`): every operation against a running agent's HTTP API
 *   (`get set delete dump watch history diff snapshot rollback peers ring status schema rollout flags`, and `render`);
 * - without it: `get set delete dump` by joining the mesh briefly as a peer (`--bootstrap`);
 * - `keygen`.
 *
 * Exit codes: 0 ok, 1 not found or failed, 2 usage, 3 refused by the agent. See {@link USAGE}. The peer stack
 * (libp2p, the agent) is loaded only by the commands that run a peer, so commands against an agent start fast.
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import '../polyfill.js'
import { createApiClient } from '../client/api-client.js'
import { ApiError } from '../client/errors.js'
import { ConfmeshError } from '../errors.js'
import type { MeshOptions } from '../mesh/options.js'
import { type CliValues, type EndpointCommand, findCommand, isEndpointCommand, parseCli, USAGE } from './args.js'
import { peersCommand, ringCommand, statusCommand } from './commands/cluster.js'
import type { CliIo, Command } from './commands/context.js'
import { flagsCommand } from './commands/flags.js'
import { deleteCommand, dumpCommand, getCommand, setCommand } from './commands/kv.js'
import { runRenderCommand } from './commands/render-command.js'
import { rolloutCommand } from './commands/rollout.js'
import { schemaCommand } from './commands/schema.js'
import { diffCommand, historyCommand, rollbackCommand, snapshotCommand } from './commands/versions.js'
import { watchCommand } from './commands/watch.js'
import { EXIT_OK, EXIT_USAGE, exitCodeOf, UsageError } from './errors.js'
import { formatIssues } from './format.js'

export { USAGE } from './args.js'
export type { CliIo } from './commands/context.js'

/** The commands join-briefly mode serves (without `--endpoint`). */
const JOIN_COMMANDS = ['get', 'set', 'delete', 'dump'] as const

const ENDPOINT_HANDLERS: Record<EndpointCommand, Command> = {
  get: getCommand,
  set: setCommand,
  delete: deleteCommand,
  dump: dumpCommand,
  watch: watchCommand,
  history: historyCommand,
  diff: diffCommand,
  snapshot: snapshotCommand,
  rollback: rollbackCommand,
  peers: peersCommand,
  ring: ringCommand,
  status: statusCommand,
  schema: schemaCommand,
  rollout: rolloutCommand,
  flags: flagsCommand,
}

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. `io` defaults to the process. */
export async function main(argv: string[], io?: CliIo): Promise<number> {
  const found = findCommand(argv)
  if (found.command === 'node') {
    // the agent parses its own options; it stops on SIGINT/SIGTERM itself unless the caller gives a signal
    const rest = [...argv.slice(0, found.index), ...argv.slice(found.index + 1)]
    const { runNodeCommand } = await import('../agent/index.js')
    return runNodeCommand(rest, io === undefined ? undefined : { out: io.out, err: io.err, signal: io.signal })
  }
  return runCommand(argv, found.command, io ?? processIo())
}

async function runCommand(argv: string[], found: string | undefined, io: CliIo): Promise<number> {
  let command = found
  try {
    const { values, positionals } = parseCli(argv)
    const args = positionals.slice(1)
    if (values.help === true || command === undefined || command === 'help') {
      io.out(USAGE)
      return command === undefined && values.help !== true ? EXIT_USAGE : EXIT_OK
    }
    if (command === 'keygen') {
      const { generateNetworkKey } = await import('../security/network-key.js')
      io.out(`${generateNetworkKey()}\n`)
      return EXIT_OK
    }
    const endpoint = values.endpoint ?? nonEmpty(io.env.CONFMESH_ENDPOINT)
    if (command === 'render') {
      if (endpoint === undefined)
        throw new UsageError('confmesh render: --endpoint URL (or CONFMESH_ENDPOINT) is required')
      return await runRenderCommand({ endpoint, ...optional('token', token(values, io)) }, values, args, io)
    }
    if (endpoint !== undefined && isEndpointCommand(command)) {
      const client = createApiClient({ endpoint, ...optional('token', token(values, io)) })
      return await ENDPOINT_HANDLERS[command]({
        client,
        args,
        values,
        json: values.json === true,
        namespace: values.namespace ?? 'default',
        io,
      })
    }
    if ((JOIN_COMMANDS as readonly string[]).includes(command)) {
      const { runJoinCommand } = await import('./join-mode.js')
      return await runJoinCommand(command, args, meshOptions(values), values.namespace ?? 'default', io)
    }
    if (isEndpointCommand(command)) {
      throw new UsageError(`confmesh ${command}: needs a running agent: --endpoint URL (or CONFMESH_ENDPOINT)`)
    }
    throw new UsageError(`unknown command ${JSON.stringify(command)}`)
  } catch (err) {
    command ??= 'confmesh'
    const e = err as Error
    if (err instanceof UsageError) io.err(`${e.message}\n\nRun confmesh --help for usage.\n`)
    else io.err(`confmesh ${command}: ${err instanceof ConfmeshError ? `${e.name}: ` : ''}${e.message}\n`)
    if (err instanceof ApiError && err.issues.length > 0) io.err(formatIssues(err.issues))
    return exitCodeOf(err)
  }
}

/** The process's streams and environment; its signal aborts on the first SIGINT/SIGTERM (installed on first use). */
export function processIo(): CliIo {
  let controller: AbortController | undefined
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    env: process.env,
    get signal() {
      if (controller === undefined) {
        const c = new AbortController()
        controller = c
        const stop = (): void => c.abort()
        process.once('SIGINT', stop)
        process.once('SIGTERM', stop)
      }
      return controller.signal
    },
  }
}

function token(values: CliValues, io: CliIo): string | undefined {
  if (values.token !== undefined) return values.token
  if (values['token-file'] !== undefined) {
    try {
      return readFileSync(values['token-file'], 'utf8').trim()
    } catch (err) {
      throw new UsageError(`cannot read --token-file: ${(err as Error).message}`)
    }
  }
  return nonEmpty(io.env.CONFMESH_TOKEN)
}

function meshOptions(values: CliValues): MeshOptions {
  let networkKey: string | undefined
  if (values['network-key-file'] !== undefined) {
    try {
      networkKey = readFileSync(values['network-key-file'], 'utf8')
    } catch (err) {
      throw new UsageError(`cannot read --network-key-file: ${(err as Error).message}`)
    }
  }
  return {
    ...optional('networkKey', networkKey),
    ...optional('listen', values.listen),
    ...optional('bootstrap', values.bootstrap),
    ...optional('name', values.name),
  }
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s
}
