import { readFileSync } from 'node:fs'
import { FlagdCore } from '@openfeature/flagd-core'
import { type Client, type EventHandler, OpenFeature, ProviderEvents } from '@openfeature/server-sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ConfigMesh, ConfmeshProvider, InvalidFlagsError, type JsonValue } from '../../src/index.js'
import { startCluster, stopAll } from '../helpers/cluster.js'
import { waitFor } from '../helpers/wait-for.js'

const FILE = readFileSync(new URL('../../examples/feature-flags.flagd.json', import.meta.url), 'utf8')

let a: ConfigMesh
let b: ConfigMesh
let client: Client
let provider: ConfmeshProvider
beforeAll(async () => {
  ;[a, b] = (await startCluster(2)) as [ConfigMesh, ConfigMesh]
  provider = new ConfmeshProvider(b)
  await OpenFeature.setProviderAndWait('peer-b', provider)
  client = OpenFeature.getClient('peer-b')
  expect(await a.importFlags(FILE)).toEqual({
    flags: ['discount', 'header-color', 'legacy-banner', 'new-checkout', 'search-engine'],
  })
  await waitFor(() => b.namespace('flags').keys().length === 7, { message: 'flags to reach b' })
})
afterAll(async () => {
  await OpenFeature.close()
  await stopAll([a, b])
})

/**
 * MurmurHash3 x86 32-bit (seed 0) over the UTF-8 bytes of `s`, written from the published algorithm: an independent
 * check of flagd's `fractional` (bucket = hash * totalWeight >> 32, buckets in file order).
 */
function murmur3(s: string): number {
  const data = new TextEncoder().encode(s)
  let h = 0
  const c1 = 0xcc9e2d51
  const c2 = 0x1b873593
  const blocks = data.length >> 2
  for (let i = 0; i < blocks; i++) {
    let k = data[i * 4]! | (data[i * 4 + 1]! << 8) | (data[i * 4 + 2]! << 16) | (data[i * 4 + 3]! << 24)
    k = Math.imul(k, c1)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, c2)
    h ^= k
    h = (h << 13) | (h >>> 19)
    h = (Math.imul(h, 5) + 0xe6546b64) | 0
  }
  let k = 0
  const tail = blocks * 4
  const rest = data.length & 3
  if (rest >= 3) k ^= data[tail + 2]! << 16
  if (rest >= 2) k ^= data[tail + 1]! << 8
  if (rest >= 1) {
    k ^= data[tail]!
    k = Math.imul(k, c1)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, c2)
    h ^= k
  }
  h ^= data.length
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

describe('feature flags through OpenFeature, two real peers', () => {
  it('stores the flag file unchanged: the namespace reassembles to it', () => {
    const { $schema: _, ...expected } = JSON.parse(FILE)
    expect(provider.flagFile()).toEqual(expected)
  })

  it('evaluates with the right reasons and variants', async () => {
    expect(await client.getBooleanDetails('new-checkout', true)).toMatchObject({
      value: false,
      variant: 'off',
      reason: 'STATIC',
    })
    expect(await client.getNumberDetails('discount', -1, { email: 'ann@example.com' })).toMatchObject({
      value: 25,
      variant: 'staff',
      reason: 'TARGETING_MATCH',
      flagMetadata: { flagSetId: 'shop', version: '1' },
    })
    expect(await client.getNumberDetails('discount', -1, { appVersion: 'v2.3.0' })).toMatchObject({
      value: 10,
      reason: 'TARGETING_MATCH',
    })
    expect(await client.getNumberDetails('discount', -1, { appVersion: '1.9.0' })).toMatchObject({
      value: 0,
      variant: 'none',
      reason: 'DEFAULT',
    })
    expect(await client.getObjectDetails('search-engine', {}, { region: 'eu-west-1' })).toMatchObject({
      value: { engine: 'ann', k: 20 },
      reason: 'TARGETING_MATCH',
    })
    const split = await client.getStringDetails('header-color', 'none', { targetingKey: 'user-1' })
    expect(split.reason).toBe('SPLIT')
    expect(['#c00', '#00c', '#0c0']).toContain(split.value)
    // without a targeting key the split has nothing to hash: default variant
    expect(await client.getStringDetails('header-color', 'none')).toMatchObject({ value: '#c00', reason: 'DEFAULT' })
    expect(await client.getBooleanDetails('legacy-banner', false)).toMatchObject({ value: false, reason: 'DISABLED' })
  })

  it('reports error codes with the caller’s default', async () => {
    expect(await client.getBooleanDetails('no-such-flag', true)).toMatchObject({
      value: true,
      reason: 'ERROR',
      errorCode: 'FLAG_NOT_FOUND',
    })
    expect(await client.getStringDetails('new-checkout', 'dflt')).toMatchObject({
      value: 'dflt',
      reason: 'ERROR',
      errorCode: 'TYPE_MISMATCH',
    })
    // a flag written raw (not through importFlags) by a peer: values from peers are never refused, the flag is
    await a
      .namespace('flags')
      .set('broken', { state: 'ENABLED', variants: { a: 1 }, defaultVariant: 'a', targeting: { nosuchop: [1] } })
    await a.namespace('flags').set('weird', { state: 'MAYBE', variants: { a: 1 }, defaultVariant: 'a' })
    await waitFor(() => b.namespace('flags').has('weird'), { message: 'raw flags to reach b' })
    await waitFor(async () => (await client.getNumberDetails('weird', 7)).errorCode === 'PARSE_ERROR', {
      message: 'the bad flag to parse as an error',
    })
    expect(await client.getNumberDetails('broken', 7)).toMatchObject({
      value: 7,
      reason: 'ERROR',
      errorCode: 'PARSE_ERROR',
    })
    expect(await client.getNumberDetails('weird', 7)).toMatchObject({
      value: 7,
      reason: 'ERROR',
      errorCode: 'PARSE_ERROR',
    })
    // ... and the others keep working
    expect(await client.getBooleanDetails('new-checkout', true)).toMatchObject({ value: false, reason: 'STATIC' })
    await a.namespace('flags').update({ broken: undefined, weird: undefined })
    await waitFor(() => !b.namespace('flags').has('weird'), { message: 'raw flags to go' })
  })

  it('a change on the other peer fires PROVIDER_CONFIGURATION_CHANGED with the changed flag keys', async () => {
    const changes: string[][] = []
    const handler: EventHandler = (e) => void changes.push((e?.flagsChanged as string[] | undefined) ?? [])
    client.addHandler(ProviderEvents.ConfigurationChanged, handler)
    const flag = { ...(b.namespace('flags').get('new-checkout') as object), defaultVariant: 'on' }
    await a.namespace('flags').set('new-checkout', flag)
    await waitFor(() => changes.length === 1, { message: 'the change event on b' })
    expect(changes).toEqual([['new-checkout']])
    expect(await client.getBooleanValue('new-checkout', false)).toBe(true)
    // a changed shared evaluator changes every flag that uses it
    await a.namespace('flags').set('$evaluators', { isStaff: { ends_with: [{ var: 'email' }, '@example.org'] } })
    await waitFor(() => changes.length === 2, { message: 'the evaluator change event on b' })
    expect(changes[1]).toEqual(['discount'])
    expect(await client.getNumberValue('discount', -1, { email: 'ann@example.org' })).toBe(25)
    client.removeHandler(ProviderEvents.ConfigurationChanged, handler)
  })

  it('a rollout of a flag definition changes the flag for the peers in its group only', async () => {
    const changes: string[][] = []
    const handler: EventHandler = (e) => void changes.push((e?.flagsChanged as string[] | undefined) ?? [])
    client.addHandler(ProviderEvents.ConfigurationChanged, handler)
    const aProvider = new ConfmeshProvider(a)
    const base = a.namespace('flags').get('discount') as Record<string, JsonValue>
    const { id } = await a.rollout(
      'flags',
      'discount',
      { ...base, defaultVariant: 'beta', targeting: {} },
      {
        peers: [b.peerId],
      },
    )
    await waitFor(() => changes.length === 1, { message: 'the rollout to reach b’s provider' })
    expect(changes).toEqual([['discount']])
    expect(await client.getNumberDetails('discount', -1)).toMatchObject({ value: 10, reason: 'STATIC' })
    expect(aProvider.resolve('number', 'discount', -1)).toMatchObject({ value: 0, reason: 'DEFAULT' })
    await a.abort(id)
    await waitFor(() => changes.length === 2, { message: 'the abort to reach b’s provider' })
    expect(await client.getNumberDetails('discount', -1)).toMatchObject({ value: 0, reason: 'DEFAULT' })
    await aProvider.onClose()
    client.removeHandler(ProviderEvents.ConfigurationChanged, handler)
  })

  it('refuses a flag file that breaks flagd’s schema; nothing is written', async () => {
    const before = a.version().id
    const bad = JSON.parse(FILE)
    bad.flags['new-checkout'].state = 'ON'
    await expect(a.importFlags(bad)).rejects.toBeInstanceOf(InvalidFlagsError)
    await expect(a.importFlags('{ not json')).rejects.toBeInstanceOf(InvalidFlagsError)
    await expect(
      a.importFlags({ flags: { $metadata: { state: 'ENABLED', variants: { a: true }, defaultVariant: 'a' } } }),
    ).rejects.toBeInstanceOf(InvalidFlagsError)
    expect(a.version().id).toBe(before)
  })

  it('fractional targeting: the same variants as flagd-core’s own evaluator (and flagd’s hash) for 10,000 keys', async () => {
    await a.importFlags(FILE) // back to the file as published
    await waitFor(async () => (await client.getNumberValue('discount', -1, { email: 'x@example.com' })) === 25, {
      message: 'the re-import to reach b',
    })
    const reference = new FlagdCore()
    reference.setConfigurations(FILE)
    const weights: Array<[string, number]> = [
      ['red', 50],
      ['blue', 30],
      ['green', 20],
    ]
    const counts = new Map<string, number>()
    for (let i = 0; i < 10_000; i++) {
      const targetingKey = `user-${i}`
      const mine = await client.getStringDetails('header-color', 'none', { targetingKey })
      const theirs = reference.resolveStringEvaluation('header-color', 'none', { targetingKey })
      expect(mine.variant).toBe(theirs.variant)
      expect(mine.value).toBe(theirs.value)
      const bucket = Number((BigInt(murmur3(`header-color${targetingKey}`)) * 100n) >> 32n)
      const ends = weights.map((_, j) => weights.slice(0, j + 1).reduce((t, [, w]) => t + w, 0))
      const expected = weights[ends.findIndex((end) => bucket < end)]![0]
      expect(mine.variant).toBe(expected)
      counts.set(expected, (counts.get(expected) ?? 0) + 1)
    }
    console.log('header-color over 10,000 keys:', Object.fromEntries(counts))
    expect(Math.abs(counts.get('red')! - 5_000)).toBeLessThan(300)
  })
})
