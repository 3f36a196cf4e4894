/**
 * Question: what does opening a connection cost in CPU, with the Noise library's own X25519 and with confmesh's
 * (`src/transport/noise-crypto.ts`: raw keys imported as JWK instead of parsed from DER)?
 *
 * Two measures, each alternating the two cryptos round by round in one process so machine load hits both alike:
 * - one X25519 agreement (`generateX25519SharedKey`), CPU µs, median of `--rounds` rounds of 2,000;
 * - one connection between two libp2p nodes on 127.0.0.1 (TCP, Noise XX, Yamux, as `libp2p-node.ts` builds them,
 *   without identify or gossip): dial, upgrade, hang up; process CPU ms per connection (both ends, they share the
 *   process), median of `--rounds` rounds of `--dials` sequential connections.
 *
 *   npx tsx bench/noise-crypto.ts [--rounds=5] [--dials=200] [--quick]
 *
 * @module
 */
import '../src/polyfill.js'
import { type ICryptoInterface, noise } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import { noiseCrypto } from '../src/transport/noise-crypto.js'
import { parseCli } from './lib/cli.js'
import { machineLine, sampleMachine, warnIfBusy } from './lib/machine.js'
import { writeResultsSection } from './lib/results.js'

const cli = parseCli()
const ROUNDS = cli.num('rounds', 5, 3)
const DIALS = cli.num('dials', 200, 40)
const AGREEMENTS = 2_000

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const cpuMs = (since: NodeJS.CpuUsage): number => {
  const u = process.cpuUsage(since)
  return (u.user + u.system) / 1000
}

function agreementUs(crypto: ICryptoInterface): number {
  const a = defaultCrypto.generateX25519KeyPair()
  const b = defaultCrypto.generateX25519KeyPair()
  const t = process.cpuUsage()
  for (let i = 0; i < AGREEMENTS; i++) crypto.generateX25519SharedKey(a.privateKey, b.publicKey)
  return (cpuMs(t) * 1000) / AGREEMENTS
}

async function node(crypto: ICryptoInterface): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise({ crypto })],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    // one host dials the other hundreds of times a second: lift libp2p's per-IP inbound rate limit (5/s)
    connectionManager: { inboundConnectionThreshold: 1_000_000 },
  })
}

async function connectionMs(pair: { a: Libp2p; b: Libp2p }): Promise<number> {
  const addr = pair.b.getMultiaddrs()[0]!
  const t = process.cpuUsage()
  for (let i = 0; i < DIALS; i++) {
    await pair.a.dial(addr)
    await pair.a.hangUp(pair.b.peerId)
  }
  return cpuMs(t) / DIALS
}

async function main(): Promise<void> {
  const machine = await sampleMachine()
  warnIfBusy(machine)
  const cryptos = { library: defaultCrypto, confmesh: noiseCrypto } as const
  const names = Object.keys(cryptos) as Array<keyof typeof cryptos>
  const agree = { library: [] as number[], confmesh: [] as number[] }
  const conn = { library: [] as number[], confmesh: [] as number[] }
  const pairs = {
    library: { a: await node(defaultCrypto), b: await node(defaultCrypto) },
    confmesh: { a: await node(noiseCrypto), b: await node(noiseCrypto) },
  }
  for (const n of names) {
    agreementUs(cryptos[n]) // warm-up (JIT)
    await connectionMs(pairs[n])
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const n of names) {
      agree[n].push(agreementUs(cryptos[n]))
      conn[n].push(await connectionMs(pairs[n]))
    }
    console.log(
      `round ${r + 1}: agreement ${agree.library.at(-1)!.toFixed(0)} / ${agree.confmesh.at(-1)!.toFixed(0)} µs, ` +
        `connection ${conn.library.at(-1)!.toFixed(2)} / ${conn.confmesh.at(-1)!.toFixed(2)} ms (library / confmesh)`,
    )
  }
  for (const p of Object.values(pairs)) await Promise.all([p.a.stop(), p.b.stop()])
  const row = (what: string, xs: { library: number[]; confmesh: number[] }, digits: number) => {
    const l = median(xs.library)
    const c = median(xs.confmesh)
    const list = (v: number[]) => v.map((x) => x.toFixed(digits)).join(', ')
    return `| ${what} | ${l.toFixed(digits)} (${list(xs.library)}) | ${c.toFixed(digits)} (${list(xs.confmesh)}) | ${(c / l).toFixed(2)} |`
  }
  const rows = [row('one X25519 agreement, CPU µs', agree, 0), row('one connection (both ends), CPU ms', conn, 2)]
  console.log(rows.join('\n'))
  writeResultsSection(
    'noise-crypto',
    [
      '## Connection cost: Noise X25519 (bench/noise-crypto.ts)',
      '',
      machineLine(machine),
      '',
      `\`npx tsx bench/noise-crypto.ts --rounds=${ROUNDS} --dials=${DIALS}\`: the Noise library's default crypto ` +
        "against confmesh's (`src/transport/noise-crypto.ts`: the same, but X25519 keys imported raw as JWK " +
        `instead of parsed from DER), alternating round by round in one process. Agreement: CPU per ` +
        `\`generateX25519SharedKey\` over ${AGREEMENTS} calls. Connection: two libp2p nodes on 127.0.0.1 (TCP, Noise ` +
        `XX, Yamux; no identify or gossip), ${DIALS} sequential dial + upgrade + hang-up per round, process CPU per ` +
        'connection (both ends run in this process: three agreements each). Median of the rounds (each round in brackets).',
      '',
      '| measure | library crypto | confmesh crypto | ratio |',
      '| --- | ---: | ---: | ---: |',
      ...rows,
    ].join('\n'),
  )
}

await main()
