/**
 * etcd revisions: the per-agent revision index (create/mod revision and version per key, reads and events at old
 * revisions, compaction), and its persistence in the data dir (revisions keep growing across a clean restart and
 * after a crash; an unreadable state file is a named error).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Etcd3 } from 'etcd3'
import { afterEach, describe, expect, it } from 'vitest'
import { keyRange } from '../../src/etcd/codec.js'
import { CEILING_STEP, openRevisionFile } from '../../src/etcd/revision-file.js'
import { RevisionStore } from '../../src/etcd/revision-store.js'
import { createEtcdApi, createMesh, EtcdStateError } from '../../src/index.js'

const all = keyRange(Buffer.from('\0'), Buffer.from('\0'))
const quiet = { debug() {}, info() {}, warn() {}, error() {} }
const view = (s: RevisionStore, rev = 0) =>
  s.range(all, rev).map((kv) => `${kv.key}=${kv.value} c${kv.createRevision} m${kv.modRevision} v${kv.version}`)

describe('revision index', () => {
  it('numbers every change, keeps versions per key, answers old revisions until compacted', () => {
    const s = new RevisionStore(0)
    expect(s.revision).toBe(1)
    s.apply('a', 'x')
    s.apply('b', { n: 1 })
    s.apply('a', 'y')
    expect(s.apply('zzz', undefined)).toBeUndefined() // deleting an absent key is no change
    s.apply('b', undefined)
    s.apply('b', 'again')
    expect(view(s)).toEqual(['a=y c2 m4 v2', 'b=again c6 m6 v1'])
    expect(view(s, 3)).toEqual(['a=x c2 m2 v1', 'b={"n":1} c3 m3 v1'])
    expect(view(s, 5)).toEqual(['a=y c2 m4 v2'])
    expect(s.eventsFrom(4, all).map((e) => `${e.type} ${e.kv.key} ${e.prev?.value ?? '-'}`)).toEqual([
      'PUT a x',
      'DELETE b {"n":1}',
      'PUT b -',
    ])
    s.compact(5)
    expect(() => s.range(all, 4)).toThrow(/compacted/)
    expect(view(s, 5)).toEqual(['a=y c2 m4 v2'])
    expect(() => s.eventsFrom(4, all)).toThrow(/compacted/)
    expect(s.eventsFrom(5, all).map((e) => e.type)).toEqual(['DELETE', 'PUT'])
    expect(() => s.range(all, 99)).toThrow(/future revision/)
    expect(() => s.compact(5)).toThrow(/compacted/)
  })

  it('counts a change of lease alone as a change; the same value and lease is none', () => {
    const s = new RevisionStore()
    expect(s.apply('a', 'x')).toBe(2)
    expect(s.apply('a', 'x')).toBeUndefined()
    expect(s.apply('a', 'x', '7')).toBe(3)
    expect(s.get('a')).toMatchObject({ version: 2, lease: '7', createRevision: 2, modRevision: 3 })
  })

  it('orders keys by their UTF-8 bytes, like etcd', () => {
    const s = new RevisionStore()
    for (const k of ['\u{1F600}', '\uFF21', 'b', 'a/1', 'a']) s.apply(k, k)
    expect(s.range(all).map((kv) => kv.key.toString())).toEqual(['a', 'a/1', 'b', '\uFF21', '\u{1F600}'])
    expect(s.range(keyRange(Buffer.from('a'), Buffer.from('b'))).map((kv) => kv.key.toString())).toEqual(['a', 'a/1'])
  })

  it('compacts automatically past the retained revisions', () => {
    const s = new RevisionStore(100)
    for (let i = 0; i < 500; i++) s.apply('k', i)
    expect(s.compactRevision).toBeGreaterThanOrEqual(s.revision - 110)
    expect(view(s, s.compactRevision)).toHaveLength(1)
  })

  it('reloads: unchanged keys keep their revisions, changed and vanished ones get new ones', () => {
    const s = new RevisionStore()
    s.apply('same', 'v')
    s.apply('changed', 'old')
    s.apply('gone', 'g')
    const saved = s.state()
    const t = new RevisionStore()
    t.load(
      saved,
      [
        ['same', 'v'],
        ['changed', 'new'],
        ['fresh', 1],
      ],
      () => '0',
    )
    expect(view(t)).toEqual(['changed=new c3 m5 v2', 'fresh=1 c7 m7 v1', 'same=v c2 m2 v1'])
    expect(t.compactRevision).toBe(7)
  })
})

describe('revision state in the data dir', () => {
  const dirs: string[] = []
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'confmesh-etcd-'))
    dirs.push(d)
    return d
  }
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })

  it('keeps revisions across a clean restart of mesh and API', async () => {
    const dataDir = tempDir()
    const start = async () => {
      const mesh = await createMesh({ dataDir })
      const api = await createEtcdApi(mesh, { listen: '127.0.0.1:0', dataDir })
      return { mesh, api, client: new Etcd3({ hosts: api.address }) }
    }
    const first = await start()
    await first.client.put('kept').value('1')
    await first.client.put('bumped').value('a')
    await first.client.put('bumped').value('b')
    const before = await first.client.get('kept').exec()
    first.client.close()
    await first.api.close()
    await first.mesh.stop()

    const second = await start()
    try {
      const after = await second.client.get('kept').exec()
      expect(after.kvs[0]!.mod_revision).toBe(before.kvs[0]!.mod_revision)
      expect(after.header.revision).toBe(before.header.revision)
      const bumped = await second.client.get('bumped').exec()
      expect(bumped.kvs[0]!.version).toBe('2')
      await second.client.put('kept').value('2')
      const next = await second.client.get('kept').exec()
      expect(Number(next.kvs[0]!.mod_revision)).toBe(Number(before.header.revision) + 1)
      expect(next.kvs[0]!.version).toBe('2')
      await expect(second.client.get('kept').revision(2).string()).rejects.toThrow(/compacted/)
    } finally {
      second.client.close()
      await second.api.close()
      await second.mesh.stop()
    }
  })

  it('never reuses a revision after a crash (continues from the reserved ceiling)', async () => {
    const dataDir = tempDir()
    const s = new RevisionStore()
    const file = openRevisionFile({ dataDir, namespace: 'ns/x', state: () => s.state(), logger: quiet })
    expect(file.load()).toBeUndefined()
    s.apply('k', 'v')
    file.changed(s.revision) // first change: reserves a ceiling synchronously
    // no close(): the process "crashed"
    const reopened = openRevisionFile({ dataDir, namespace: 'ns/x', state: () => s.state(), logger: quiet })
    const loaded = reopened.load()!
    expect(loaded.revision).toBe(2 + CEILING_STEP)
    await reopened.close()
  })

  it('refuses an unreadable state file with EtcdStateError', async () => {
    const dataDir = tempDir()
    writeFileSync(join(dataDir, 'etcd-default.json'), '{"format":1,"revision":"x"')
    const mesh = await createMesh()
    try {
      await expect(createEtcdApi(mesh, { listen: '127.0.0.1:0', dataDir })).rejects.toBeInstanceOf(EtcdStateError)
      expect(mesh.peers()).toEqual([]) // the mesh is untouched and running
      await mesh.set('still', 'works')
    } finally {
      await mesh.stop()
    }
  })
})
