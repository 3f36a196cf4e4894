/**
 * The agent's options: one table ({@link AGENT_OPTION_SPECS}) drives the command-line flags, the config file
 * (`--config FILE`, YAML or JSON with the same option names, kebab-case or camelCase) and the usage text. Flags win
 * over the file; list options given as flags replace the file's list. Paths in a config file are relative to the
 * file. Adding an option is one row here and its use in `agent.ts`.
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { parse as parseYaml } from 'yaml'
import { AgentOptionsError } from './errors.js'

/** Everything `confmesh node` can be told. */
export interface AgentOptions {
  /** libp2p multiaddrs to listen on. Default the mesh's (`/ip4/127.0.0.1/tcp/0`). */
  listen?: string[]
  /** Multiaddrs of members to join through. */
  bootstrap?: string[]
  /** Mesh name. */
  name?: string
  /** Durable state directory (SQLite). Default none: memory only. */
  dataDir?: string
  /** Serve the HTTP API on `HOST:PORT`. Default: no HTTP API. */
  http?: string
  /** Serve the etcd v3 API on `HOST:PORT` (loopback only: it has no authentication). Default: none. */
  etcd?: string
  /** The namespace the etcd API serves. Default `default`. */
  etcdNamespace?: string
  /** File of `read TOKEN` / `write TOKEN` lines for the HTTP API. */
  httpTokenFile?: string
  /** Peer ids allowed to write (seeds the replicated writer set). */
  writers?: string[]
  /** Ring weight. */
  weight?: number
  /** Tags announced to the mesh. */
  tags?: Record<string, string>
  /** Private-network key file (from `confmesh keygen`). */
  networkKeyFile?: string
  /** Log JSON lines instead of text. */
  json?: boolean
  /** The config file these options were merged with. */
  config?: string
}

type Kind = 'string' | 'strings' | 'path' | 'number' | 'boolean' | 'list' | 'tags'

/** One option: its flag, its key in {@link AgentOptions}, how it is read, and its help line. */
export interface AgentOptionSpec {
  readonly flag: string
  readonly key: keyof AgentOptions
  /**
   * `string`; `strings` (repeatable flag, list in a file); `path` (a file or directory: relative to the config file);
   * `number`; `boolean`; `list` (comma-separated, or a list in a file); `tags` (`k=v`, repeatable; an object or
   * `k=v` list in a file).
   */
  readonly kind: Kind
  readonly arg?: string
  readonly help: string
}

/** Every option of `confmesh node`. */
export const AGENT_OPTION_SPECS: readonly AgentOptionSpec[] = [
  {
    flag: 'config',
    key: 'config',
    kind: 'path',
    arg: 'FILE',
    help: 'YAML or JSON file with these options (flags win)',
  },
  {
    flag: 'data-dir',
    key: 'dataDir',
    kind: 'path',
    arg: 'DIR',
    help: 'keep config, history and identity here (SQLite)',
  },
  { flag: 'listen', key: 'listen', kind: 'strings', arg: 'ADDR', help: 'libp2p multiaddr to listen on (repeatable)' },
  { flag: 'bootstrap', key: 'bootstrap', kind: 'strings', arg: 'ADDR', help: 'member to join through (repeatable)' },
  { flag: 'name', key: 'name', kind: 'string', arg: 'NAME', help: 'mesh name (default confmesh)' },
  { flag: 'http', key: 'http', kind: 'string', arg: 'HOST:PORT', help: 'serve the HTTP API (e.g. 127.0.0.1:8500)' },
  {
    flag: 'http-token-file',
    key: 'httpTokenFile',
    kind: 'path',
    arg: 'FILE',
    help: 'lines "read TOKEN" / "write TOKEN"; required to listen beyond loopback',
  },
  {
    flag: 'writers',
    key: 'writers',
    kind: 'list',
    arg: 'ID,...',
    help: 'peer ids allowed to write (default everyone)',
  },
  {
    flag: 'etcd',
    key: 'etcd',
    kind: 'string',
    arg: 'HOST:PORT',
    help: 'serve the etcd v3 API (e.g. 127.0.0.1:2379; loopback only)',
  },
  {
    flag: 'etcd-namespace',
    key: 'etcdNamespace',
    kind: 'string',
    arg: 'NS',
    help: 'namespace the etcd API serves (default default)',
  },
  { flag: 'weight', key: 'weight', kind: 'number', arg: 'N', help: 'ring weight, 0.01..100 (default 1)' },
  { flag: 'tag', key: 'tags', kind: 'tags', arg: 'K=V', help: 'metadata announced to the mesh (repeatable)' },
  { flag: 'network-key-file', key: 'networkKeyFile', kind: 'path', arg: 'FILE', help: 'private-network key' },
  { flag: 'json', key: 'json', kind: 'boolean', help: 'log JSON lines instead of text' },
]

/** The options block of the usage text. */
export function agentOptionsUsage(): string {
  return AGENT_OPTION_SPECS.map((s) => {
    const left = `  --${s.flag}${s.arg === undefined ? '' : ` ${s.arg}`}`
    return `${left.padEnd(32)} ${s.help}`
  }).join('\n')
}

/** Parsed command line: the merged options, or a request for help. */
export interface ParsedAgentArgs {
  readonly options: AgentOptions
  readonly help: boolean
}

/** Parses `confmesh node` flags (without the word `node`) and merges `--config`. Throws {@link AgentOptionsError}. */
export function parseAgentArgs(argv: string[], cwd = process.cwd()): ParsedAgentArgs {
  const parseOptions: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  }
  for (const s of AGENT_OPTION_SPECS) {
    parseOptions[s.flag] = {
      type: s.kind === 'boolean' ? 'boolean' : 'string',
      ...(s.kind === 'strings' || s.kind === 'tags' ? { multiple: true } : {}),
    }
  }
  let values: Record<string, unknown>
  let positionals: string[]
  try {
    ;({ values, positionals } = parseArgs({ args: argv, options: parseOptions, allowPositionals: true, strict: true }))
  } catch (err) {
    throw new AgentOptionsError((err as Error).message)
  }
  if (positionals.length > 0) throw new AgentOptionsError(`unexpected argument ${JSON.stringify(positionals[0])}`)
  const fromFlags: AgentOptions = {}
  for (const s of AGENT_OPTION_SPECS) {
    const raw = values[s.flag]
    if (raw !== undefined) assign(fromFlags, s, readValue(s, raw, `--${s.flag}`, cwd))
  }
  const help = values.help === true
  if (fromFlags.config === undefined) return { options: fromFlags, help }
  return { options: { ...loadConfigFile(fromFlags.config), ...fromFlags }, help }
}

/** Reads a config file (YAML or JSON: YAML parses both) into options. Throws {@link AgentOptionsError}. */
export function loadConfigFile(path: string): AgentOptions {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new AgentOptionsError(`cannot read --config ${path}: ${(err as Error).message}`)
  }
  let doc: unknown
  try {
    doc = parseYaml(text)
  } catch (err) {
    throw new AgentOptionsError(`--config ${path} is not valid YAML or JSON: ${(err as Error).message}`)
  }
  if (doc === null || doc === undefined) return {}
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new AgentOptionsError(`--config ${path}: expected a mapping`)
  const base = dirname(resolve(path))
  const out: AgentOptions = {}
  for (const [name, raw] of Object.entries(doc as Record<string, unknown>)) {
    const spec = AGENT_OPTION_SPECS.find(
      (s) => s.flag === name || s.key === name || (s.kind === 'tags' && name === 'tags'),
    )
    if (spec === undefined || spec.key === 'config')
      throw new AgentOptionsError(`--config ${path}: unknown option ${JSON.stringify(name)}`)
    assign(out, spec, readValue(spec, raw, `${path}: ${name}`, base))
  }
  return out
}

function assign(target: AgentOptions, spec: AgentOptionSpec, value: unknown): void {
  if (spec.kind === 'tags' && target.tags !== undefined) Object.assign(target.tags, value)
  else (target as Record<string, unknown>)[spec.key] = value
}

/** Converts a flag's or file's raw value by the option's kind. */
function readValue(spec: AgentOptionSpec, raw: unknown, where: string, base: string): unknown {
  const fail = (expected: string): never => {
    throw new AgentOptionsError(`${where}: expected ${expected}, got ${JSON.stringify(raw)}`)
  }
  const str = (v: unknown): string => (typeof v === 'string' && v !== '' ? v : fail('a non-empty string'))
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v])
  switch (spec.kind) {
    case 'string':
      return str(raw)
    case 'path':
      return resolve(base, str(raw))
    case 'strings':
      return list(raw).map(str)
    case 'boolean':
      return typeof raw === 'boolean' ? raw : fail('true or false')
    case 'number': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN
      return Number.isFinite(n) ? n : fail('a number')
    }
    case 'list':
      return list(raw)
        .flatMap((v) => (typeof v === 'string' ? v.split(',') : fail('a comma-separated list or a list of strings')))
        .map((v) => v.trim())
        .filter((v) => v !== '')
    case 'tags': {
      if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
        const tags: Record<string, string> = {}
        for (const [k, v] of Object.entries(raw)) tags[k] = typeof v === 'string' ? v : String(v)
        return tags
      }
      const tags: Record<string, string> = {}
      for (const item of list(raw)) {
        const m = typeof item === 'string' ? /^([^=]+)=(.*)$/.exec(item) : null
        if (m === null) fail('K=V')
        tags[m![1]!] = m![2]!
      }
      return tags
    }
  }
}
