/**
 * Security with real peers on loopback, the attack inside the test: a private network keeps outsiders out; writers
 * cannot be bypassed by a non-writer's gossip, a forged relay, forged client ids or a crafted catch-up reply; a
 * removed writer's later change is refused while its earlier one stays; read-only peers fail locally; secrets never
 * appear in plain text on disk or on the wire.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type ConfigMesh,
  DataKeyRequiredError,
  generateDataKey,
  generateIdentity,
  generateNetworkKey,
  type Identity,
  NotAuthorizedError,
  SecretKeyMismatchError,
  UnauthorizedUpdateError,
} from '../../src/index.js'
import type { MeshLogger } from '../../src/logger.js'
import { clientIdFor } from '../../src/security/client-id.js'
import { createClientRegistry } from '../../src/security/client-registry.js'
import { isSealed } from '../../src/security/secret-box.js'
import { checkUpdateAuthors, createWriterPolicy } from '../../src/security/writers.js'
import { encodeMessage } from '../../src/wire/codec.js'
import { type Attacker, craftUpdate, createAttacker } from '../helpers/attacker.js'
import { startMesh, stopAll, waitForMembers } from '../helpers/cluster.js'
import { waitFor } from '../helpers/wait-for.js'

const TOPIC = '/confmesh/confmesh/doc/1'

/** A logger that keeps warnings (the named errors of refused input). */
function capturingLogger(lines: string[]): MeshLogger {
  return { debug: () => {}, info: () => {}, warn: (m) => void lines.push(m), error: (m) => void lines.push(m) }
}

/** Open connections of a mesh (to members or not). */
function connectionsOf(mesh: ConfigMesh): number {
  return mesh.diagnostics().counters['transport.connections'] ?? 0
}

/** Waits until the attacker's gossipsub knows every honest peer as a topic subscriber. */
async function waitForTopicPeers(attacker: Attacker, meshes: ConfigMesh[]): Promise<void> {
  await waitFor(
    () => {
      const subs = new Set(attacker.node.services.pubsub.getSubscribers(TOPIC).map((p) => p.toString()))
      return meshes.every((m) => subs.has(m.peerId))
    },
    { timeoutMs: 10_000, message: 'the attacker to see the honest peers on the topic' },
  )
}

describe('private network (networkKey)', () => {
  const meshes: ConfigMesh[] = []
  let attacker: Attacker | undefined

  afterAll(async () => {
    await stopAll(meshes)
    await attacker?.stop()
  })

  it('a peer without the key, or with another key, cannot connect or read anything', async () => {
    const key = generateNetworkKey()
    const a = await startMesh({ networkKey: key })
    meshes.push(a)
    const b = await startMesh({ networkKey: key, bootstrap: [a.addresses[0]!] })
    meshes.push(b)
    await waitForMembers([a, b])
    await a.set('secret.plan', 'only-members')
    await waitFor(() => b.get('secret.plan') === 'only-members', { message: 'b to read the key' })

    const noKey = await startMesh({})
    meshes.push(noKey)
    const wrongKey = await startMesh({ networkKey: generateNetworkKey() })
    meshes.push(wrongKey)
    attacker = await createAttacker()
    const t0 = performance.now()
    const dials = await Promise.allSettled([
      noKey.connect(a.addresses[0]!),
      wrongKey.connect(a.addresses[0]!),
      attacker.connect(a.addresses[0]!),
      a.connect(noKey.addresses[0]!),
    ])
    expect(dials.map((d) => d.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected'])
    console.log(`[security] 4 refused dials took ${(performance.now() - t0).toFixed(0)} ms`)
    await noKey.set('evil', 1).catch(() => {})
    await wrongKey.set('evil', 2)
    await attacker
      .publishUpdate(craftUpdate([{ k: 'evil', v: 3, a: attacker.peerId }], { epoch: 1 }), 1)
      .catch(() => {})

    expect(connectionsOf(noKey)).toBe(0)
    expect(connectionsOf(wrongKey)).toBe(0)
    expect(attacker.connections()).toBe(0)
    expect(connectionsOf(a)).toBe(1) // b only
    for (const outsider of [noKey, wrongKey]) {
      expect(outsider.get('secret.plan')).toBeUndefined()
      expect(outsider.diagnostics().counters['gossip.received']).toBe(0)
      expect(outsider.peers()).toEqual([])
    }
    expect(attacker.captured).toHaveLength(0)
    for (const m of [a, b]) {
      expect(m.get('evil')).toBeUndefined()
      expect(m.diagnostics().counters['gossip.rejected']).toBe(0) // nothing even reached the topic validator
      expect(m.peers().map((p) => p.peerId)).toEqual([m === a ? b.peerId : a.peerId])
    }
  })
})

describe('writers', () => {
  const key = generateNetworkKey()
  const logs = new Map<string, string[]>()
  let w1: ConfigMesh
  let w2: ConfigMesh
  let ro: ConfigMesh
  let honest: ConfigMesh[] = []
  let outsider: Attacker // inside the private network, not a writer
  let insider: Attacker // a writer that forges others' client ids and authors
  let retired: Attacker // a writer that gets removed
  let identities: Identity[]

  beforeAll(async () => {
    identities = await Promise.all([generateIdentity(), generateIdentity(), generateIdentity()])
    const [i1, i2, ir] = identities as [Identity, Identity, Identity]
    const insiderKey = await generateKeyPair('Ed25519')
    const retiredKey = await generateKeyPair('Ed25519')
    outsider = await createAttacker({ networkKey: key })
    insider = await createAttacker({ networkKey: key, privateKey: insiderKey })
    retired = await createAttacker({ networkKey: key, privateKey: retiredKey })
    const writers = [i1.peerId, i2.peerId, insider.peerId, retired.peerId]
    const start = async (identity: Identity, bootstrap: string[]) => {
      const lines: string[] = []
      const mesh = await startMesh({ identity, writers, networkKey: key, bootstrap, logger: capturingLogger(lines) })
      logs.set(mesh.peerId, lines)
      return mesh
    }
    w1 = await start(i1, [])
    w2 = await start(i2, [w1.addresses[0]!])
    ro = await start(ir, [w1.addresses[0]!])
    honest = [w1, w2, ro]
    await waitForMembers(honest)
    // the insider serves a crafted catch-up reply: entries of w1 (author and client id) under its own client id
    await insider.serveCatchUp(() =>
      craftUpdate([{ k: 'mode', v: 'pwned-by-catch-up', a: w1.peerId, e: 5 }], {
        clientId: clientIdFor(insider.peerId, 5),
      }),
    )
    // the outsider serves one too (nobody should even ask it)
    await outsider.serveCatchUp(() => craftUpdate([{ k: 'mode', v: 'pwned', a: outsider.peerId }], { epoch: 3 }))
    for (const attacker of [outsider, insider, retired]) {
      for (const m of honest) await attacker.connect(m.addresses[0]!)
      await waitForTopicPeers(attacker, honest)
    }
  }, 30_000)

  afterAll(async () => {
    await stopAll(honest)
    await Promise.all([outsider, insider, retired].map((a) => a?.stop()))
  })

  it('uses the given identities and reports the writer set', () => {
    expect(w1.peerId).toBe(identities[0]!.peerId)
    expect(ro.writers()).toContain(w1.peerId)
    expect(ro.writers()).not.toContain(ro.peerId)
  })

  it('a read-only peer fails locally with NotAuthorizedError, before anything is sent', async () => {
    const published = ro.diagnostics().counters['gossip.published']
    await expect(ro.set('mode', 'x')).rejects.toBeInstanceOf(NotAuthorizedError)
    await expect(ro.delete('mode')).rejects.toBeInstanceOf(NotAuthorizedError)
    await expect(ro.update({ mode: 'x' })).rejects.toBeInstanceOf(NotAuthorizedError)
    await expect(ro.namespace('payments').set('limit', 1)).rejects.toBeInstanceOf(NotAuthorizedError)
    await expect(ro.snapshot('x')).rejects.toBeInstanceOf(NotAuthorizedError)
    await expect(ro.rollback(ro.version())).rejects.toBeInstanceOf(NotAuthorizedError)
    await expect(ro.setWriters([ro.peerId])).rejects.toBeInstanceOf(NotAuthorizedError)
    await expect(ro.namespace('__confmesh').set('writers', [])).rejects.toThrow(/reserved|not a writer/)
    expect(ro.diagnostics().counters['gossip.published']).toBe(published)
    expect(ro.get('mode')).toBeUndefined()
  })

  it('every honest peer refuses a non-writer publish, a forged relay, forged client ids and crafted catch-up replies', async () => {
    await w1.set('mode', 'safe')
    await waitFor(() => honest.every((m) => m.get('mode') === 'safe'), { message: 'mode=safe everywhere' })
    const before = honest.map((m) => m.diagnostics().counters)

    // 1. a non-writer publishes a change (its own author and bound client id)
    await outsider.publishUpdate(craftUpdate([{ k: 'mode', v: 'pwned', a: outsider.peerId }], { epoch: 3 }), 3)
    // ... and one claiming to be w1 (w1's author and client id)
    await outsider.publishUpdate(craftUpdate([{ k: 'mode', v: 'pwned', a: w1.peerId }], { epoch: 4 }), 4)
    // ... and an announce that would make peers pull from it
    await outsider.publishRaw(encodeMessage({ kind: 'announce', stateVector: new Uint8Array([1, 1, 9]) }))

    // 2. a forged relay: w1's real signed message with its data replaced, sent on by the outsider
    await w1.set('relay.probe', 1)
    const real = await waitFor(() => outsider.captured.find((c) => c.from === w1.peerId), { message: 'a w1 message' })
    const forged = encodeMessage({
      kind: 'update',
      update: craftUpdate([{ k: 'mode', v: 'pwned-relay', a: w1.peerId }], { epoch: 6 }),
      epoch: 6,
    })
    for (const m of [w2, ro]) expect(outsider.relayForged(m.peerId, real.message, forged)).toBe(true)

    // 3. a writer forges another writer's client id and author, on gossip
    await insider.publishUpdate(craftUpdate([{ k: 'mode', v: 'pwned-client-id', a: w1.peerId }], { epoch: 7 }), 7)
    await insider.publishUpdate(
      craftUpdate([{ k: 'mode', v: 'pwned-author', a: w1.peerId, e: 8 }], { clientId: clientIdFor(insider.peerId, 8) }),
      8,
    )

    // 4. crafted catch-up replies: the honest peers pull from the insider (a writer) when it connected and now
    const insiderPulls = honest.map((m) =>
      (m as unknown as { catchUp: { pull(p: string): Promise<number> } }).catchUp.pull(insider.peerId).catch((e) => e),
    )
    const outsiderPulls = honest.map((m) =>
      (m as unknown as { catchUp: { pull(p: string): Promise<number> } }).catchUp.pull(outsider.peerId).catch((e) => e),
    )
    for (const err of await Promise.all(insiderPulls)) expect(err).toMatchObject({ name: 'SyncError' })
    for (const err of await Promise.all(outsiderPulls)) expect(err).toMatchObject({ name: 'SyncError' })

    await waitFor(
      () =>
        honest.every((m, i) => {
          const c = m.diagnostics().counters
          return (
            c['gossip.rejected']! - before[i]!['gossip.rejected']! >= 5 && // outsider x3, insider x2
            (c['security.UnauthorizedUpdateError'] ?? 0) >= 3 // insider gossip x2 + insider catch-up
          )
        }),
      { timeoutMs: 10_000, message: 'every honest peer to refuse the attacks' },
    )
    // a honest write after the attacks arrives (sync point), and nothing of the attacks did
    await w2.set('after', true)
    await waitFor(() => honest.every((m) => m.get('after') === true), { message: 'after=true everywhere' })
    for (const m of honest) {
      expect(m.get('mode')).toBe('safe')
      expect(m.diagnostics().counters['gossip.received']).toBeGreaterThan(0)
      const lines = logs.get(m.peerId)!
      expect(lines.some((l) => l.includes(outsider.peerId) && l.includes('NotAuthorized'))).toBe(true)
      expect(lines.some((l) => /UnauthorizedUpdateError.*client/.test(l))).toBe(true)
    }
    expect(outsider.served).toBe(0) // nobody asks a non-writer for catch-up
    expect(insider.served).toBeGreaterThan(0)
  }, 30_000)

  it('a removed writer: its earlier change stays, its later change is refused', async () => {
    await retired.publishUpdate(craftUpdate([{ k: 'retired.before', v: 1, a: retired.peerId }], { epoch: 11 }), 11)
    await waitFor(() => honest.every((m) => m.get('retired.before') === 1), {
      message: 'the earlier change everywhere',
    })
    await w1.setWriters(w1.writers()!.filter((p) => p !== retired.peerId))
    await waitFor(() => honest.every((m) => !m.writers()!.includes(retired.peerId)), { message: 'the removal' })
    const rejected = honest.map((m) => m.diagnostics().counters['gossip.rejected']!)
    await retired.publishUpdate(craftUpdate([{ k: 'retired.after', v: 2, a: retired.peerId }], { epoch: 12 }), 12)
    await retired.publishUpdate(craftUpdate([{ k: 'retired.before', v: 3, a: retired.peerId }], { epoch: 13 }), 13)
    await waitFor(() => honest.every((m, i) => m.diagnostics().counters['gossip.rejected']! >= rejected[i]! + 2), {
      message: 'the later changes refused',
    })
    await w2.set('after.removal', true)
    await waitFor(() => honest.every((m) => m.get('after.removal') === true), { message: 'sync point' })
    for (const m of honest) {
      expect(m.get('retired.before')).toBe(1)
      expect(m.get('retired.after')).toBeUndefined()
    }
  })

  it("a late read-only joiner catches up from writers only (a removed writer's earlier change included)", async () => {
    const lines: string[] = []
    const late = await startMesh({
      identity: await generateIdentity(),
      writers: [w1.peerId],
      networkKey: key,
      bootstrap: [ro.addresses[0]!], // joins through a read-only peer: it still pulls from writers only
      logger: capturingLogger(lines),
    })
    honest.push(late)
    await waitFor(() => late.get('after.removal') === true && late.get('retired.before') === 1, {
      timeoutMs: 15_000,
      message: 'the late joiner to catch up',
    })
    expect(late.get('mode')).toBe('safe')
    expect(late.writers()).toEqual(w1.writers())
    expect(late.get('retired.after')).toBeUndefined()
    const c = late.diagnostics().counters
    expect(c['catchUp.bytesReceived']).toBeGreaterThan(0)
    expect(c['security.UnauthorizedUpdateError'] ?? 0).toBe(0)
  })
})

describe('secrets', () => {
  const meshes: ConfigMesh[] = []
  let attacker: Attacker | undefined
  let dataDir = ''

  afterAll(async () => {
    await stopAll(meshes)
    await attacker?.stop()
    if (dataDir !== '') await rm(dataDir, { recursive: true, force: true })
  })

  it('a canary secret is nowhere in plain text (data dir, gossip); peers without the key get named errors', async () => {
    const canary = `canary-${Math.random().toString(36).slice(2)}-${Date.now()}`
    const dataKey = generateDataKey()
    dataDir = await mkdtemp(join(tmpdir(), 'confmesh-secret-'))
    const a = await startMesh({ dataKey, dataDir })
    meshes.push(a)
    const b = await startMesh({ dataKey, bootstrap: [a.addresses[0]!] })
    meshes.push(b)
    const noKey = await startMesh({ bootstrap: [a.addresses[0]!] })
    meshes.push(noKey)
    const otherKey = await startMesh({ dataKey: generateDataKey(), bootstrap: [a.addresses[0]!] })
    meshes.push(otherKey)
    await waitForMembers(meshes)
    attacker = await createAttacker()
    for (const m of meshes) await attacker.connect(m.addresses[0]!)
    await waitForTopicPeers(attacker, meshes)

    await a.setSecret('db.password', canary)
    await a.namespace('payments').setSecret('api', { token: canary })
    await waitFor(() => meshes.every((m) => m.namespace('payments').get('api') !== undefined), { message: 'secrets' })

    expect(b.secret('db.password')).toBe(canary)
    expect(b.namespace('payments').secret('api')).toEqual({ token: canary })
    expect(isSealed(noKey.get('db.password'))).toBe(true)
    expect(JSON.stringify(noKey.toJSON())).not.toContain(canary)
    expect(() => noKey.secret('db.password')).toThrow(DataKeyRequiredError)
    expect(() => otherKey.secret('db.password')).toThrow(SecretKeyMismatchError)
    await expect(noKey.setSecret('x', 1)).rejects.toBeInstanceOf(DataKeyRequiredError)
    expect(b.secret('absent')).toBeUndefined()
    await b.set('plain', 1)
    expect(() => b.secret('plain')).toThrow(/NotSealed|not a sealed/)

    await waitFor(() => attacker!.captured.length >= 2, { message: 'gossip captured' })
    const needle = Buffer.from(canary)
    for (const c of attacker.captured) expect(Buffer.from(c.data).includes(needle)).toBe(false)

    await a.stop()
    let files = 0
    const scan = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, e.name)
        if (e.isDirectory()) await scan(p)
        else {
          files++
          expect((await readFile(p)).includes(needle), p).toBe(false)
        }
      }
    }
    await scan(dataDir)
    expect(files).toBeGreaterThan(0)
    console.log(`[security] canary absent from ${files} data-dir files and ${attacker.captured.length} gossip messages`)
  }, 30_000)
})

describe('identity', () => {
  it('createMesh({ identity }) uses it; a data dir holding another identity refuses it with a named error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'confmesh-identity-'))
    try {
      const [id1, id2] = await Promise.all([generateIdentity(), generateIdentity()])
      const first = await startMesh({ identity: id1, dataDir: dir })
      expect(first.peerId).toBe(id1.peerId)
      await first.stop()
      await expect(startMesh({ identity: id2, dataDir: dir })).rejects.toMatchObject({ name: 'DataDirMismatchError' })
      const again = await startMesh({ identity: id1, dataDir: dir })
      expect(again.peerId).toBe(id1.peerId)
      await again.stop()
      const stored = await startMesh({ dataDir: dir })
      expect(stored.peerId).toBe(id1.peerId)
      await stored.stop()
      await expect(startMesh({ identity: { ...id1, peerId: id2.peerId } })).rejects.toMatchObject({
        name: 'InvalidOptionsError',
      })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('client-id collisions', () => {
  it('a client id already bound to one peer is refused for another (the first binding wins)', async () => {
    const [a, b] = await Promise.all([generateIdentity(), generateIdentity()])
    // A birthday search finds two epochs whose 32-bit client ids collide in ~10^5 hashes: what a malicious writer
    // would do (against a chosen victim it takes ~2^32).
    const table = new Map<number, number>()
    for (let e = 0; e < 1 << 17; e++) table.set(clientIdFor(a.peerId, e), e)
    let eb = 0
    while (!table.has(clientIdFor(b.peerId, eb))) eb++
    const ea = table.get(clientIdFor(b.peerId, eb))!
    const client = clientIdFor(a.peerId, ea)
    expect(clientIdFor(b.peerId, eb)).toBe(client)
    const policy = createWriterPolicy({ read: () => undefined })
    const fromA = craftUpdate([{ k: 'x', v: 1, a: a.peerId }], { epoch: ea })
    const fromB = craftUpdate([{ k: 'x', v: 2, a: b.peerId }], { epoch: eb })
    // without a registry the binding check alone accepts both
    checkUpdateAuthors(fromA, { via: 'gossip', from: a.peerId, epoch: ea, policy })
    checkUpdateAuthors(fromB, { via: 'gossip', from: b.peerId, epoch: eb, policy })
    const registry = createClientRegistry()
    checkUpdateAuthors(fromA, { via: 'gossip', from: a.peerId, epoch: ea, policy, registry })
    expect(registry.owner(client)).toBe(a.peerId)
    expect(() => checkUpdateAuthors(fromB, { via: 'gossip', from: b.peerId, epoch: eb, policy, registry })).toThrow(
      UnauthorizedUpdateError,
    )
    expect(() => checkUpdateAuthors(fromB, { via: 'sync', from: a.peerId, policy, registry })).toThrow(/belongs to/)
  })
})
