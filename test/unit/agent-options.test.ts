import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { AgentOptionsError } from '../../src/agent/errors.js'
import { loadConfigFile, parseAgentArgs } from '../../src/agent/options.js'

const dir = mkdtempSync(join(tmpdir(), 'confmesh-agent-options-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('confmesh node options', () => {
  it('parses every flag', () => {
    const { options, help } = parseAgentArgs(
      [
        '--data-dir',
        'state',
        '--http',
        '127.0.0.1:8500',
        '--http-token-file',
        '/etc/t',
        '--writers',
        'A, B,,C',
        '--weight',
        '2.5',
        '--tag',
        'zone=eu',
        '--tag',
        'role=a=b',
        '--listen',
        '/ip4/0.0.0.0/tcp/1',
        '--bootstrap',
        '/x',
        '--bootstrap',
        '/y',
        '--name',
        'm',
        '--json',
      ],
      '/srv',
    )
    expect(help).toBe(false)
    expect(options).toEqual({
      dataDir: '/srv/state',
      http: '127.0.0.1:8500',
      httpTokenFile: '/etc/t',
      writers: ['A', 'B', 'C'],
      weight: 2.5,
      tags: { zone: 'eu', role: 'a=b' },
      listen: ['/ip4/0.0.0.0/tcp/1'],
      bootstrap: ['/x', '/y'],
      name: 'm',
      json: true,
    })
  })

  it('refuses unknown flags, bad numbers, bad tags and stray arguments', () => {
    expect(() => parseAgentArgs(['--data_dir', 'x'])).toThrow(AgentOptionsError)
    expect(() => parseAgentArgs(['--weight', 'heavy'])).toThrow(/--weight/)
    expect(() => parseAgentArgs(['--tag', 'novalue'])).toThrow(/K=V/)
    expect(() => parseAgentArgs(['extra'])).toThrow(/unexpected argument/)
  })

  it('reads YAML and JSON config files (kebab or camel case, paths relative to the file); flags win', () => {
    const yaml = join(dir, 'agent.yaml')
    writeFileSync(
      yaml,
      'data-dir: ./data\nhttp: 127.0.0.1:0\nwriters: [A, B]\nweight: 3\ntags: { zone: eu, rack: 7 }\nbootstrap: /a\njson: true\n',
    )
    expect(loadConfigFile(yaml)).toEqual({
      dataDir: join(dir, 'data'),
      http: '127.0.0.1:0',
      writers: ['A', 'B'],
      weight: 3,
      tags: { zone: 'eu', rack: '7' },
      bootstrap: ['/a'],
      json: true,
    })
    const json = join(dir, 'agent.json')
    writeFileSync(json, JSON.stringify({ dataDir: '/abs', tag: ['k=v'], httpTokenFile: 'tokens' }))
    expect(loadConfigFile(json)).toEqual({ dataDir: '/abs', tags: { k: 'v' }, httpTokenFile: join(dir, 'tokens') })
    const { options } = parseAgentArgs(['--config', yaml, '--weight', '1', '--bootstrap', '/b'])
    expect(options).toMatchObject({ weight: 1, bootstrap: ['/b'], http: '127.0.0.1:0', config: yaml })
  })

  it('reads the example config file', () => {
    const example = new URL('../../examples/agent.yaml', import.meta.url).pathname
    expect(loadConfigFile(example)).toMatchObject({
      name: 'confmesh',
      dataDir: '/var/lib/confmesh',
      http: '127.0.0.1:8500',
      tags: { zone: 'eu-west', role: 'edge' },
      json: true,
    })
  })

  it('refuses unknown keys, wrong types and unreadable files', () => {
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text)
      return join(dir, name)
    }
    expect(() => loadConfigFile(file('typo.yaml', 'data_dir: x\n'))).toThrow(/unknown option "data_dir"/)
    expect(() => loadConfigFile(file('type.yaml', 'weight: [1]\n'))).toThrow(/expected a number/)
    expect(() => loadConfigFile(file('list.yaml', '- a\n- b\n'))).toThrow(/mapping/)
    expect(() => loadConfigFile(file('bad.yaml', 'a: [\n'))).toThrow(/not valid YAML/)
    expect(() => loadConfigFile(join(dir, 'missing.yaml'))).toThrow(/cannot read/)
    expect(loadConfigFile(file('empty.yaml', ''))).toEqual({})
  })
})
