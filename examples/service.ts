/**
 * A service that reacts to configuration changes without restarting.
 *
 * Run a peer first (`npx confmesh node` prints its address), then:
 *   npx tsx examples/service.ts /ip4/127.0.0.1/tcp/PORT/p2p/PEER_ID
 * and change its config from anywhere in the mesh:
 *   npx confmesh set http.rateLimit 50 --bootstrap /ip4/127.0.0.1/tcp/PORT/p2p/PEER_ID
 *   npx confmesh set feature.checkout '{"enabled":false}' --bootstrap ...
 * Without an argument the service runs alone (offline) with its defaults.
 */
import { createServer } from 'node:http'
import { createMesh } from '../src/index.js'

const bootstrap = process.argv[2] ? [process.argv[2]] : []
const mesh = await createMesh({ bootstrap })

// The live configuration, with defaults for keys nobody has set yet.
let rateLimit = mesh.get<number>('http.rateLimit') ?? 100
let checkout = mesh.get<{ enabled: boolean }>('feature.checkout') ?? { enabled: true }

mesh.watch('http.rateLimit', (e) => {
  rateLimit = typeof e.value === 'number' ? e.value : 100
  console.log(`rate limit is now ${rateLimit}/s (${e.source} change by …${e.author.slice(-6)})`)
})
mesh.watch('feature.checkout', (e) => {
  checkout = (e.value as { enabled: boolean } | undefined) ?? { enabled: true }
  console.log(`checkout is now ${checkout.enabled ? 'on' : 'off'}`)
})

const server = createServer((req, res) => {
  if (req.url === '/checkout' && !checkout.enabled) {
    res.writeHead(503).end('checkout is disabled by configuration\n')
    return
  }
  res.end(`ok (rate limit ${rateLimit}/s)\n`)
})
server.listen(8080, '127.0.0.1', () => console.log(`service on http://127.0.0.1:8080, mesh peer ${mesh.peerId}`))

process.once('SIGINT', async () => {
  server.close()
  await mesh.stop()
})
