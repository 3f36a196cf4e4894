/**
 * `confmesh node --etcd`: the agent serves the etcd API (flag, or `etcd:` in its --config file), keeps etcd
 * revisions in its data dir across a clean restart, and refuses a non-loopback etcd address as a bad option (exit 2)
 * before joining anything.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { removeTempDir, runCli, startAgent, tempDir } from '../helpers/agent-process.js'
import { etcdctl } from '../helpers/etcd-processes.js'

const hasEtcdctl = spawnSync('etcdctl', ['version'], { env: { ...process.env, ETCDCTL_API: '3' } }).status === 0

describe.skipIf(!hasEtcdctl)('confmesh node --etcd', () => {
  const dirs: string[] = []
  afterEach(async () => {
    for (const d of dirs.splice(0)) await removeTempDir(d)
  })

  it('serves etcd from the config file and keeps revisions in the data dir across a restart', async () => {
    const dir = await tempDir()
    dirs.push(dir)
    const config = join(dir, 'agent.yaml')
    await writeFile(config, 'etcd: 127.0.0.1:0\netcd-namespace: services\ndata-dir: ./data\n')
    const start = async () => {
      const agent = await startAgent({ args: ['--config', config], http: false })
      const etcd = agent.events.find((e) => e.event === 'started')?.etcd
      expect(typeof etcd).toBe('string')
      return { agent, etcd: etcd as string }
    }
    const first = await start()
    expect((await etcdctl(first.etcd, ['put', 'svc/a', '1'])).code).toBe(0)
    expect((await etcdctl(first.etcd, ['put', 'svc/a', '2'])).code).toBe(0)
    const before = JSON.parse((await etcdctl(first.etcd, ['get', 'svc/a', '-w', 'json'])).stdout)
    expect(await first.agent.stop()).toBe(0)

    const second = await start()
    try {
      const after = JSON.parse((await etcdctl(second.etcd, ['get', 'svc/a', '-w', 'json'])).stdout)
      expect(after.kvs).toEqual(before.kvs)
      expect(after.kvs[0].version).toBe(2)
      expect(after.header.revision).toBe(before.header.revision)
      // the revision state of the served namespace, beside the mesh's database
      expect(existsSync(join(dir, 'data', 'etcd-services.json'))).toBe(true)
    } finally {
      expect(await second.agent.stop()).toBe(0)
    }
  })

  it('refuses --etcd beyond loopback as a bad option, before joining', async () => {
    const r = await runCli(['node', '--etcd', '0.0.0.0:2379'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('EtcdListenError')
    const malformed = await runCli(['node', '--etcd', 'nowhere'])
    expect(malformed.code).toBe(2)
  })
})
