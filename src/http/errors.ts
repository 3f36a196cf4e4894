/**
 * Named errors of the HTTP API (`createHttpApi`). Errors of the mesh that a request causes are not wrapped: they are
 * mapped to HTTP statuses by `error-status.ts`.
 *
 * @module
 */
import { ConfmeshError } from '../errors.js'

/**
 * The API was asked to listen on an address other than loopback without access tokens: anyone on that network could
 * read and change the configuration. Pass `tokens` (or `--http-token-file`), or listen on 127.0.0.1 / ::1.
 */
export class InsecureListenError extends ConfmeshError {
  static override readonly code: string = 'ERR_INSECURE_LISTEN'
}

/** A token file (or `tokens` option) is malformed: each line must be `read TOKEN` or `write TOKEN`. */
export class InvalidTokenFileError extends ConfmeshError {
  static override readonly code: string = 'ERR_INVALID_TOKEN_FILE'
}

/** A `listen` address is not `HOST:PORT` (`[v6]:PORT` for IPv6) with a port 0..65535. */
export class InvalidListenAddressError extends ConfmeshError {
  static override readonly code: string = 'ERR_INVALID_LISTEN_ADDRESS'
}

/**
 * A write through the HTTP API to an internal namespace (`__confmesh*`: the writer set, lease records): those change
 * only through their own APIs (`setWriters`, `lease`), which validate what they write. Reading them is allowed.
 */
export class ReadOnlyNamespaceError extends ConfmeshError {
  static override readonly code: string = 'ERR_READ_ONLY_NAMESPACE'
}
