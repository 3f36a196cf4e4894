/**
 * The CLI without `--endpoint` (join-briefly mode) against a real agent process: `set`, `get`, `delete`, `dump` join
 * the mesh as a short-lived peer through `--bootstrap`, act, hand their change over, and leave; the agent's HTTP API
 * shows the result. Commands that need an agent say so (exit code 2).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiClient } from '../../src/client/api-client.js'
import { type AgentProcess, runCli, startAgent } from '../helpers/agent-process.js'
import { waitFor } from '../helpers/wait-for.js'

describe('confmesh get/set/delete/dump --bootstrap (join briefly)', () => {
  let agent: AgentProcess

  beforeAll(async () => {
    agent = await startAgent()
  })
  afterAll(async () => {
    await agent.stop()
  })

  it('writes, reads, dumps and deletes through a short-lived peer', async () => {
    const join = ['--bootstrap', agent.addresses[0]!]
    const api = createApiClient({ endpoint: agent.url! })
    const set = await runCli(['set', 'mode', '{"fast":true}', '--namespace', 'cli', ...join])
    expect(set.code, set.stderr).toBe(0)
    expect(set.stdout).toBe('cli/mode = {"fast":true}\n')
    await waitFor(async () => (await api.list('cli')).entries.mode !== undefined, { message: 'the agent to hold it' })
    expect((await api.get('cli', 'mode')).value).toEqual({ fast: true })

    const [get, missing, dump] = await Promise.all([
      runCli(['get', 'mode', '--namespace', 'cli', ...join]),
      runCli(['get', 'absent', '--namespace', 'cli', ...join]),
      runCli(['dump', ...join]),
    ])
    expect(get.code, get.stderr).toBe(0)
    expect(get.stdout).toBe('{"fast":true}\n')
    expect(missing.code).toBe(1)
    expect(missing.stderr).toBe('cli/absent is not set\n')
    expect(dump.code, dump.stderr).toBe(0)
    expect(JSON.parse(dump.stdout)).toMatchObject({ cli: { mode: { fast: true } } })

    const del = await runCli(['delete', 'mode', '--namespace', 'cli', ...join])
    expect(del.code, del.stderr).toBe(0)
    await waitFor(async () => (await api.list('cli')).entries.mode === undefined, { message: 'the delete to arrive' })
  }, 120_000) // five short-lived peers

  it('without --endpoint or --bootstrap, commands say what they need (exit code 2)', async () => {
    const [status, get] = await Promise.all([
      runCli(['status'], { env: { CONFMESH_ENDPOINT: '' } }),
      runCli(['get', 'x'], { env: { CONFMESH_ENDPOINT: '' } }),
    ])
    expect(status.code).toBe(2)
    expect(status.stderr).toMatch(/needs a running agent: --endpoint URL/)
    expect(get.code).toBe(2)
    expect(get.stderr).toMatch(/--bootstrap ADDR \(or --endpoint URL\) is required/)
  }, 60_000)
})
