/**
 * Logging. confmesh never writes to the console by itself: by default it logs through the `debug`-style logger that
 * libp2p uses (enable with `DEBUG=confmesh*`). Pass `logger` to `createMesh` to route messages elsewhere.
 *
 * @module
 */
import { logger as debugLogger } from '@libp2p/logger'

/** Where confmesh sends its log lines. Every method is optional to implement sensibly; all are called with a message. */
export interface MeshLogger {
  debug(message: string, ...args: unknown[]): void
  info(message: string, ...args: unknown[]): void
  warn(message: string, ...args: unknown[]): void
  error(message: string, ...args: unknown[]): void
}

/** The default logger: `DEBUG=confmesh*` shows everything, `DEBUG=confmesh*:error` errors and warnings only. */
export function createDefaultLogger(name: string): MeshLogger {
  const log = debugLogger(name)
  return {
    debug: (m, ...a) => log(m, ...a),
    info: (m, ...a) => log(m, ...a),
    warn: (m, ...a) => log.error(`warning: ${m}`, ...a),
    error: (m, ...a) => log.error(m, ...a),
  }
}
