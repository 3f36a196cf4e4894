/**
 * The embedded renderer (`createRenderer({ mesh })`) over real libp2p peers in this process: a write on one peer is
 * rendered into a file by the renderer on the other; exec runs exactly once per render that changed the file; a
 * failed render (unset key under strict variables) leaves the old file; the file's mode is kept; a change of a
 * namespace the template does not read renders nothing. (The CLI against an agent process: render.test.ts.)
 */
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ConfigMesh } from '../../src/index.js'
import { createRenderer, type Renderer, type RenderResult, TemplateError } from '../../src/render/index.js'
import { startCluster, stopAll } from '../helpers/cluster.js'
import { waitFor } from '../helpers/wait-for.js'

const TEMPLATE = `listen {{ kv.app.port }};
{% for b in kv.upstreams %}server {{ b[1].host }}:{{ b[1].port }};  # {{ b[0] }}
{% endfor %}timeout {{ kv.app.timeout | default: 30 }};
`

describe('embedded renderer over a mesh', () => {
  let meshes: ConfigMesh[] = []
  let dir = ''
  let renderer: Renderer | undefined
  const results: RenderResult[] = []

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'confmesh-render-'))
    results.length = 0
  })
  afterEach(async () => {
    await renderer?.stop()
    renderer = undefined
    await stopAll(meshes)
    meshes = []
    await rm(dir, { recursive: true, force: true })
  })

  const lines = async (file: string): Promise<string[]> =>
    (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '')

  it('renders remote changes, runs exec once per changed render, skips irrelevant and unchanged ones, keeps the mode', async () => {
    meshes = await startCluster(2)
    const [writer, reader] = meshes as [ConfigMesh, ConfigMesh]
    await writer.namespace('app').set('port', 8080)
    await writer.namespace('upstreams').update({ b: { host: '10.0.0.8', port: 80 }, a: { host: '10.0.0.7', port: 80 } })
    await waitFor(() => reader.namespace('upstreams').has('b') && reader.namespace('app').get('port') === 8080)
    const template = join(dir, 'conf.liquid')
    const out = join(dir, 'out.conf')
    const count = join(dir, 'exec-count')
    await writeFile(template, TEMPLATE)
    renderer = createRenderer({
      mesh: reader,
      template,
      out,
      exec: `echo ran >> '${count}'`,
      debounceMs: 20,
      onRender: (r) => results.push(r),
    })
    const first = await renderer.start()
    expect(first).toMatchObject({ ok: true, changed: true })
    expect(await readFile(out, 'utf8')).toBe(
      'listen 8080;\nserver 10.0.0.7:80;  # a\nserver 10.0.0.8:80;  # b\ntimeout 30;\n',
    )
    expect(await lines(count)).toEqual(['ran'])
    await chmod(out, 0o600)

    // a namespace the template does not read: no render at all
    await writer.namespace('elsewhere').set('x', 1)
    // a relevant change
    await writer.namespace('app').set('timeout', 5)
    await waitFor(async () => (await readFile(out, 'utf8')).includes('timeout 5;'), { message: 'the re-render' })
    await waitFor(async () => (await lines(count)).length === 2, { message: 'exec after the re-render' })
    expect((await stat(out)).mode & 0o777).toBe(0o600)
    await waitFor(() => reader.namespace('elsewhere').get('x') === 1)

    // a change of a read namespace that leaves the output as it is: a render, no write, no exec
    await writer.namespace('app').set('unused', true)
    await waitFor(() => results.length === 3, { message: 'the render of an unused key' })
    expect(results[2]).toEqual({ ok: true, changed: false })
    expect(await lines(count)).toEqual(['ran', 'ran'])
    // every render that changed the file ran exec once; the irrelevant namespace caused none
    expect(results.filter((r) => r.ok && r.changed).length).toBe(2)
    expect(renderer.renders).toBe(3)
  })

  it('a failed render (unset key under strict variables) keeps the old file and the renderer recovers', async () => {
    meshes = await startCluster(1)
    const [mesh] = meshes as [ConfigMesh]
    await mesh.namespace('app').set('port', 1)
    const template = join(dir, 'conf.liquid')
    const out = join(dir, 'out.conf')
    await writeFile(template, 'port={{ kv.app.port }}\n')
    const errors: string[] = []
    renderer = createRenderer({
      mesh,
      template,
      out,
      debounceMs: 10,
      onRender: (r) => results.push(r),
      logger: { debug: () => {}, info: () => {}, warn: () => {}, error: (m) => errors.push(m) },
    })
    await renderer.start()
    expect(await readFile(out, 'utf8')).toBe('port=1\n')
    await mesh.namespace('app').delete('port')
    await waitFor(() => results.length === 2, { message: 'the failed render' })
    expect(results[1]).toMatchObject({ ok: false })
    expect((results[1] as { error: Error }).error).toBeInstanceOf(TemplateError)
    expect(errors.join('\n')).toMatch(/undefined variable: kv\.app\.port/)
    expect(await readFile(out, 'utf8')).toBe('port=1\n')
    await mesh.namespace('app').set('port', 2)
    await waitFor(async () => (await readFile(out, 'utf8')) === 'port=2\n', { message: 'recovery' })
  })

  it('a namespace picked by a variable makes every namespace readable and every change relevant', async () => {
    meshes = await startCluster(1)
    const [mesh] = meshes as [ConfigMesh]
    await mesh.namespace('settings').set('active', 'blue')
    await mesh.namespace('blue').set('port', 1)
    const template = join(dir, 'dynamic.liquid')
    const out = join(dir, 'out.conf')
    await writeFile(template, '{% assign ns = kv.settings.active %}port={{ kv[ns].port }}\n')
    renderer = createRenderer({ mesh, template, out, debounceMs: 10 })
    await renderer.start()
    expect(await readFile(out, 'utf8')).toBe('port=1\n')
    await mesh.namespace('green').set('port', 2)
    await mesh.namespace('settings').set('active', 'green')
    await waitFor(async () => (await readFile(out, 'utf8')) === 'port=2\n', { message: 'the switch to green' })
    await mesh.namespace('green').set('port', 3)
    await waitFor(async () => (await readFile(out, 'utf8')) === 'port=3\n', { message: 'a change in green' })
  })

  it('a template that does not parse fails start() with TemplateError and writes nothing', async () => {
    meshes = await startCluster(1)
    const template = join(dir, 'bad.liquid')
    const out = join(dir, 'out.conf')
    await writeFile(template, '{% for x in %}')
    renderer = createRenderer({ mesh: meshes[0]!, template, out })
    await expect(renderer.start()).rejects.toBeInstanceOf(TemplateError)
    await expect(stat(out)).rejects.toMatchObject({ code: 'ENOENT' })
  })
})
