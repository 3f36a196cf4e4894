/**
 * Named errors of writer authorisation and sealed secrets (the mesh-side security wiring). The building blocks'
 * errors (update guard, keys, envelopes) live in `errors.ts`.
 *
 * @module
 */
import { ConfmeshError, UpdateRejectedError } from '../errors.js'

/**
 * This peer may not change the config: it is not in the mesh's writer set (`createMesh({ writers })`, or the set
 * stored in the document). Thrown locally by `set`/`delete`/`update`/`rollback`/`snapshot`/`setSecret`/`setWriters`
 * before anything is written or sent.
 */
export class NotAuthorizedError extends ConfmeshError {
  static override readonly code = 'ERR_NOT_AUTHORIZED'
}

/**
 * A remote update was refused because of who wrote it: the publisher or catch-up responder is not a writer, a
 * struct is under a Yjs client id not bound to its author, an entry names another author, or the writer set it
 * carries is malformed. Extends `UpdateRejectedError`.
 */
export class UnauthorizedUpdateError extends UpdateRejectedError {
  static override readonly code = 'ERR_UNAUTHORIZED_UPDATE'
}

/** `secret()` / `setSecret()` need the mesh's data key (`createMesh({ dataKey })`), and none was given. */
export class DataKeyRequiredError extends ConfmeshError {
  static override readonly code = 'ERR_DATA_KEY_REQUIRED'
}
