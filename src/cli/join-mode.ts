/**
 * Join-briefly mode (no `--endpoint`): the CLI becomes a peer of the mesh for one command. It dials `--bootstrap`,
 * catches up by a full state pull, reads or writes, hands its change to a member, and leaves.
 *
 * @module
 */
import type { JsonValue } from '../config/value.js'
import { type ConfigMesh, createMesh, type MeshOptions } from '../mesh.js'
import { requireArgs } from './args.js'
import type { CliIo } from './commands/context.js'
import { compareText, parseValue } from './commands/kv.js'
import { EXIT_NOT_FOUND, EXIT_OK, UsageError } from './errors.js'
import { formatJson } from './format.js'

/** Runs `command` as a short-lived peer; resolves with the exit code. */
export async function runJoinCommand(
  command: string,
  args: string[],
  options: MeshOptions,
  namespace: string,
  io: CliIo,
): Promise<number> {
  if (options.bootstrap === undefined || options.bootstrap.length === 0) {
    throw new UsageError(`confmesh ${command}: --bootstrap ADDR (or --endpoint URL) is required`)
  }
  const mesh = await createMesh(options)
  try {
    await joinAndCatchUp(mesh, options.bootstrap)
    const space = mesh.namespace(namespace)
    switch (command) {
      case 'get': {
        const [key] = requireArgs(args, 1, 'confmesh get KEY')
        const v = space.get(key!)
        if (v === undefined) {
          io.err(`${namespace}/${key} is not set\n`)
          return EXIT_NOT_FOUND
        }
        io.out(`${JSON.stringify(v)}\n`)
        return EXIT_OK
      }
      case 'set': {
        const [key, raw] = requireArgs(args, 2, 'confmesh set KEY JSON')
        const value: JsonValue = parseValue(raw!)
        await space.set(key!, value)
        await handOver(mesh)
        io.out(`${namespace}/${key} = ${JSON.stringify(value)}\n`)
        return EXIT_OK
      }
      case 'delete': {
        const [key] = requireArgs(args, 1, 'confmesh delete KEY')
        await space.delete(key!)
        await handOver(mesh)
        io.out(`${namespace}/${key} deleted\n`)
        return EXIT_OK
      }
      default: {
        const all = Object.fromEntries(
          [...mesh.namespaces()].sort(compareText).map((n) => [n, mesh.namespace(n).toJSON()]),
        )
        io.out(formatJson(all))
        return EXIT_OK
      }
    }
  } finally {
    await mesh.stop()
  }
}

/**
 * Waits until a bootstrap peer is a connected member, then pulls the full state from it, again until a pull
 * succeeded. (Any member is not enough: another short-lived peer found through peer exchange may hold nothing.)
 */
async function joinAndCatchUp(mesh: ConfigMesh, bootstrap: readonly string[]): Promise<void> {
  const ids = new Set(bootstrap.map((a) => a.split('/p2p/')[1]).filter((id): id is string => id !== undefined))
  const deadline = Date.now() + 10_000
  const failed = (): number => mesh.diagnostics().counters['catchUp.failedPulls'] ?? 0
  for (;;) {
    const ready = mesh.peers().some((p) => p.connected && (ids.size === 0 || ids.has(p.peerId)))
    if (ready) {
      const before = failed()
      await mesh.syncNow()
      if (failed() === before) return
    }
    if (Date.now() > deadline) throw new Error('no bootstrap member of the mesh answered within 10 s')
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** Makes sure a peer holds this client's change before it leaves: a pull makes the peer pull back what it lacks. */
async function handOver(mesh: ConfigMesh): Promise<void> {
  const before = mesh.diagnostics().counters['catchUp.served'] ?? 0
  await mesh.syncNow()
  const deadline = Date.now() + 5_000
  while ((mesh.diagnostics().counters['catchUp.served'] ?? 0) <= before && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10))
  }
}
