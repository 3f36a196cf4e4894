/**
 * `schema get|set|delete|validate` against an agent: the mesh's replicated JSON Schemas. `--namespace` picks the
 * namespace (default `default`); a pattern is an exact key or a glob (`limits.*`).
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import type { JsonValue } from '../../config/value.js'
import { requireArgs } from '../args.js'
import { EXIT_NOT_FOUND, EXIT_OK, UsageError } from '../errors.js'
import { formatIssues, formatJson, formatTable, formatValue, versionId } from '../format.js'
import type { CommandContext } from './context.js'

const USAGE =
  'confmesh schema get [PATTERN] | set PATTERN SCHEMA [--force] | delete PATTERN | validate [--namespace NS]'

/** `schema SUBCOMMAND ...`. */
export async function schemaCommand(ctx: CommandContext): Promise<number> {
  const [sub, ...args] = ctx.args
  const { client, namespace, io, json } = ctx
  switch (sub) {
    case 'get': {
      const [pattern] = args.length === 0 ? [] : requireArgs(args, 1, 'confmesh schema get [PATTERN] [--namespace NS]')
      const all = await client.schemas()
      if (pattern !== undefined) {
        const one = all.find((s) => s.namespace === namespace && s.pattern === pattern)
        if (one === undefined) {
          io.err(`confmesh schema: ${namespace}/${pattern} has no schema\n`)
          return EXIT_NOT_FOUND
        }
        io.out(formatJson(json ? one : one.schema))
        return EXIT_OK
      }
      const shown = ctx.values.namespace === undefined ? all : all.filter((s) => s.namespace === namespace)
      io.out(
        json
          ? formatJson(shown)
          : formatTable(
              [
                { header: 'namespace', cell: (s) => s.namespace },
                { header: 'pattern', cell: (s) => s.pattern },
                { header: 'schema', cell: (s) => formatValue(s.schema) },
              ],
              shown,
              '(no schemas)',
            ),
      )
      return EXIT_OK
    }
    case 'set': {
      const [pattern, source] = requireArgs(args, 2, 'confmesh schema set PATTERN SCHEMA [--namespace NS] [--force]')
      const answer = await client.setSchema(namespace, pattern!, readJsonArgument(source!), ctx.values.force === true)
      io.out(
        json ? formatJson(answer) : `schema ${namespace}/${pattern} stored (version ${versionId(answer.version)})\n`,
      )
      return EXIT_OK
    }
    case 'delete': {
      const [pattern] = requireArgs(args, 1, 'confmesh schema delete PATTERN [--namespace NS]')
      const answer = await client.deleteSchema(namespace, pattern!)
      io.out(
        json
          ? formatJson(answer)
          : `schema ${namespace}/${pattern} ${answer.deleted ? 'deleted' : 'was not set'} (version ${versionId(answer.version)})\n`,
      )
      return EXIT_OK
    }
    case 'validate': {
      requireArgs(args, 0, 'confmesh schema validate')
      const answer = await client.validate()
      io.out(json ? formatJson(answer) : answer.valid ? 'every value is valid\n' : formatIssues(answer.issues))
      return answer.valid ? EXIT_OK : EXIT_NOT_FOUND
    }
    default:
      throw new UsageError(`usage: ${USAGE}`)
  }
}

/**
 * A JSON argument: the text itself when it parses as JSON, else the contents of the file it names (which must parse).
 * Throws {@link UsageError} when neither.
 */
export function readJsonArgument(source: string): JsonValue {
  try {
    return JSON.parse(source) as JsonValue
  } catch {
    // not JSON text: a file name
  }
  let text: string
  try {
    text = readFileSync(source, 'utf8')
  } catch (err) {
    throw new UsageError(`${JSON.stringify(source)} is neither JSON nor a readable file (${(err as Error).message})`)
  }
  try {
    return JSON.parse(text) as JsonValue
  } catch (err) {
    throw new UsageError(`${source} is not JSON: ${(err as Error).message}`)
  }
}
