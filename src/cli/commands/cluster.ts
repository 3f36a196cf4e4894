/**
 * Cluster commands against an agent: `peers`, `ring`, `status`.
 *
 * @module
 */
import { intOption, requireArgs } from '../args.js'
import { EXIT_OK } from '../errors.js'
import { formatFields, formatFlag, formatJson, formatTable, formatTags, versionId } from '../format.js'
import type { CommandContext } from './context.js'

/** `peers`: the live members the agent knows. */
export async function peersCommand(ctx: CommandContext): Promise<number> {
  requireArgs(ctx.args, 0, 'confmesh peers')
  const peers = await ctx.client.peers()
  ctx.io.out(
    ctx.json
      ? formatJson(peers)
      : formatTable(
          [
            { header: 'peer', cell: (p) => p.peerId },
            { header: 'connected', cell: (p) => formatFlag(p.connected) },
            { header: 'ready', cell: (p) => formatFlag(p.ready) },
            { header: 'weight', cell: (p) => (p.weight === undefined ? '-' : String(p.weight)) },
            { header: 'tags', cell: (p) => formatTags(p.tags) },
            { header: 'address', cell: (p) => p.addresses?.[0] ?? '-' },
          ],
          peers,
          '(no peers)',
        ),
  )
  return EXIT_OK
}

/**
 * `ring [KEY] [--count N]`: the owners of a key, first owner first; without a key the ring's members with their
 * weights and shares of the key space.
 */
export async function ringCommand(ctx: CommandContext): Promise<number> {
  const [key] = ctx.args.length === 0 ? [] : requireArgs(ctx.args, 1, 'confmesh ring [KEY] [--count N]')
  const answer = await ctx.client.ring(key, intOption(ctx.values, 'count'))
  if (ctx.json) {
    ctx.io.out(formatJson(answer))
    return EXIT_OK
  }
  if (key === undefined) {
    const shares = new Map((answer.shares ?? []).map((s) => [s.peerId, s]))
    ctx.io.out(
      formatTable(
        [
          { header: 'member', cell: (m: string) => m },
          { header: 'weight', cell: (m) => String(shares.get(m)?.weight ?? '-') },
          { header: 'share', cell: (m) => (shares.has(m) ? `${(shares.get(m)!.share * 100).toFixed(1)} %` : '-') },
        ],
        answer.members,
        '(no live members)',
      ),
    )
    return EXIT_OK
  }
  ctx.io.out(
    formatTable(
      [
        { header: 'rank', cell: (r) => String(r.rank) },
        { header: 'owner', cell: (r) => r.peerId },
      ],
      (answer.owners ?? []).map((peerId, i) => ({ rank: i + 1, peerId })),
      '(no live members)',
    ),
  )
  return EXIT_OK
}

/** `status`: the agent's own peer. */
export async function statusCommand(ctx: CommandContext): Promise<number> {
  requireArgs(ctx.args, 0, 'confmesh status')
  const s = await ctx.client.status()
  if (ctx.json) {
    ctx.io.out(formatJson(s))
    return EXIT_OK
  }
  const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v))
  ctx.io.out(
    formatFields([
      ['peer', s.peerId],
      ['mesh', s.meshName],
      ['software', s.version],
      ['access', s.access],
      ['weight', s.member?.weight === undefined ? undefined : String(s.member.weight)],
      ['tags', s.member === undefined ? undefined : formatTags(s.member.tags)],
      ['ready', s.member === undefined ? undefined : formatFlag(s.member.ready)],
      ['config version', s.configVersion === undefined ? undefined : versionId(s.configVersion)],
      ['peers', str(s.peers)],
      ['members', str(s.members)],
      ['document bytes', str(s.documentBytes)],
      ['history entries', str(s.versions)],
      ['namespaces', s.namespaces === undefined ? undefined : s.namespaces.join(', ') || '-'],
      ['uptime', s.uptimeSeconds === undefined ? undefined : `${Math.floor(s.uptimeSeconds)} s`],
      ...(s.addresses ?? []).map((a, i) => [i === 0 ? 'addresses' : '', a] as const),
    ]),
  )
  return EXIT_OK
}
