/**
 * Atomic file replacement and templates: unchanged content writes nothing, the old mode is kept, no temporary file
 * is left behind, a write into a missing directory is a RenderWriteError; templates name the namespaces they read.
 */
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { writeFileAtomic } from '../../src/render/atomic-write.js'
import { RenderWriteError, TemplateError } from '../../src/render/errors.js'
import { compileTemplate } from '../../src/render/template.js'

describe('writeFileAtomic', () => {
  let dir = ''
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'confmesh-atomic-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('creates, replaces keeping the mode, skips unchanged content, leaves no temp file', async () => {
    const file = join(dir, 'out.conf')
    expect(await writeFileAtomic(file, 'one\n')).toBe(true)
    await chmod(file, 0o600)
    const { ino } = await stat(file)
    expect(await writeFileAtomic(file, 'one\n')).toBe(false)
    expect((await stat(file)).ino).toBe(ino) // not replaced
    expect(await writeFileAtomic(file, 'two\n')).toBe(true)
    expect(await readFile(file, 'utf8')).toBe('two\n')
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect((await stat(file)).ino).not.toBe(ino) // a new file renamed over the old one
    expect(await readdir(dir)).toEqual(['out.conf'])
  })

  it('fails with RenderWriteError (and leaves nothing) when the directory does not exist', async () => {
    await expect(writeFileAtomic(join(dir, 'missing', 'x'), 'x')).rejects.toBeInstanceOf(RenderWriteError)
    await writeFile(join(dir, 'keep'), 'k')
    expect(await readdir(dir)).toEqual(['keep'])
  })
})

describe('compileTemplate', () => {
  it('finds the namespaces a template reads, and whether it picks one by variable', () => {
    const t = compileTemplate('{{ kv.app.port }} {% for b in kv["up-streams"] %}{{ b[0] }}{% endfor %}')
    expect(t.namespaces).toEqual(['app', 'up-streams'])
    expect(t.dynamic).toBe(false)
    expect(compileTemplate('{% assign n = "app" %}{{ kv[n].port }}').dynamic).toBe(true)
  })

  it('renders keys, loops in key order, defaults; strict by default, lenient on request', async () => {
    const t = compileTemplate('{% for e in kv.ns %}{{ e[0] }}={{ e[1] }};{% endfor %} {{ kv.ns.z | default: "d" }}')
    expect(await t.render({ ns: { b: 2, a: 1 } })).toBe('a=1;b=2; d')
    await expect(compileTemplate('{{ kv.ns.missing }}').render({ ns: {} })).rejects.toBeInstanceOf(TemplateError)
    expect(await compileTemplate('[{{ kv.ns.missing }}]', { strict: false }).render({ ns: {} })).toBe('[]')
    expect(() => compileTemplate('{% if %}')).toThrow(TemplateError)
    expect(() => compileTemplate('{% include "/etc/passwd" %}')).toThrow(/Failed to lookup/) // no file access
  })
})
