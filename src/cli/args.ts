/**
 * Argument parsing of the `confmesh` command: one option table for every mode (join-briefly, `--endpoint`, render),
 * the usage text, and how the endpoint and token are found (flag first, then `CONFMESH_ENDPOINT` /
 * `CONFMESH_TOKEN`). Unknown options and missing values are a {@link UsageError} (exit code 2).
 *
 * @module
 */
import { parseArgs } from 'node:util'
import { UsageError } from './errors.js'

/** The commands served against a running agent (`--endpoint`). */
export const ENDPOINT_COMMANDS = [
  'get',
  'set',
  'delete',
  'dump',
  'watch',
  'history',
  'diff',
  'snapshot',
  'rollback',
  'peers',
  'ring',
  'status',
  'schema',
  'rollout',
  'flags',
] as const

/** A command served against a running agent. */
export type EndpointCommand = (typeof ENDPOINT_COMMANDS)[number]

/** Whether `command` is one of {@link ENDPOINT_COMMANDS}. */
export function isEndpointCommand(command: string): command is EndpointCommand {
  return (ENDPOINT_COMMANDS as readonly string[]).includes(command)
}

const OPTIONS = {
  // join-briefly mode
  listen: { type: 'string', multiple: true },
  bootstrap: { type: 'string', multiple: true },
  name: { type: 'string' },
  'network-key-file': { type: 'string' },
  // against an agent
  endpoint: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  namespace: { type: 'string' },
  prefix: { type: 'string' },
  limit: { type: 'string' },
  key: { type: 'string' },
  count: { type: 'string', short: 'n' },
  from: { type: 'string' },
  to: { type: 'string' },
  keys: { type: 'string' },
  message: { type: 'string', short: 'm' },
  'last-event-id': { type: 'string' },
  // schema, rollout, flags
  force: { type: 'boolean' },
  percent: { type: 'string' },
  tag: { type: 'string', multiple: true },
  peer: { type: 'string', multiple: true },
  replace: { type: 'boolean' },
  // render
  template: { type: 'string' },
  out: { type: 'string' },
  exec: { type: 'string' },
  once: { type: 'boolean' },
  debounce: { type: 'string' },
  lenient: { type: 'boolean' },
  // common
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

/** Parsed options (every one optional). */
export type CliValues = ReturnType<typeof parseCli>['values']

/** Parses `argv`; throws {@link UsageError} for an unknown option or a missing value. */
export function parseCli(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options: OPTIONS })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

/**
 * The first positional argument of `argv` read leniently (unknown options allowed), with its index: how `main`
 * spots `node`, whose own options the agent parses.
 */
export function findCommand(argv: string[]): { command: string | undefined; index: number } {
  const { tokens } = parseArgs({ args: argv, allowPositionals: true, strict: false, tokens: true, options: OPTIONS })
  const first = tokens.find((t) => t.kind === 'positional')
  return first === undefined ? { command: undefined, index: -1 } : { command: first.value, index: first.index }
}

/** A non-negative integer option, or `undefined` when absent; {@link UsageError} when not an integer. */
export function intOption(values: CliValues, name: 'limit' | 'count' | 'debounce'): number | undefined {
  const raw = values[name]
  if (raw === undefined) return undefined
  if (!/^\d+$/.test(raw)) throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(raw)}`)
  return Number(raw)
}

/** The positional arguments a command needs, or {@link UsageError} naming the usage line. */
export function requireArgs(args: string[], count: number, usage: string): string[] {
  if (args.length < count) throw new UsageError(`usage: ${usage}`)
  if (args.length > count) throw new UsageError(`unexpected argument ${JSON.stringify(args[count])}; usage: ${usage}`)
  return args
}

/** The usage text. */
export const USAGE = `confmesh: a peer-to-peer configuration mesh

Against a running agent (confmesh node --http ...):
  confmesh --endpoint URL [--token TOKEN] [--json] COMMAND ...
  (or set CONFMESH_ENDPOINT and CONFMESH_TOKEN; --token-file FILE reads the token from a file)
  get      KEY [--namespace NS]               one entry (value, author, time)
  set      KEY JSON [--namespace NS]          JSON is parsed as JSON; if it does not parse it is taken as a string
  delete   KEY [--namespace NS]
  dump     [--namespace NS] [--prefix P]      every entry (of one namespace, or of all)
  watch    [--namespace NS] [--prefix P | --key K] [--count N] [--last-event-id ID]
                                              stream changes until Ctrl-C (or N events); reconnects by itself
  history  [--limit N] [--namespace NS] [--key K]
  diff     --from ID [--to ID]                keys that differ between two versions (default to: now)
  snapshot [--message TEXT]                   record a labelled version
  rollback VERSION [--namespace NS] [--keys K1,K2] [--message TEXT]
  peers                                       live members
  ring     [KEY] [--count N]                  the N owners of KEY on the consistent-hash ring (default 1);
                                              without KEY: the members, their weights and shares of the key space
  status                                      the agent's peer id, addresses, version, document size, peer count,
                                              its weight and tags, and what the token may do
  schema get [PATTERN] [--namespace NS]       the stored schemas (or the one of PATTERN, as JSON)
  schema set PATTERN SCHEMA [--namespace NS] [--force]
                                              store a JSON Schema (JSON text or a file) for the keys matching
                                              PATTERN (a key or a glob: limits.*); --force: even if values break it
  schema delete PATTERN [--namespace NS]
  schema validate                             the values that break a stored schema (exit code 1 if any)
  rollout list                                active gray releases and how many members are in each
  rollout start KEY JSON [--namespace NS] [--percent P] [--tag K=V]... [--peer ID]...
                                              release JSON to P % of the peers (and those tagged / listed); run
                                              again with a higher --percent to widen
  rollout promote ID | rollout abort ID       make the value everyone's, or give everyone the old one back
  flags import FILE [--namespace NS] [--replace]
                                              load a flagd flag file (namespace default "flags"); --replace deletes
                                              the flags the file lacks
  render   --template FILE --out FILE [--exec CMD] [--once] [--debounce MS] [--lenient]
                                              write a config file from a Liquid template, again on every change
  Output: readable tables; --json prints the API's JSON (watch: one JSON line per event).
  Exit codes: 0 ok, 1 not found (or the agent could not be reached), 2 usage, 3 refused by the agent (401/403/4xx;
  a schema's refusal lists every violation).

Without --endpoint (join the mesh briefly as a peer, catch up, act, and leave):
  confmesh get    KEY        --bootstrap ADDR [--namespace NS] [--name NAME]
  confmesh set    KEY JSON   --bootstrap ADDR [--namespace NS] [--name NAME]
  confmesh delete KEY        --bootstrap ADDR [--namespace NS] [--name NAME]
  confmesh dump              --bootstrap ADDR [--name NAME]

Run a peer:
  confmesh node   [--data-dir DIR] [--http HOST:PORT] [--listen ADDR]... [--bootstrap ADDR]... [--json] ...
                  the agent: runs until Ctrl-C (confmesh node --help lists every option)
  confmesh keygen  print a new private-network key (save it to a file, mode 0600; pass --network-key-file)

Options:
  --listen ADDR      multiaddr to listen on (default /ip4/127.0.0.1/tcp/0; use /ip4/0.0.0.0/tcp/4001 to serve a LAN)
  --bootstrap ADDR   multiaddr of a member, ending in /p2p/<peerId> (repeatable)
  --name NAME        mesh name (default confmesh)
  --namespace NS     namespace (default "default")
  --network-key-file PATH
                     private-network key file (from confmesh keygen): only peers with it can connect
  --json             machine-readable output
  -h, --help         this text
`
