/**
 * `rollout list|start|promote|abort` against an agent: gray releases. `start KEY JSON` releases JSON to `--percent`
 * of the peers (and those with every `--tag K=V`, and each `--peer ID`); running it again with a higher percent widens
 * the same rollout. The ids it prints are what `promote` and `abort` take.
 *
 * @module
 */
import { requireArgs } from '../args.js'
import { EXIT_OK, UsageError } from '../errors.js'
import { formatFlag, formatJson, formatTable, formatTags, formatValue, versionId } from '../format.js'
import type { CommandContext } from './context.js'
import { parseValue } from './kv.js'

const USAGE =
  'confmesh rollout list | start KEY JSON [--percent P] [--tag K=V]... [--peer ID]... | promote ID | abort ID'

/** `rollout SUBCOMMAND ...`. */
export async function rolloutCommand(ctx: CommandContext): Promise<number> {
  const [sub, ...args] = ctx.args
  const { client, io, json } = ctx
  switch (sub) {
    case 'list': {
      requireArgs(args, 0, 'confmesh rollout list')
      const rollouts = await client.rollouts()
      io.out(
        json
          ? formatJson(rollouts)
          : formatTable(
              [
                { header: 'id', cell: (r) => r.id },
                { header: 'key', cell: (r) => `${r.namespace}/${r.key}` },
                { header: 'value', cell: (r) => formatValue(r.value) },
                { header: 'percent', cell: (r) => String(r.percent) },
                {
                  header: 'tags',
                  cell: (r) => (r.tags.length === 0 ? '-' : r.tags.map((t) => formatTags(t)).join(' | ')),
                },
                { header: 'peers', cell: (r) => String(r.peers.length) },
                { header: 'members', cell: (r) => String(r.members) },
                { header: 'this agent', cell: (r) => formatFlag(r.self) },
              ],
              rollouts,
              '(no active rollouts)',
            ),
      )
      return EXIT_OK
    }
    case 'start': {
      const [key, raw] = requireArgs(args, 2, 'confmesh rollout start KEY JSON [--namespace NS] [--percent P] ...')
      const percent = percentOption(ctx.values.percent)
      const tags = tagOptions(ctx.values.tag)
      const value = parseValue(raw!)
      const answer = await client.startRollout({
        namespace: ctx.namespace,
        key: key!,
        value,
        ...(percent === undefined ? {} : { percent }),
        ...(tags === undefined ? {} : { tags }),
        ...(ctx.values.peer === undefined ? {} : { peers: ctx.values.peer }),
      })
      io.out(
        json
          ? formatJson(answer)
          : `rollout ${answer.id}: ${ctx.namespace}/${key} = ${formatValue(value)} for ${groupOf(percent, tags, ctx.values.peer)}` +
              ` (version ${versionId(answer.version)})\n`,
      )
      return EXIT_OK
    }
    case 'promote':
    case 'abort': {
      const [id] = requireArgs(args, 1, `confmesh rollout ${sub} ID`)
      const answer = await client.endRollout(id!, sub)
      io.out(
        json
          ? formatJson(answer)
          : `rollout ${id} ${sub === 'promote' ? 'promoted' : 'aborted'} (version ${versionId(answer.version)})\n`,
      )
      return EXIT_OK
    }
    default:
      throw new UsageError(`usage: ${USAGE}`)
  }
}

/** Who is in the group, in words. */
function groupOf(
  percent: number | undefined,
  tags: Record<string, string> | undefined,
  peers: string[] | undefined,
): string {
  const parts = [`${percent ?? 0} % of the peers`]
  if (tags !== undefined) parts.push(`peers tagged ${formatTags(tags)}`)
  if (peers !== undefined) parts.push(`${peers.length} listed peer${peers.length === 1 ? '' : 's'}`)
  return parts.join(', ')
}

function percentOption(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (raw.trim() === '' || !Number.isFinite(n))
    throw new UsageError(`--percent must be a number, got ${JSON.stringify(raw)}`)
  return n
}

function tagOptions(raw: string[] | undefined): Record<string, string> | undefined {
  if (raw === undefined) return undefined
  const tags: Record<string, string> = {}
  for (const t of raw) {
    const i = t.indexOf('=')
    if (i <= 0) throw new UsageError(`--tag must be KEY=VALUE, got ${JSON.stringify(t)}`)
    tags[t.slice(0, i)] = t.slice(i + 1)
  }
  return tags
}
