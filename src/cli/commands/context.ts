/**
 * What every command run against an agent receives: the API client, its positional arguments, the parsed options,
 * where to write, and a signal that ends long-running commands (watch, render) on Ctrl-C.
 *
 * @module
 */
import type { ApiClient } from '../../client/api-client.js'
import type { CliValues } from '../args.js'

/** Where the CLI writes, and what ends long-running commands. Tests pass their own. */
export interface CliIo {
  /** Standard output. */
  out(text: string): void
  /** Standard error. */
  err(text: string): void
  /** Environment (`CONFMESH_ENDPOINT`, `CONFMESH_TOKEN`). */
  readonly env: Readonly<Record<string, string | undefined>>
  /** Aborted on SIGINT/SIGTERM: watch and render stop cleanly. */
  readonly signal: AbortSignal
}

/** A command's inputs. */
export interface CommandContext {
  readonly client: ApiClient
  /** Positional arguments after the command name. */
  readonly args: string[]
  readonly values: CliValues
  /** `--json`. */
  readonly json: boolean
  /** `--namespace`, default `'default'`. */
  readonly namespace: string
  readonly io: CliIo
}

/** A command: resolves with its exit code (failures throw; `main` maps them to codes). */
export type Command = (ctx: CommandContext) => Promise<number>
