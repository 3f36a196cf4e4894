/**
 * An edge node joining a mesh by bootstrap address. It reads its config locally (instantly, also while offline),
 * reports its own state into its namespace, and follows everything under the `edge.` prefix.
 *
 *   npx tsx examples/edge-node.ts /ip4/127.0.0.1/tcp/PORT/p2p/PEER_ID [zone]
 */
import { createMesh } from '../src/index.js'

const [bootstrapAddr, zone = 'eu-west'] = process.argv.slice(2)
if (bootstrapAddr === undefined) {
  console.error('usage: npx tsx examples/edge-node.ts <bootstrap multiaddr> [zone]')
  process.exit(2)
}

const mesh = await createMesh({ bootstrap: [bootstrapAddr], tags: { zone, role: 'edge' } })
console.log(`edge node ${mesh.peerId} in ${zone}, joining through ${bootstrapAddr}`)

mesh.events.addEventListener('peers:change', (evt) => console.log(`live members: ${evt.detail.members.length}`))
mesh.watch({ prefix: 'edge.' }, (e) =>
  console.log(`${e.key}: ${JSON.stringify(e.previous)} -> ${JSON.stringify(e.value)}`),
)

// Each edge node publishes its own status under its namespace; every peer can read it.
await mesh.namespace('edge-status').set(mesh.peerId, { zone, since: new Date().toISOString() })

process.once('SIGINT', async () => {
  await mesh.namespace('edge-status').delete(mesh.peerId)
  await mesh.stop()
})
