/**
 * The `confmesh` command: run a standalone peer, or read and write a running mesh from the shell.
 *
 * ```
 * confmesh node [--listen ADDR]... [--bootstrap ADDR]... [--name NAME] [--json]
 * confmesh get KEY --bootstrap ADDR [--namespace NS] [--name NAME]
 * confmesh set KEY JSON --bootstrap ADDR [--namespace NS] [--name NAME]
 * confmesh delete KEY --bootstrap ADDR [--namespace NS] [--name NAME]
 * confmesh dump --bootstrap ADDR [--name NAME]
 * confmesh keygen
 * ```
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import '../polyfill.js'
import type { JsonValue } from '../config/value.js'
import { ConfmeshError } from '../errors.js'
import { type ConfigMesh, createMesh } from '../mesh/config-mesh.js'
import type { MeshOptions } from '../mesh/options.js'
import { generateNetworkKey } from '../security/network-key.js'

const USAGE = `confmesh: a peer-to-peer configuration mesh

Usage:
  confmesh node   [--listen ADDR]... [--bootstrap ADDR]... [--name NAME] [--json]
                  Run a standalone peer: prints its addresses, logs every change, Ctrl-C stops it cleanly.
  confmesh get    KEY        --bootstrap ADDR [--namespace NS] [--name NAME]
  confmesh set    KEY JSON   --bootstrap ADDR [--namespace NS] [--name NAME]
                  (JSON is parsed as JSON; if it does not parse it is taken as a string)
  confmesh delete KEY        --bootstrap ADDR [--namespace NS] [--name NAME]
  confmesh dump              --bootstrap ADDR [--name NAME]
                  Join the mesh briefly as a peer, catch up, act, and leave.
  confmesh keygen
                  Print a new private-network key (save it to a file, mode 0600; pass --network-key-file).

Options:
  --listen ADDR      multiaddr to listen on (default /ip4/127.0.0.1/tcp/0; use /ip4/0.0.0.0/tcp/4001 to serve a LAN)
  --bootstrap ADDR   multiaddr of a member, ending in /p2p/<peerId> (repeatable)
  --name NAME        mesh name (default confmesh)
  --namespace NS     namespace (default "default")
  --network-key-file PATH
                     private-network key file (from confmesh keygen): only peers with it can connect
  --json             node: log changes as JSON lines
  -h, --help         this text
`

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`)
    return 2
  }
  const { values, positionals } = parsed
  const [command, ...args] = positionals
  if (values.help === true || command === undefined || command === 'help') {
    process.stdout.write(USAGE)
    return command === undefined && values.help !== true ? 2 : 0
  }
  if (command === 'keygen') {
    process.stdout.write(`${generateNetworkKey()}\n`)
    return 0
  }
  let networkKey: string | undefined
  if (values['network-key-file'] !== undefined) {
    try {
      networkKey = readFileSync(values['network-key-file'], 'utf8')
    } catch (err) {
      process.stderr.write(`cannot read --network-key-file: ${(err as Error).message}\n`)
      return 2
    }
  }
  const options: MeshOptions = {
    ...(networkKey === undefined ? {} : { networkKey }),
    ...(values.listen === undefined ? {} : { listen: values.listen }),
    ...(values.bootstrap === undefined ? {} : { bootstrap: values.bootstrap }),
    ...(values.name === undefined ? {} : { name: values.name }),
  }
  try {
    switch (command) {
      case 'node':
        return await runNode(options, values.json === true)
      case 'get':
      case 'set':
      case 'delete':
      case 'dump':
        if (options.bootstrap === undefined || options.bootstrap.length === 0) {
          process.stderr.write(`confmesh ${command}: --bootstrap ADDR is required\n`)
          return 2
        }
        return await runClient(command, args, options, values.namespace ?? 'default')
      default:
        process.stderr.write(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`)
        return 2
    }
  } catch (err) {
    const e = err as Error
    process.stderr.write(`confmesh ${command}: ${err instanceof ConfmeshError ? `${e.name}: ` : ''}${e.message}\n`)
    return 1
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      listen: { type: 'string', multiple: true },
      bootstrap: { type: 'string', multiple: true },
      name: { type: 'string' },
      namespace: { type: 'string' },
      json: { type: 'boolean' },
      'network-key-file': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
}

async function runNode(options: MeshOptions, json: boolean): Promise<number> {
  const mesh = await createMesh(options)
  const out = (line: string): void => void process.stdout.write(`${line}\n`)
  out(
    json ? JSON.stringify({ event: 'started', peerId: mesh.peerId, addresses: mesh.addresses }) : `peer ${mesh.peerId}`,
  )
  if (!json) for (const a of mesh.addresses) out(`listening ${a}`)
  mesh.watchAll((e) => {
    if (json) out(JSON.stringify({ event: 'change', ...e }))
    else {
      const show = (v: JsonValue | undefined) => (v === undefined ? '(absent)' : JSON.stringify(v))
      out(`${new Date().toISOString()} ${e.source} ${e.namespace}/${e.key}: ${show(e.previous)} -> ${show(e.value)}`)
    }
  })
  mesh.events.addEventListener('peers:change', (evt) => {
    const { joined, left, members } = evt.detail
    if (json) out(JSON.stringify({ event: 'peers', joined, left, members }))
    else {
      for (const p of joined) out(`peer joined ${p} (${members.length} live)`)
      for (const p of left) out(`peer left ${p} (${members.length} live)`)
    }
  })
  await new Promise<void>((resolve) => {
    const done = () => resolve()
    process.once('SIGINT', done)
    process.once('SIGTERM', done)
  })
  out(json ? JSON.stringify({ event: 'stopping' }) : 'stopping...')
  await mesh.stop()
  out(json ? JSON.stringify({ event: 'stopped' }) : 'stopped')
  return 0
}

async function runClient(command: string, args: string[], options: MeshOptions, ns: string): Promise<number> {
  const mesh = await createMesh(options)
  try {
    await joinAndCatchUp(mesh)
    const space = mesh.namespace(ns)
    switch (command) {
      case 'get': {
        const [key] = args
        if (key === undefined) throw new Error('usage: confmesh get KEY')
        const v = space.get(key)
        if (v === undefined) {
          process.stderr.write(`${ns}/${key} is not set\n`)
          return 1
        }
        process.stdout.write(`${JSON.stringify(v)}\n`)
        return 0
      }
      case 'set': {
        const [key, raw] = args
        if (key === undefined || raw === undefined) throw new Error('usage: confmesh set KEY JSON')
        let value: JsonValue
        try {
          value = JSON.parse(raw) as JsonValue
        } catch {
          value = raw
        }
        await space.set(key, value)
        await handOver(mesh)
        process.stdout.write(`${ns}/${key} = ${JSON.stringify(value)}\n`)
        return 0
      }
      case 'delete': {
        const [key] = args
        if (key === undefined) throw new Error('usage: confmesh delete KEY')
        await space.delete(key)
        await handOver(mesh)
        process.stdout.write(`${ns}/${key} deleted\n`)
        return 0
      }
      default: {
        const all = Object.fromEntries(mesh.namespaces().map((n) => [n, mesh.namespace(n).toJSON()]))
        process.stdout.write(`${JSON.stringify(all, null, 2)}\n`)
        return 0
      }
    }
  } finally {
    await mesh.stop()
  }
}

/** Waits for a connection to a member, then pulls the full state. */
async function joinAndCatchUp(mesh: ConfigMesh): Promise<void> {
  const deadline = Date.now() + 10_000
  while (mesh.peers().length === 0) {
    if (Date.now() > deadline) throw new Error('no member of the mesh answered within 10 s')
    await new Promise((r) => setTimeout(r, 25))
  }
  await mesh.syncNow()
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
