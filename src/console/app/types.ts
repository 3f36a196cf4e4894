/**
 * Shapes of the agent's HTTP API answers the console reads (the OpenAPI document `GET /v1/openapi.json` and
 * `src/http/schemas.ts` are the source; these mirror them for the browser code).
 *
 * @module
 */

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** `{ "error": { code, message } }`: every error answer. */
export interface ErrorBody {
  error: { code: string; message: string }
}

/** A version: vector clock and its compact id. */
export interface Version {
  id: string
  clock: Record<string, number>
}

/** How one key differs; `before`/`after` absent where the key had no value. */
export interface Change {
  namespace: string
  key: string
  before?: Json
  after?: Json
}

/** One watch event (`data:` of an SSE frame). */
export interface WatchEvent {
  namespace: string
  key: string
  value?: Json
  previous?: Json
  deleted: boolean
  source: 'local' | 'remote'
  author: string
  time: number
}

/** A live member other than the agent, as `GET /v1/peers` lists it. */
export interface Peer {
  peerId: string
  addresses: string[]
  weight: number
  tags: Record<string, string>
  connected: boolean
  ready: boolean
  startedAt?: number
  lastSeen?: number
  meshSize?: number
}

/** `GET /v1/status`. */
export interface Status {
  peerId: string
  meshName: string
  addresses: string[]
  version: string
  configVersion: Version
  documentBytes: number
  peers: number
  members: number
  namespaces?: string[]
  uptimeSeconds?: number
}

/** One entry of `GET /v1/history`. */
export interface HistoryEntry extends Version {
  author: string
  time: number
  message?: string
  changes: Change[]
  available: boolean
}

/** What the token in use may do (`open`: the agent has no tokens, everything is allowed). */
export type Access = 'open' | 'read' | 'write'
