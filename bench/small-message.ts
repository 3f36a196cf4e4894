/**
 * Question: what does one small message (a SWIM ping, an ack, a gossip RPC) cost in CPU over a cached libp2p stream,
 * with the stock `@chainsafe/libp2p-yamux` (a window update answers every data frame) and with confmesh's
 * (`src/transport/yamux-window.ts`: updates in half-window steps, as hashicorp/yamux and go-yamux)?
 *
 * `--pairs` pairs of libp2p nodes on 127.0.0.1 per muxer (TCP, Noise, the muxer; as `libp2p-node.ts` builds them,
 * without identify or gossip), one stream each way per pair, length-prefixed as `libp2p-stream.ts` frames them. A
 * round sends a 60-byte message each way on every pair every `--interval` ms for `--seconds` s (an idle peer's
 * rate, not a burst: a busy stream would amortise the per-frame costs), and measures the process CPU against the
 * same time spent idle; CPU per message = the difference divided by the messages (a send and a receive each, both
 * ends share the process). The two muxers alternate round by round so machine load hits both alike. Median of
 * `--rounds` rounds.
 *
 *   npx tsx bench/small-message.ts [--rounds=5] [--pairs=10] [--interval=100] [--seconds=10] [--quick]
 *
 * @module
 */
import '../src/polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { StreamMuxerFactory } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import { libp2pTransportStream } from '../src/transport/libp2p-stream.js'
import { noiseCrypto } from '../src/transport/noise-crypto.js'
import type { TransportStream } from '../src/transport/transport.js'
import { halfWindowYamux } from '../src/transport/yamux-window.js'
import { parseCli } from './lib/cli.js'
import { machineLine, sampleMachine, warnIfBusy } from './lib/machine.js'
import { writeResultsSection } from './lib/results.js'

const cli = parseCli()
const ROUNDS = cli.num('rounds', 5, 3)
const PAIRS = cli.num('pairs', 10, 4)
const INTERVAL_MS = cli.num('interval', 100, 100)
const SECONDS = cli.num('seconds', 10, 3)
const PROTOCOL = '/confmesh-bench/small-message/1'
const MESSAGE = new Uint8Array(60)

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

interface Muxed {
  nodes: Libp2p[]
  /** Both directions of every pair. */
  streams: Array<[TransportStream, TransportStream]>
  received: number
}

async function node(muxer: () => () => StreamMuxerFactory, sink: Muxed): Promise<Libp2p> {
  const n = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise({ crypto: noiseCrypto })],
    streamMuxers: [muxer()],
    connectionMonitor: { enabled: false },
  })
  await n.handle(PROTOCOL, async (stream, connection) => {
    const s = libp2pTransportStream(stream, connection.remotePeer.toString(), PROTOCOL, 1024)
    while ((await s.read()) !== undefined) sink.received++
  })
  return n
}

async function muxed(muxer: () => () => StreamMuxerFactory): Promise<Muxed> {
  const m: Muxed = { nodes: [], streams: [], received: 0 }
  for (let p = 0; p < PAIRS; p++) {
    const a = await node(muxer, m)
    const b = await node(muxer, m)
    m.nodes.push(a, b)
    await a.dial(b.getMultiaddrs()[0]!)
    const ab = await a.dialProtocol(b.peerId, PROTOCOL)
    const ba = await b.dialProtocol(a.peerId, PROTOCOL)
    m.streams.push([
      libp2pTransportStream(ab, b.peerId.toString(), PROTOCOL, 1024),
      libp2pTransportStream(ba, a.peerId.toString(), PROTOCOL, 1024),
    ])
  }
  return m
}

/** CPU ms of the process over `SECONDS` s, sending on `m` or not; the messages received meanwhile. */
async function phase(m: Muxed, send: boolean): Promise<{ cpuMs: number; messages: number }> {
  const before = m.received
  const t = process.cpuUsage()
  const end = performance.now() + SECONDS * 1000
  while (performance.now() < end) {
    if (send) for (const [ab, ba] of m.streams) void Promise.all([ab.write(MESSAGE), ba.write(MESSAGE)])
    await sleep(INTERVAL_MS)
  }
  const u = process.cpuUsage(t)
  return { cpuMs: (u.user + u.system) / 1000, messages: m.received - before }
}

/** CPU µs per message sent and received on `m`: a sending phase against an idle one. */
async function perMessageUs(m: Muxed): Promise<number> {
  const idle = await phase(m, false)
  const busy = await phase(m, true)
  return ((busy.cpuMs - idle.cpuMs) * 1000) / Math.max(1, busy.messages)
}

async function main(): Promise<void> {
  const machine = await sampleMachine()
  warnIfBusy(machine)
  const muxers = { stock: () => yamux(), confmesh: () => halfWindowYamux() } as const
  const names = Object.keys(muxers) as Array<keyof typeof muxers>
  const sets = { stock: await muxed(muxers.stock), confmesh: await muxed(muxers.confmesh) }
  const us = { stock: [] as number[], confmesh: [] as number[] }
  for (const n of names) await perMessageUs(sets[n]) // warm-up (JIT)
  for (let r = 0; r < ROUNDS; r++) {
    for (const n of names) us[n].push(await perMessageUs(sets[n]))
    console.log(
      `round ${r + 1}: ${us.stock.at(-1)!.toFixed(0)} / ${us.confmesh.at(-1)!.toFixed(0)} µs per message (stock / confmesh)`,
    )
  }
  for (const s of Object.values(sets)) await Promise.all(s.nodes.map((n) => n.stop()))
  const list = (v: number[]) => v.map((x) => x.toFixed(0)).join(', ')
  const s = median(us.stock)
  const c = median(us.confmesh)
  const row = `| one 60-byte message sent and received, CPU µs | ${s.toFixed(0)} (${list(us.stock)}) | ${c.toFixed(0)} (${list(us.confmesh)}) | ${(c / s).toFixed(2)} |`
  console.log(row)
  writeResultsSection(
    'small-message',
    [
      '## Small-message cost: Yamux window updates (bench/small-message.ts)',
      '',
      machineLine(machine),
      '',
      `\`npx tsx bench/small-message.ts --rounds=${ROUNDS} --pairs=${PAIRS} --interval=${INTERVAL_MS} --seconds=${SECONDS}\`: ` +
        `${PAIRS} pairs of libp2p nodes on 127.0.0.1 per muxer (TCP, Noise, Yamux; no identify or gossip), one stream ` +
        `each way per pair; every ${INTERVAL_MS} ms a 60-byte length-prefixed message each way on every pair (an idle ` +
        "peer's rate, not a burst), for " +
        `${SECONDS} s, against the same time idle: process CPU per message sent and received (both ends share the process). ` +
        'Stock: `@chainsafe/libp2p-yamux` as published (a window update answers every data frame); confmesh: ' +
        '`src/transport/yamux-window.ts` (updates in half-window steps, as hashicorp/yamux and go-yamux). The two ' +
        'alternate round by round; median of the rounds (each round in brackets).',
      '',
      '| measure | stock Yamux | confmesh Yamux | ratio |',
      '| --- | ---: | ---: | ---: |',
      row,
    ].join('\n'),
  )
}

await main()
