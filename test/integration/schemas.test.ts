import { afterEach, describe, expect, it } from 'vitest'
import {
  type ConfigMesh,
  InvalidSchemaError,
  SCHEMA_NAMESPACE,
  SchemaValidationError,
  type WatchEvent,
} from '../../src/index.js'
import { NetworkControl, reconnectAll, startCluster, stopAll, waitForConvergence } from '../helpers/cluster.js'
import { waitFor } from '../helpers/wait-for.js'

let meshes: ConfigMesh[] = []
afterEach(async () => {
  await stopAll(meshes)
  meshes = []
})

const LIMITS = {
  type: 'object',
  properties: { daily: { type: 'integer', maximum: 1000 } },
  required: ['daily'],
  additionalProperties: false,
}

/** Resolves with the error `p` rejects with (fails the test if it resolves). */
async function refused(p: Promise<unknown>): Promise<SchemaValidationError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(SchemaValidationError)
  return err as SchemaValidationError
}

describe('replicated schemas between real peers', () => {
  it('refuses a bad local write with the issues listed; nothing is written or sent', async () => {
    meshes = await startCluster(2)
    const [a, b] = meshes as [ConfigMesh, ConfigMesh]
    const payments = a.namespace('payments')
    await payments.set('limits.eu', { daily: 500 })
    await a.setSchema('payments', 'limits.*', LIMITS)
    await waitFor(() => b.schemas().length === 1, { message: 'schema to reach b' })
    expect(b.schemas()[0]).toMatchObject({
      namespace: 'payments',
      pattern: 'limits.*',
      schema: LIMITS,
      author: a.peerId,
    })
    await waitFor(() => b.namespace('payments').get('limits.eu') !== undefined, { message: 'value to reach b' })

    const seenOnB: WatchEvent[] = []
    b.watchAll((e) => seenOnB.push(e))
    const before = a.diagnostics().stateVector
    const historyBefore = a.history().length

    const err = await refused(payments.set('limits.eu', { daily: 5000 }))
    expect(err.issues).toEqual([
      { namespace: 'payments', key: 'limits.eu', pattern: 'limits.*', path: '/daily', message: 'must be <= 1000' },
    ])
    expect(err.keys).toEqual(['payments/limits.eu'])
    // one bad op refuses the whole update: the good op is not written either
    const err2 = await refused(payments.update({ 'limits.us': { daily: 10 }, 'limits.eu': { weekly: 1 } }))
    expect(err2.issues.map((i) => [i.path, i.message])).toEqual([
      ['', "must have required property 'daily'"],
      ['', 'must NOT have additional properties (weekly)'],
    ])
    // keys the pattern does not match are free
    await payments.set('currency', 'EUR')
    await waitFor(() => b.namespace('payments').get('currency') === 'EUR', { message: 'marker write to reach b' })

    expect(payments.get('limits.eu')).toEqual({ daily: 500 })
    expect(payments.get('limits.us')).toBeUndefined()
    // a's document grew by exactly the marker write; b saw exactly the marker
    expect(seenOnB.map((e) => [e.namespace, e.key, e.value])).toEqual([['payments', 'currency', 'EUR']])
    const after = a.diagnostics().stateVector
    expect(Object.keys(after)).toEqual(Object.keys(before))
    expect(a.history()).toHaveLength(historyBefore + 1)
    expect(a.validate()).toEqual([])
    expect(b.validate()).toEqual([])
  })

  it('setSchema refuses a schema the current values break (listing them) unless forced; rollback is checked', async () => {
    meshes = await startCluster(2)
    const [a, b] = meshes as [ConfigMesh, ConfigMesh]
    await a.namespace('svc').update({ 'timeout.read': 50, 'timeout.write': 'slow', other: 'x' })
    const old = a.version()
    await a.namespace('svc').set('timeout.write', 90)
    await a.namespace('svc').set('timeout.read', 'oops')

    const err = await refused(a.setSchema('svc', 'timeout.*', { type: 'number' }))
    expect(err.keys).toEqual(['svc/timeout.read'])
    expect(a.schemas()).toEqual([])
    await expect(a.setSchema('svc', 'x', { type: 'no-such-type' })).rejects.toBeInstanceOf(InvalidSchemaError)
    await expect(a.setSchema(SCHEMA_NAMESPACE, 'x', true)).rejects.toThrow(/belongs to confmesh/)
    // a raw write into the schema namespace is checked too
    await expect(a.namespace(SCHEMA_NAMESPACE).set('x', 1)).rejects.toBeInstanceOf(InvalidSchemaError)

    await a.setSchema('svc', 'timeout.*', { type: 'number' }, { force: true })
    const expected = [
      { namespace: 'svc', key: 'timeout.read', pattern: 'timeout.*', path: '', message: 'must be number' },
    ]
    expect(a.validate()).toEqual(expected)
    await waitFor(() => b.validate().length === 1, { message: 'b to list the violation' })
    expect(b.validate()).toEqual(expected)

    // a rollback to a version holding 'slow' is a local write too: refused whole, nothing changes
    const rb = await refused(a.rollback(old, { namespace: 'svc' }))
    expect(rb.keys).toEqual(['svc/timeout.write'])
    expect(a.namespace('svc').get('timeout.write')).toBe(90)
    // fixing the value clears the list everywhere
    await a.namespace('svc').set('timeout.read', 20)
    await waitForConvergence(meshes)
    expect(a.validate()).toEqual([])
    expect(b.validate()).toEqual([])
    const fixed = a.version()
    await a.deleteSchema('svc', 'timeout.*')
    await waitFor(() => b.schemas().length === 0, { message: 'schema deletion to reach b' })
    await b.namespace('svc').set('timeout.read', 'fine again')
    await waitForConvergence(meshes)
    // a whole-config rollback restores the schemas of the version with its values (schemas are config)
    const result = await a.rollback(fixed)
    expect(result.changes.map((c) => `${c.namespace}/${c.key}`)).toEqual([
      `${SCHEMA_NAMESPACE}/${JSON.stringify(['svc', 'timeout.*'])}`,
      'svc/timeout.read',
    ])
    await waitFor(() => b.schemas().length === 1 && b.namespace('svc').get('timeout.read') === 20, {
      message: 'rollback to reach b',
    })
    // schemas are in history
    expect(a.history().some((h) => h.changes.some((c) => c.namespace === SCHEMA_NAMESPACE))).toBe(true)
  })

  it('a schema change and a write made concurrently on two peers converge; validate() agrees everywhere', async () => {
    const network = new NetworkControl()
    meshes = await startCluster(2, { network })
    const [a, b] = meshes as [ConfigMesh, ConfigMesh]
    await a.namespace('app').set('workers', 4)
    await waitForConvergence(meshes)
    const onA: WatchEvent[] = []
    a.namespace('app').watch('workers', (e) => onA.push(e))

    await network.split([[a], [b]])
    await a.setSchema('app', 'workers', { type: 'integer', maximum: 8 })
    await b.namespace('app').set('workers', 64) // valid where b stands: it has not seen the schema
    expect(b.validate()).toEqual([])
    network.heal()
    await reconnectAll(meshes)
    await waitForConvergence(meshes)

    const expected = [{ namespace: 'app', key: 'workers', pattern: 'workers', path: '', message: 'must be <= 8' }]
    expect(a.validate()).toEqual(expected)
    expect(b.validate()).toEqual(expected)
    expect(a.namespace('app').get('workers')).toBe(64) // peers' values are never refused
    await waitFor(() => onA.length === 1, { message: 'the watch event on a' })
    expect(onA[0]).toMatchObject({ key: 'workers', value: 64, source: 'remote', valid: false })
    expect(a.diagnostics().counters['schema.invalidChanges']).toBe(1)
    // b now holds the schema: its next bad write is refused locally
    await refused(b.namespace('app').set('workers', 65))
    await b.namespace('app').set('workers', 8)
    await waitFor(() => a.validate().length === 0, { message: 'violation to clear on a' })
    expect(onA.at(-1)).not.toHaveProperty('valid')
  })
})
