/**
 * `npx tsx examples/feature-flags.ts`: feature flags through OpenFeature with no flag server. Two peers start on
 * loopback; one loads a flagd flag file (`feature-flags.flagd.json`), the other evaluates it locally through the
 * OpenFeature SDK, sees a flag change made on the first peer (PROVIDER_CONFIGURATION_CHANGED), and takes part in a
 * gray release of one flag to a listed peer. A schema guards a plain config key on the way.
 */
import { readFileSync } from 'node:fs'
import { type EvaluationContext, OpenFeature, ProviderEvents } from '@openfeature/server-sdk'
import { ConfmeshProvider, createMesh, SchemaValidationError } from '../src/index.js'

const flagFile = readFileSync(new URL('./feature-flags.flagd.json', import.meta.url), 'utf8')

const ops = await createMesh({ tags: { role: 'ops' } })
const app = await createMesh({ bootstrap: [ops.addresses[0]!], tags: { role: 'app', zone: 'eu' } })
try {
  // 1. ops loads a flagd flag file, unchanged, validated against flagd's schema
  const { flags } = await ops.importFlags(flagFile)
  console.log('imported flags:', flags.join(', '))

  // 2. the app evaluates through the standard OpenFeature API, in process
  await OpenFeature.setProviderAndWait(new ConfmeshProvider(app))
  const client = OpenFeature.getClient()
  while (!app.namespace('flags').has('discount')) await new Promise((r) => setTimeout(r, 20)) // first sync
  const users: EvaluationContext[] = [
    { targetingKey: 'u-1', email: 'ann@example.com' },
    { targetingKey: 'u-2', appVersion: '2.4.0' },
  ]
  for (const user of users) {
    const d = await client.getNumberDetails('discount', 0, user)
    const color = await client.getStringDetails('header-color', '#000', user)
    console.log(`${user.targetingKey}: discount ${d.value} (${d.reason}), header ${color.value} (${color.reason})`)
  }

  // 3. a change on the ops peer reaches the app as a configuration-changed event
  const changed = new Promise<string[]>((resolve) =>
    client.addHandler(ProviderEvents.ConfigurationChanged, (e) => resolve((e?.flagsChanged as string[]) ?? [])),
  )
  const checkout = ops.namespace('flags').get<Record<string, string>>('new-checkout')!
  await ops.namespace('flags').set('new-checkout', { ...checkout, defaultVariant: 'on' })
  console.log('changed on ops, app was told:', await changed, '->', await client.getBooleanValue('new-checkout', false))

  // 4. gray release of a plain key to the app peer only; then promote it everywhere
  await ops.set('search.timeoutMs', 200)
  const { id } = await ops.rollout('default', 'search.timeoutMs', 350, { peers: [app.peerId] })
  while (app.get('search.timeoutMs') !== 350) await new Promise((r) => setTimeout(r, 20))
  console.log(`rollout ${id}: app sees ${app.get('search.timeoutMs')}, ops sees ${ops.get('search.timeoutMs')}`)
  await ops.promote(id)
  console.log('promoted: ops sees', ops.get('search.timeoutMs'))

  // 5. a schema refuses a bad value before anything is written or sent
  await ops.setSchema('default', 'search.*', { type: 'integer', minimum: 10, maximum: 5000 })
  try {
    await ops.set('search.timeoutMs', 99_999)
  } catch (err) {
    if (err instanceof SchemaValidationError) console.log('refused:', err.issues)
  }
} finally {
  await OpenFeature.close()
  await Promise.all([app.stop(), ops.stop()])
}
