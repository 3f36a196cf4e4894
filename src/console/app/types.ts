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
  error: { code: string; message: string; issues?: SchemaIssue[] }
}

/** One reason a value breaks a stored schema (`error.issues` of a 422 answer). */
export interface SchemaIssue {
  namespace: string
  key: string
  pattern: string
  path: string
  message: string
  rollout?: string
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
  /** `false` when a peer's value breaks a stored schema. */
  valid?: false
}

/** A live member, as `GET /v1/peers` lists the others and `GET /v1/status` the agent itself (`self: true`). */
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
  self?: true
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
  /** What the caller's token may do. */
  access: Access
  /** The agent itself as a ring member. */
  member: Peer
}

/** A ring member's part of the key space (`GET /v1/ring` without `key`). */
export interface RingShare {
  peerId: string
  weight: number
  share: number
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
