/**
 * Version commands against an agent: `history`, `diff`, `snapshot`, `rollback`.
 *
 * @module
 */
import type { ApiChange } from '../../client/api-client.js'
import { intOption, requireArgs } from '../args.js'
import { EXIT_OK, UsageError } from '../errors.js'
import { formatJson, formatTable, formatTime, formatValue, versionId } from '../format.js'
import type { CommandContext } from './context.js'

/** `history`: newest first. */
export async function historyCommand(ctx: CommandContext): Promise<number> {
  requireArgs(ctx.args, 0, 'confmesh history [--limit N] [--namespace NS] [--key K]')
  const entries = await ctx.client.history({
    limit: intOption(ctx.values, 'limit'),
    namespace: ctx.values.namespace,
    key: ctx.values.key,
  })
  ctx.io.out(
    ctx.json
      ? formatJson(entries)
      : formatTable(
          [
            { header: 'version', cell: (e) => e.id },
            { header: 'time', cell: (e) => formatTime(e.time) },
            { header: 'author', cell: (e) => e.author },
            { header: 'changes', cell: (e) => describeChanges(e.changes) },
            { header: 'message', cell: (e) => e.message ?? '' },
          ],
          entries,
          '(no history)',
        ),
  )
  return EXIT_OK
}

/** `diff --from ID [--to ID]`. */
export async function diffCommand(ctx: CommandContext): Promise<number> {
  const from = ctx.values.from ?? ctx.args[0]
  const to = ctx.values.to ?? (ctx.values.from === undefined ? ctx.args[1] : ctx.args[0])
  if (from === undefined) throw new UsageError('usage: confmesh diff --from ID [--to ID]')
  const changes = await ctx.client.diff(from, to)
  ctx.io.out(ctx.json ? formatJson(changes) : formatChanges(changes, '(no differences)'))
  return EXIT_OK
}

/** `snapshot [--message TEXT]`. */
export async function snapshotCommand(ctx: CommandContext): Promise<number> {
  requireArgs(ctx.args, 0, 'confmesh snapshot [--message TEXT]')
  const answer = await ctx.client.snapshot(ctx.values.message)
  ctx.io.out(ctx.json ? formatJson(answer) : `snapshot ${versionId(answer.version)}\n`)
  return EXIT_OK
}

/** `rollback VERSION [--namespace NS] [--keys K1,K2] [--message TEXT]`. */
export async function rollbackCommand(ctx: CommandContext): Promise<number> {
  const [version] = requireArgs(
    ctx.args,
    1,
    'confmesh rollback VERSION [--namespace NS] [--keys K1,K2] [--message TEXT]',
  )
  const keys = ctx.values.keys?.split(',').filter((k) => k !== '')
  const result = await ctx.client.rollback(version!, {
    ...(ctx.values.namespace === undefined ? {} : { namespace: ctx.values.namespace }),
    ...(keys === undefined ? {} : { keys }),
    ...(ctx.values.message === undefined ? {} : { message: ctx.values.message }),
  })
  if (ctx.json) {
    ctx.io.out(formatJson(result))
    return EXIT_OK
  }
  ctx.io.out(`rolled back to ${version}: new version ${versionId(result.version)}\n`)
  ctx.io.out(formatChanges(result.changes, '(nothing to change)'))
  return EXIT_OK
}

/** Changed keys as a table: namespace, key, before, after. */
export function formatChanges(changes: readonly ApiChange[], empty: string): string {
  return formatTable(
    [
      { header: 'namespace', cell: (c) => c.namespace },
      { header: 'key', cell: (c) => c.key },
      { header: 'before', cell: (c) => formatValue(c.before) },
      { header: 'after', cell: (c) => formatValue(c.after) },
    ],
    changes,
    empty,
  )
}

/** `ns/a, ns/b` (the first three, then `+N more`); `(snapshot)` for none. */
function describeChanges(changes: readonly ApiChange[] | undefined): string {
  if (changes === undefined || changes.length === 0) return '(snapshot)'
  const shown = changes.slice(0, 3).map((c) => `${c.namespace}/${c.key}`)
  return changes.length > 3 ? `${shown.join(', ')} +${changes.length - 3} more` : shown.join(', ')
}
