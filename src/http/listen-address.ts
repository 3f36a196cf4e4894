/**
 * `HOST:PORT` listen addresses of the HTTP API, and which hosts are loopback (where an API without tokens may listen).
 *
 * @module
 */
import { isIP } from 'node:net'
import { InvalidListenAddressError } from './errors.js'

/** A parsed listen address. */
export interface ListenAddress {
  /** Host name or IP literal (IPv6 without brackets). */
  readonly host: string
  /** Port; 0 picks a free one. */
  readonly port: number
}

/** Default listen address of the HTTP API: loopback, any free port. */
export const DEFAULT_HTTP_LISTEN = '127.0.0.1:0'

/** Parses `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (loopback). Throws {@link InvalidListenAddressError}. */
export function parseListenAddress(address: string | ListenAddress): ListenAddress {
  if (typeof address === 'object' && address !== null) return check(address.host, address.port, JSON.stringify(address))
  if (typeof address !== 'string') throw new InvalidListenAddressError('listen address must be a string HOST:PORT')
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(address)
  if (m === null) throw new InvalidListenAddressError(`listen address ${JSON.stringify(address)} is not HOST:PORT`)
  const host = m[1] ?? (m[2] === '' ? '127.0.0.1' : m[2]!)
  return check(host, Number(m[3]), address)
}

function check(host: unknown, port: unknown, shown: string): ListenAddress {
  if (typeof host !== 'string' || host === '') throw new InvalidListenAddressError(`listen address ${shown}: no host`)
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidListenAddressError(`listen address ${shown}: port must be an integer 0..65535`)
  }
  return { host, port }
}

/** Whether `host` only accepts connections from this machine: `localhost`, 127.0.0.0/8, `::1`. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true
  if (isIP(host) === 4) return host.startsWith('127.')
  if (isIP(host) === 6) return host === '::1' || /^(0{0,4}:){7}0{0,3}1$/.test(host) || host.startsWith('::ffff:127.')
  return false
}

/** The URL of a server listening at `host:port` (IPv6 literals in brackets; the unspecified address as loopback). */
export function urlOf(host: string, port: number): string {
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host
  return `http://${isIP(shown) === 6 ? `[${shown}]` : shown}:${port}`
}
