/**
 * `confmesh node`: the long-running agent. {@link runNodeCommand} parses the flags (and `--config`), starts the
 * agent, prints where it listens, logs every change and membership change, and on SIGINT/SIGTERM (or `io.signal`)
 * stops cleanly: exit code 0, nothing lost (with `--data-dir` every acknowledged write is on disk).
 *
 * Output: text lines `peer ID`, `listening ADDR`..., `http URL` (with `--http`), `etcd HOST:PORT` (with `--etcd`), `ready`; or with `--json` one line
 * `{"event":"started","peerId","addresses","http","etcd","dataDir"}`; then one line per event (`change`, `peers`),
 * `stopping`, `stopped`. Exit codes: 0 stopped cleanly, 1 failed, 2 bad options.
 *
 * @module
 */
import { ConfmeshError } from '../errors.js'
import { EtcdListenError } from '../etcd/errors.js'
import { InsecureListenError, InvalidListenAddressError, InvalidTokenFileError } from '../http/errors.js'
import { startAgent } from './agent.js'
import { type AgentIo, createAgentLog } from './agent-log.js'
import { AgentOptionsError } from './errors.js'
import { agentOptionsUsage, parseAgentArgs } from './options.js'

export type { Agent } from './agent.js'
export { startAgent } from './agent.js'
export type { AgentIo, AgentLog } from './agent-log.js'
export { createAgentLog } from './agent-log.js'
export { AgentOptionsError } from './errors.js'
export { AGENT_OPTION_SPECS, type AgentOptions, loadConfigFile, parseAgentArgs } from './options.js'

/** The usage text of `confmesh node`. */
export function nodeUsage(): string {
  return `confmesh node [options]: run a peer of the mesh until SIGINT/SIGTERM, optionally serving the HTTP API
and the etcd API

Options:
${agentOptionsUsage()}
  -h, --help                       this text
`
}

/** Where `runNodeCommand` writes, and (optionally) what stops it instead of SIGINT/SIGTERM. */
export interface NodeCommandIo extends AgentIo {
  readonly signal?: AbortSignal
}

const processIo: NodeCommandIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
}

/** Runs `confmesh node ARGV` (ARGV without the word `node`); resolves with the exit code once stopped. */
export async function runNodeCommand(argv: string[], io: NodeCommandIo = processIo): Promise<number> {
  let parsed: ReturnType<typeof parseAgentArgs>
  try {
    parsed = parseAgentArgs(argv)
  } catch (err) {
    io.err(`confmesh node: ${(err as Error).message}\n\n${nodeUsage()}`)
    return 2
  }
  if (parsed.help) {
    io.out(nodeUsage())
    return 0
  }
  const { options } = parsed
  const json = options.json === true
  const log = createAgentLog(io, json)
  const stopSignal = io.signal ?? processSignal()
  let agent: Awaited<ReturnType<typeof startAgent>>
  try {
    agent = await startAgent(options, log)
  } catch (err) {
    const e = err as Error
    io.err(`confmesh node: ${err instanceof ConfmeshError ? `${e.name}: ` : ''}${e.message}\n`)
    return isOptionsError(err) ? 2 : 1
  }
  const { mesh, api, etcd } = agent
  mesh.watchAll((e) => log.change(e))
  mesh.events.addEventListener('peers:change', (evt) => {
    const { joined, left, members } = evt.detail
    log.event('peers', { joined, left, members }, [
      ...joined.map((p) => `peer joined ${p} (${members.length} live)`),
      ...left.map((p) => `peer left ${p} (${members.length} live)`),
    ])
  })
  log.event(
    'started',
    {
      peerId: mesh.peerId,
      addresses: mesh.addresses,
      ...(api === undefined ? {} : { http: api.url }),
      ...(etcd === undefined ? {} : { etcd: etcd.address }),
      ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    },
    [
      `peer ${mesh.peerId}`,
      ...mesh.addresses.map((a) => `listening ${a}`),
      ...(api === undefined ? [] : [`http ${api.url}`]),
      ...(etcd === undefined ? [] : [`etcd ${etcd.address}`]),
      'ready',
    ],
  )
  if (!stopSignal.aborted) await new Promise((resolve) => stopSignal.addEventListener('abort', resolve, { once: true }))
  log.event('stopping', {}, 'stopping...')
  try {
    await agent.stop()
  } catch (err) {
    io.err(`confmesh node: stop failed: ${(err as Error).message}\n`)
    return 1
  }
  log.event('stopped', {}, 'stopped')
  return 0
}

function isOptionsError(err: unknown): boolean {
  return (
    err instanceof AgentOptionsError ||
    err instanceof InvalidTokenFileError ||
    err instanceof InsecureListenError ||
    err instanceof InvalidListenAddressError ||
    err instanceof EtcdListenError
  )
}

/** Aborts on the first SIGINT or SIGTERM (a second one ends the process the default way). */
function processSignal(): AbortSignal {
  const controller = new AbortController()
  const stop = (): void => {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    controller.abort()
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  return controller.signal
}
