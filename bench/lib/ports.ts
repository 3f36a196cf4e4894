/**
 * Free loopback TCP ports for servers that need their port on the command line (etcd).
 *
 * @module
 */
import net from 'node:net'

/**
 * Ask the OS for `count` distinct free TCP ports on 127.0.0.1 (bind to port 0, read it, release it). All sockets stay
 * open until every port is chosen, so the ports are distinct.
 *
 * @param count - how many ports
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = []
  try {
    for (let i = 0; i < count; i++) {
      const s = net.createServer()
      servers.push(s)
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject)
        s.listen(0, '127.0.0.1', () => resolve())
      })
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port)
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))))
  }
}
