import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type ConfigMesh,
  createMesh,
  InvalidKeyError,
  InvalidOptionsError,
  InvalidValueError,
  MeshStoppedError,
  type WatchEvent,
} from '../../src/index.js'

let mesh: ConfigMesh
beforeAll(async () => {
  mesh = await createMesh() // alone and offline: no bootstrap
})
afterAll(async () => {
  await mesh.stop()
})

describe('a mesh of one (offline)', () => {
  it('exposes identity and dialable addresses', () => {
    expect(mesh.peerId).toMatch(/^12D3KooW/)
    expect(mesh.addresses.length).toBeGreaterThan(0)
    for (const a of mesh.addresses) expect(a).toMatch(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${mesh.peerId}$`))
    expect(mesh.peers()).toEqual([])
  })

  it('reads its own writes and lists entries sorted', async () => {
    await mesh.set('b', 2)
    await mesh.set('a', { nested: [1, 2, { x: null }] })
    expect(mesh.get('a')).toEqual({ nested: [1, 2, { x: null }] })
    expect(mesh.entries().map(([k]) => k)).toEqual(['a', 'b'])
    expect(mesh.toJSON()).toEqual({ a: { nested: [1, 2, { x: null }] }, b: 2 })
    await mesh.delete('b')
    expect(mesh.has('b')).toBe(false)
  })

  it('keeps the caller object unfrozen and the stored copy immutable', async () => {
    const mine = { limit: 1 }
    await mesh.set('obj', mine)
    mine.limit = 99
    expect(mesh.get('obj')).toEqual({ limit: 1 })
    expect(() => {
      ;(mesh.get('obj') as { limit: number }).limit = 5
    }).toThrow(TypeError)
  })

  it('watch: key, prefix, namespace-wide and all-namespaces listeners, unsubscribe, throwing listener isolated', async () => {
    const byKey: WatchEvent[] = []
    const byPrefix: string[] = []
    const all: string[] = []
    const everywhere: string[] = []
    const off = mesh.watch('w.key', (e) => byKey.push(e))
    mesh.watch({ prefix: 'w.' }, (e) => byPrefix.push(e.key))
    mesh.watch((e) => all.push(e.key))
    mesh.watchAll((e) => everywhere.push(`${e.namespace}/${e.key}`))
    mesh.watch('w.key', () => {
      throw new Error('listener bug')
    })
    await mesh.set('w.key', 1)
    await mesh.set('w.other', 2)
    await mesh.set('x', 3)
    await mesh.namespace('ns').set('w.key', 4)
    off()
    await mesh.set('w.key', 5)
    expect(byKey.map((e) => [e.value, e.previous, e.source, e.namespace])).toEqual([[1, undefined, 'local', 'default']])
    expect(byPrefix).toEqual(['w.key', 'w.other', 'w.key'])
    expect(all).toEqual(['w.key', 'w.other', 'x', 'w.key'])
    expect(everywhere).toEqual(['default/w.key', 'default/w.other', 'default/x', 'ns/w.key', 'default/w.key'])
  })

  it('refuses bad keys and values with named errors and changes nothing', async () => {
    const before = JSON.stringify(mesh.toJSON())
    const sv = JSON.stringify(mesh.diagnostics().stateVector)
    await expect(mesh.set('', 1)).rejects.toThrow(InvalidKeyError)
    await expect(mesh.set('x'.repeat(5000), 1)).rejects.toThrow(InvalidKeyError)
    await expect(mesh.set('k', undefined as never)).rejects.toThrow(InvalidValueError)
    await expect(mesh.set('k', (() => 1) as never)).rejects.toThrow(InvalidValueError)
    await expect(mesh.set('k', Number.NaN)).rejects.toThrow(InvalidValueError)
    await expect(mesh.set('k', 1n as never)).rejects.toThrow(InvalidValueError)
    await expect(mesh.update({ good: 1, bad: Number.POSITIVE_INFINITY })).rejects.toThrow(InvalidValueError)
    expect(() => mesh.namespace('')).toThrow()
    expect(JSON.stringify(mesh.toJSON())).toBe(before)
    expect(JSON.stringify(mesh.diagnostics().stateVector)).toBe(sv)
    expect(mesh.get('good')).toBeUndefined()
  })

  it('refuses bad options with InvalidOptionsError', async () => {
    await expect(createMesh({ name: 'bad name!' })).rejects.toThrow(InvalidOptionsError)
    await expect(createMesh({ bootstrap: ['/ip4/127.0.0.1/tcp/1'] })).rejects.toThrow(InvalidOptionsError)
    await expect(createMesh({ weight: -1 })).rejects.toThrow(InvalidOptionsError)
  })

  it('refuses use after stop with MeshStoppedError; stop is idempotent', async () => {
    const m = await createMesh()
    await m.stop()
    await m.stop()
    await expect(m.set('k', 1)).rejects.toThrow(MeshStoppedError)
  })
})
