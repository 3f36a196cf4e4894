/**
 * `flags import FILE` against an agent: loads a flagd flag file into a namespace (`--namespace`, default `flags`) as
 * one change; `--replace` also deletes the flags the file does not have. The agent checks the file with flagd's own
 * schema first (a refusal is exit code 3 and writes nothing).
 *
 * @module
 */
import { DEFAULT_FLAG_NAMESPACE } from '../../flags/flag-set.js'
import { requireArgs } from '../args.js'
import { EXIT_OK, UsageError } from '../errors.js'
import { formatJson, versionId } from '../format.js'
import type { CommandContext } from './context.js'
import { readJsonArgument } from './schema.js'

/** `flags import FILE [--namespace NS] [--replace]`. */
export async function flagsCommand(ctx: CommandContext): Promise<number> {
  const [sub, ...args] = ctx.args
  if (sub !== 'import') throw new UsageError('usage: confmesh flags import FILE [--namespace NS] [--replace]')
  const [file] = requireArgs(args, 1, 'confmesh flags import FILE [--namespace NS] [--replace]')
  const namespace = ctx.values.namespace ?? DEFAULT_FLAG_NAMESPACE
  const answer = await ctx.client.importFlags(readJsonArgument(file!), {
    namespace,
    replace: ctx.values.replace === true,
  })
  ctx.io.out(
    ctx.json
      ? formatJson(answer)
      : `imported ${answer.flags.length} flag${answer.flags.length === 1 ? '' : 's'} into ${namespace}: ` +
          `${answer.flags.join(', ') || '-'} (version ${versionId(answer.version)})\n`,
  )
  return EXIT_OK
}
