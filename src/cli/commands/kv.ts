/**
 * Key-value commands against an agent: `get`, `set`, `delete`, `dump`.
 *
 * @module
 */
import type { JsonValue } from '../../config/value.js'
import { requireArgs } from '../args.js'
import { EXIT_OK } from '../errors.js'
import { formatFields, formatJson, formatTable, formatTime, formatValue, versionId } from '../format.js'
import type { CommandContext } from './context.js'

/** `get KEY`: the entry with its author and time. */
export async function getCommand(ctx: CommandContext): Promise<number> {
  const [key] = requireArgs(ctx.args, 1, 'confmesh get KEY [--namespace NS]')
  const entry = await ctx.client.get(ctx.namespace, key!)
  ctx.io.out(
    ctx.json
      ? formatJson(entry)
      : formatFields([
          ['namespace', entry.namespace],
          ['key', entry.key],
          ['value', formatValue(entry.value)],
          ['author', entry.author],
          ['time', formatTime(entry.time)],
        ]),
  )
  return EXIT_OK
}

/** `set KEY JSON`: JSON that does not parse is taken as a string. */
export async function setCommand(ctx: CommandContext): Promise<number> {
  const [key, raw] = requireArgs(ctx.args, 2, 'confmesh set KEY JSON [--namespace NS]')
  const value = parseValue(raw!)
  const answer = await ctx.client.set(ctx.namespace, key!, value)
  ctx.io.out(
    ctx.json
      ? formatJson(answer)
      : `${ctx.namespace}/${key} = ${formatValue(value)}${answer?.version === undefined ? '' : ` (version ${versionId(answer.version)})`}\n`,
  )
  return EXIT_OK
}

/** `delete KEY`. */
export async function deleteCommand(ctx: CommandContext): Promise<number> {
  const [key] = requireArgs(ctx.args, 1, 'confmesh delete KEY [--namespace NS]')
  const answer = await ctx.client.delete(ctx.namespace, key!)
  ctx.io.out(
    ctx.json ? formatJson(answer) : `${ctx.namespace}/${key} ${answer.deleted === false ? 'was not set' : 'deleted'}\n`,
  )
  return EXIT_OK
}

/** `dump`: every entry of `--namespace`, or of every namespace the agent holds. */
export async function dumpCommand(ctx: CommandContext): Promise<number> {
  requireArgs(ctx.args, 0, 'confmesh dump [--namespace NS] [--prefix P]')
  const names = ctx.values.namespace === undefined ? await ctx.client.namespaces() : [ctx.values.namespace]
  const all: Record<string, Record<string, JsonValue>> = {}
  for (const name of [...names].sort(compareText)) {
    all[name] = (await ctx.client.list(name, ctx.values.prefix)).entries
  }
  if (ctx.json) {
    ctx.io.out(formatJson(all))
    return EXIT_OK
  }
  const rows = Object.entries(all).flatMap(([namespace, entries]) =>
    Object.keys(entries)
      .sort(compareText)
      .map((key) => ({ namespace, key, value: entries[key] })),
  )
  ctx.io.out(
    formatTable(
      [
        { header: 'namespace', cell: (r) => r.namespace },
        { header: 'key', cell: (r) => r.key },
        { header: 'value', cell: (r) => formatValue(r.value) },
      ],
      rows,
      '(no entries)',
    ),
  )
  return EXIT_OK
}

/** A command-line value: JSON if it parses, else the text itself. */
export function parseValue(raw: string): JsonValue {
  try {
    return JSON.parse(raw) as JsonValue
  } catch {
    return raw
  }
}

/** Code-unit order (the same on every machine, unlike `localeCompare`). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
