/**
 * SwimDiscovery's rounds: every second while it dials towards its target of connections (or knows no member), every
 * two once settled (target held, members known), and back to every second when a connection is lost. Virtual time,
 * a transport that only answers `connections()` and `dial()`.
 */
import { describe, expect, it } from 'vitest'
import { DISCOVERY_MS, SETTLED_DISCOVERY_MS, SwimDiscovery } from '../../src/membership/swim-discovery.js'
import type { Transport } from '../../src/transport/transport.js'
import { createVirtualScheduler } from '../../src/transport/virtual-scheduler.js'

const SILENT = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }

function setup(members: number, target: number) {
  const scheduler = createVirtualScheduler()
  const clock = scheduler.clock()
  const connected = new Set<string>()
  const live = Array.from({ length: members }, (_, i) => `m${i}`)
  const rounds: number[] = []
  const transport = {
    peerId: 'self',
    connections: () => [...connected],
    dial: async (addresses: readonly string[]) => {
      connected.add(addresses[0]!.split('/p2p/')[1]!)
    },
  } as unknown as Transport
  const discovery = new SwimDiscovery({
    transport,
    clock,
    random: () => 0.5,
    logger: SILENT,
    seedAddresses: () => ['/ip4/127.0.0.1/tcp/1/p2p/m0'],
    maxConnections: 64,
    targetConnections: target,
    live: () => live,
    isLive: (id) => live.includes(id),
    addressesOf: (id) => [`/ip4/127.0.0.1/tcp/1/p2p/${id}`],
    isProbeConnection: () => false,
    keep: () => {},
    join: () => {},
    onRound: () => rounds.push(clock.now()),
  })
  return { scheduler, discovery, connected, rounds }
}

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!)

describe('SWIM discovery rounds', () => {
  it('run every second while dialling towards the target, every two once it is held, every second again after a loss', async () => {
    const { scheduler, discovery, connected, rounds } = setup(20, 4)
    connected.add('m0')
    discovery.start()
    await scheduler.runFor(10 * DISCOVERY_MS)
    expect(connected.size).toBeGreaterThanOrEqual(4)
    const settledFrom = rounds.findIndex((_, i) => i > 0 && rounds[i]! - rounds[i - 1]! === SETTLED_DISCOVERY_MS)
    expect(settledFrom).toBeGreaterThan(0)
    // before: one-second rounds (dialling); after: two-second rounds
    expect(new Set(gaps(rounds.slice(0, settledFrom)))).toEqual(new Set([DISCOVERY_MS]))
    expect(new Set(gaps(rounds.slice(settledFrom - 1)))).toEqual(new Set([SETTLED_DISCOVERY_MS]))
    // a lost connection: the next round dials again and the one after comes a second later
    for (const id of [...connected].slice(0, 3)) connected.delete(id)
    rounds.length = 0
    await scheduler.runFor(3 * SETTLED_DISCOVERY_MS)
    expect(gaps(rounds)).toContain(DISCOVERY_MS)
    expect(connected.size).toBeGreaterThanOrEqual(4)
    discovery.stop()
  })

  it('keep the one-second round while no member is known', async () => {
    const { scheduler, discovery, connected, rounds } = setup(0, 4)
    connected.add('m0')
    discovery.start()
    await scheduler.runFor(6 * DISCOVERY_MS)
    expect(new Set(gaps(rounds))).toEqual(new Set([DISCOVERY_MS]))
    discovery.stop()
  })
})
