import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { inRollout, type RolloutRecord, rolloutBucket } from '../../src/index.js'
import { seededRandom, testSeed } from '../helpers/cluster.js'

/** `n` real-looking libp2p peer ids from a seeded generator. */
async function peerIds(n: number, rand: () => number): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const seed = Uint8Array.from({ length: 32 }, () => Math.floor(rand() * 256))
    out.push(peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', seed)).toString())
  }
  return out
}

const rolloutId = (rand: () => number) =>
  `r${Array.from({ length: 16 }, () => Math.floor(rand() * 16).toString(16)).join('')}`
const NO_TAGS = {}
const group = (id: string, percent: number, peers: string[]) =>
  new Set(peers.filter((p) => inRollout(id, { percent, tags: [], peers: [] }, p, NO_TAGS)))

describe('rollout assignment (pure function of rollout id, peer id and tags)', () => {
  it('10 % / 50 % / 100 % of 40 simulated peers: near the target, monotone when widened, same everywhere', async () => {
    const rand = seededRandom(testSeed('rollout-assignment'))
    const peers = await peerIds(40, rand)
    const shares: Record<number, number[]> = { 10: [], 50: [], 100: [] }
    for (let r = 0; r < 200; r++) {
      const id = rolloutId(rand)
      const g10 = group(id, 10, peers)
      const g50 = group(id, 50, peers)
      const g100 = group(id, 100, peers)
      for (const p of g10) expect(g50.has(p)).toBe(true) // widening keeps everyone in
      for (const p of g50) expect(g100.has(p)).toBe(true)
      expect(g100.size).toBe(40)
      // every peer computes the same group: the function reads nothing but its arguments
      expect(group(id, 50, [...peers].reverse())).toEqual(g50)
      shares[10]!.push(g10.size / 40)
      shares[50]!.push(g50.size / 40)
      shares[100]!.push(g100.size / 40)
      // one rollout of 40 peers spreads like a binomial (10 %: sd 1.9 peers); bounds at > 5 sd
      expect(g10.size).toBeLessThanOrEqual(16)
      expect(Math.abs(g50.size - 20)).toBeLessThanOrEqual(16)
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    console.log(
      `mean share over 200 rollouts of 40 peers: 10 % -> ${(mean(shares[10]!) * 100).toFixed(2)} %, 50 % -> ${(mean(shares[50]!) * 100).toFixed(2)} %`,
    )
    expect(Math.abs(mean(shares[10]!) - 0.1)).toBeLessThan(0.02)
    expect(Math.abs(mean(shares[50]!) - 0.5)).toBeLessThan(0.03)
    expect(mean(shares[100]!)).toBe(1)
  })

  it('a single rollout over 20,000 simulated peers lands within 2 % of each target (> 5 sd)', async () => {
    const rand = seededRandom(testSeed('rollout-assignment-4000'))
    const peers = Array.from({ length: 20_000 }, (_, i) => `12D3KooWsimulated${i}x${Math.floor(rand() * 1e9)}`)
    const id = rolloutId(rand)
    for (const target of [10, 50, 100]) {
      const share = (group(id, target, peers).size / peers.length) * 100
      console.log(`20,000 peers at ${target} %: ${share.toFixed(2)} %`)
      expect(Math.abs(share - target)).toBeLessThan(2)
    }
    for (const p of peers.slice(0, 50)) {
      const b = rolloutBucket(id, p)
      expect(b).toBeGreaterThanOrEqual(0)
      expect(b).toBeLessThan(100)
      expect(rolloutBucket(id, p)).toBe(b) // stable
    }
  })

  it('tags (every pair of one selector) and listed peers put a peer in regardless of percent', () => {
    const rec: Pick<RolloutRecord, 'percent' | 'tags' | 'peers'> = {
      percent: 0,
      tags: [{ zone: 'eu', tier: 'canary' }, { role: 'edge' }],
      peers: ['12D3KooWlisted'],
    }
    expect(inRollout('r1', rec, '12D3KooWlisted', {})).toBe(true)
    expect(inRollout('r1', rec, 'x', { zone: 'eu', tier: 'canary', extra: '1' })).toBe(true)
    expect(inRollout('r1', rec, 'x', { zone: 'eu' })).toBe(false)
    expect(inRollout('r1', rec, 'x', { role: 'edge' })).toBe(true)
    expect(inRollout('r1', { ...rec, tags: [{}] }, 'x', {})).toBe(false) // an empty selector selects nobody
    expect(inRollout('r1', { ...rec, tags: [] }, 'x', { zone: 'eu' })).toBe(false)
  })
})
