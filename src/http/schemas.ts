/**
 * JSON Schemas of the HTTP API: request validation (Fastify runs them before a handler sees the request), response
 * serialisation, and the OpenAPI 3.1 document `GET /v1/openapi.json` serves (generated from these by @fastify/swagger,
 * so the document and the behaviour cannot drift apart). Shared shapes carry an `$id` and appear under
 * `components.schemas`.
 *
 * @module
 */
import { MAX_KEY_LENGTH, MAX_NAMESPACE_LENGTH } from '../config/key.js'

/** Any JSON value. */
export const JSON_VALUE = { description: 'any JSON value' } as const

/** Shared schemas, registered with `addSchema` and referenced as `{ $ref: 'Name#' }`. */
export const SHARED_SCHEMAS = [
  {
    $id: 'Error',
    type: 'object',
    description: 'Every error answer.',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { type: 'string', description: 'stable machine-readable code, e.g. ERR_INVALID_KEY' },
          message: { type: 'string' },
          issues: {
            type: 'array',
            description: 'with ERR_SCHEMA_VALIDATION (422): every violation of a stored schema',
            items: { $ref: 'SchemaIssue#' },
          },
        },
      },
    },
  },
  {
    $id: 'SchemaIssue',
    type: 'object',
    description: 'One reason a value breaks a stored schema.',
    required: ['namespace', 'key', 'pattern', 'path', 'message'],
    properties: {
      namespace: { type: 'string' },
      key: { type: 'string' },
      pattern: { type: 'string', description: 'key pattern of the schema that refused it' },
      path: { type: 'string', description: "JSON pointer inside the value ('' for the value itself)" },
      message: { type: 'string' },
      rollout: { type: 'string', description: "set when the value is an active rollout's: its id" },
    },
  },
  {
    $id: 'Version',
    type: 'object',
    description: 'A version of the configuration: a vector clock (Yjs client id -> counter) and its compact id.',
    required: ['id', 'clock'],
    properties: {
      id: { type: 'string' },
      clock: { type: 'object', additionalProperties: { type: 'integer' } },
    },
  },
  {
    $id: 'Change',
    type: 'object',
    description: 'How one key differs; `before`/`after` are absent where the key had no value.',
    required: ['namespace', 'key'],
    properties: { namespace: { type: 'string' }, key: { type: 'string' }, before: JSON_VALUE, after: JSON_VALUE },
  },
  {
    $id: 'WatchEvent',
    type: 'object',
    description:
      'One change, as `data:` of a watch event. `value` is absent after a delete (`deleted: true`), `previous` when ' +
      'the key had no value. `source` is `local` for writes made through this agent.',
    required: ['namespace', 'key', 'source', 'author', 'time', 'deleted'],
    properties: {
      namespace: { type: 'string' },
      key: { type: 'string' },
      value: JSON_VALUE,
      previous: JSON_VALUE,
      deleted: { type: 'boolean' },
      source: { type: 'string', enum: ['local', 'remote'] },
      author: { type: 'string', description: 'peer id of the writer' },
      time: { type: 'number', description: "the writer's hybrid-clock time (ms since epoch)" },
      valid: { const: false, description: 'present when the new value breaks a stored schema (a peer wrote it)' },
    },
  },
  {
    $id: 'Peer',
    type: 'object',
    description: 'A live member as this peer sees it.',
    required: ['peerId', 'addresses', 'weight', 'tags', 'connected', 'ready'],
    properties: {
      peerId: { type: 'string' },
      addresses: { type: 'array', items: { type: 'string' } },
      weight: { type: 'number' },
      tags: { type: 'object', additionalProperties: { type: 'string' } },
      connected: { type: 'boolean' },
      ready: { type: 'boolean' },
      startedAt: { type: 'number' },
      lastSeen: { type: 'number' },
      meshSize: {
        type: 'integer',
        description:
          'members this member sees, as it announced them (heartbeat membership); 0 when unknown: SWIM members do not announce it',
      },
      self: { const: true, description: 'present on this agent itself (`GET /v1/status` `member`)' },
    },
  },
] as const

/** A reference to a shared schema. */
export const ref = (id: string) => ({ $ref: `${id}#` }) as const

/** Error answers every route may give (plus 401/403 with tokens). */
export const ERROR_RESPONSES = {
  '4xx': ref('Error'),
  '5xx': ref('Error'),
} as const

/** A namespace in a path or query. */
export const namespaceParam = { type: 'string', minLength: 1, maxLength: MAX_NAMESPACE_LENGTH } as const
/** A key in a path or query. */
export const keyParam = { type: 'string', minLength: 1, maxLength: MAX_KEY_LENGTH } as const
/** Path parameters of the routes of one key: `/v1/kv/{namespace}/{key}`. */
const keyParams = {
  type: 'object',
  required: ['namespace', 'key'],
  properties: { namespace: namespaceParam, key: keyParam },
} as const
/** `{ version, deleted }`: the version after a delete, and whether there was something to delete. */
export const deletedAnswer = {
  type: 'object',
  required: ['version', 'deleted'],
  properties: { version: ref('Version'), deleted: { type: 'boolean' } },
} as const
/** `{ version }`: the configuration version after a write. */
export const versionAnswer = {
  type: 'object',
  required: ['version'],
  properties: { version: ref('Version') },
} as const

const ROUTES = {
  healthz: {
    summary: 'Liveness: 200 while the agent runs (no token needed)',
    tags: ['agent'],
    security: [],
    response: { 200: { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } } },
  },
  status: {
    summary:
      'This peer: id, addresses, software and configuration versions, document size, peers, its own member record ' +
      "(weight, tags, ready) and the caller's access",
    tags: ['agent'],
    response: {
      200: {
        type: 'object',
        required: [
          'peerId',
          'meshName',
          'addresses',
          'version',
          'configVersion',
          'documentBytes',
          'peers',
          'members',
          'access',
          'member',
        ],
        properties: {
          peerId: { type: 'string' },
          meshName: { type: 'string' },
          addresses: { type: 'array', items: { type: 'string' } },
          version: { type: 'string', description: 'confmesh software version' },
          configVersion: ref('Version'),
          documentBytes: { type: 'integer' },
          entries: { type: 'integer' },
          keys: { type: 'integer' },
          versions: { type: 'integer', description: 'retained history entries' },
          peers: { type: 'integer', description: 'live peers other than this one' },
          members: { type: 'integer', description: 'live members on the ring, this one included' },
          namespaces: { type: 'array', items: { type: 'string' } },
          uptimeSeconds: { type: 'number' },
          access: {
            type: 'string',
            enum: ['open', 'read', 'write'],
            description:
              "what the caller's token may do: `read` or `write`; `open` when the agent has no tokens (anyone may write)",
          },
          member: { ...ref('Peer'), description: 'this agent as a ring member (`self: true`)' },
        },
      },
      ...ERROR_RESPONSES,
    },
  },
  listNamespaces: {
    summary: 'Names of the namespaces that hold at least one key',
    tags: ['kv'],
    response: {
      200: {
        type: 'object',
        required: ['namespaces'],
        properties: { namespaces: { type: 'array', items: { type: 'string' } } },
      },
      ...ERROR_RESPONSES,
    },
  },
  getKey: {
    summary: 'One key: its value, writer and write time (404 when it has no value)',
    tags: ['kv'],
    params: keyParams,
    response: {
      200: {
        type: 'object',
        required: ['namespace', 'key', 'value', 'author', 'time'],
        properties: {
          namespace: { type: 'string' },
          key: { type: 'string' },
          value: JSON_VALUE,
          author: { type: 'string' },
          time: { type: 'number' },
        },
      },
      ...ERROR_RESPONSES,
    },
  },
  putKey: {
    summary: 'Sets a key; the body is the JSON value. Applied locally (durable with a data dir), then gossiped',
    tags: ['kv'],
    params: keyParams,
    body: JSON_VALUE,
    response: { 200: versionAnswer, ...ERROR_RESPONSES },
  },
  deleteKey: {
    summary: 'Deletes a key (a no-op when it has no value: `deleted: false`)',
    tags: ['kv'],
    params: keyParams,
    response: {
      200: deletedAnswer,
      ...ERROR_RESPONSES,
    },
  },
  listKeys: {
    summary: "A namespace's keys and values, optionally only those starting with `prefix`",
    tags: ['kv'],
    params: { type: 'object', required: ['namespace'], properties: { namespace: namespaceParam } },
    querystring: { type: 'object', properties: { prefix: { type: 'string', maxLength: MAX_KEY_LENGTH } } },
    response: {
      200: {
        type: 'object',
        required: ['namespace', 'entries'],
        properties: { namespace: { type: 'string' }, entries: { type: 'object', additionalProperties: JSON_VALUE } },
      },
      ...ERROR_RESPONSES,
    },
  },
  batch: {
    summary: 'Sets and deletes several keys of a namespace as ONE change (all validated before anything is written)',
    tags: ['kv'],
    params: { type: 'object', required: ['namespace'], properties: { namespace: namespaceParam } },
    body: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: {
        set: { type: 'object', additionalProperties: JSON_VALUE },
        delete: { type: 'array', items: keyParam, maxItems: 100_000 },
      },
    },
    response: { 200: versionAnswer, ...ERROR_RESPONSES },
  },
  watch: {
    summary:
      'Server-Sent Events: one event per change (`id:` + `data:` a WatchEvent). Reconnect with `Last-Event-ID` to ' +
      'get what was missed while this agent still holds it; otherwise an `event: reload` tells the client to re-read',
    tags: ['watch'],
    querystring: {
      type: 'object',
      properties: {
        namespace: namespaceParam,
        prefix: { type: 'string', maxLength: MAX_KEY_LENGTH },
        key: keyParam,
        lastEventId: { type: 'string', maxLength: 64, description: 'for clients that cannot send Last-Event-ID' },
      },
    },
    response: {
      200: {
        description: 'text/event-stream of WatchEvent (`data:`), `event: reload` and keep-alive comments',
        content: { 'text/event-stream': { schema: { type: 'string' } } },
      },
      ...ERROR_RESPONSES,
    },
  },
  history: {
    summary: 'Retained history, newest first, identical on every converged peer',
    tags: ['versions'],
    querystring: {
      type: 'object',
      properties: {
        limit: { type: 'integer', minimum: 1, maximum: 100_000 },
        namespace: namespaceParam,
        key: keyParam,
        author: { type: 'string', minLength: 1, maxLength: 256 },
      },
    },
    response: {
      200: {
        type: 'object',
        required: ['entries'],
        properties: {
          entries: {
            type: 'array',
            items: {
              type: 'object',
              required: ['id', 'clock', 'author', 'time', 'changes', 'available'],
              properties: {
                id: { type: 'string' },
                clock: { type: 'object', additionalProperties: { type: 'integer' } },
                author: { type: 'string' },
                time: { type: 'number' },
                message: { type: 'string' },
                changes: { type: 'array', items: ref('Change') },
                available: { type: 'boolean' },
              },
            },
          },
        },
      },
      ...ERROR_RESPONSES,
    },
  },
  diff: {
    summary: 'Keys that differ between two versions (`to` defaults to now)',
    tags: ['versions'],
    querystring: {
      type: 'object',
      required: ['from'],
      properties: {
        from: { type: 'string', minLength: 1, maxLength: 65_536 },
        to: { type: 'string', minLength: 1, maxLength: 65_536 },
      },
    },
    response: {
      200: {
        type: 'object',
        required: ['changes'],
        properties: { changes: { type: 'array', items: ref('Change') } },
      },
      ...ERROR_RESPONSES,
    },
  },
  snapshot: {
    summary: 'Records a labelled version',
    tags: ['versions'],
    body: {
      type: 'object',
      additionalProperties: false,
      properties: { message: { type: 'string', maxLength: 4096 } },
    },
    response: { 200: versionAnswer, ...ERROR_RESPONSES },
  },
  rollback: {
    summary: 'Makes the configuration (or a namespace, or some keys) equal to a version again, as one new change',
    tags: ['versions'],
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['version'],
      properties: {
        version: { type: 'string', minLength: 1, maxLength: 65_536 },
        namespace: namespaceParam,
        keys: { type: 'array', items: keyParam, maxItems: 100_000 },
        message: { type: 'string', maxLength: 4096 },
      },
    },
    response: {
      200: {
        type: 'object',
        required: ['version', 'changes'],
        properties: { version: ref('Version'), changes: { type: 'array', items: ref('Change') } },
      },
      ...ERROR_RESPONSES,
    },
  },
  peers: {
    summary: 'Live members other than this peer',
    tags: ['cluster'],
    response: {
      200: {
        type: 'object',
        required: ['self', 'peers'],
        properties: { self: { type: 'string' }, peers: { type: 'array', items: ref('Peer') } },
      },
      ...ERROR_RESPONSES,
    },
  },
  ring: {
    summary:
      'The consistent-hash ring: the members, without `key` their weights and shares of the key space, with `key` the ' +
      '`n` owners of that key in preference order',
    tags: ['cluster'],
    querystring: {
      type: 'object',
      properties: { key: keyParam, n: { type: 'integer', minimum: 1, maximum: 1000 } },
    },
    response: {
      200: {
        type: 'object',
        required: ['members'],
        properties: {
          members: { type: 'array', items: { type: 'string' } },
          key: { type: 'string' },
          owners: { type: 'array', items: { type: 'string' } },
          shares: {
            type: 'array',
            description:
              'without `key`: each member, its weight and the share of the key space it owns (they sum to 1)',
            items: {
              type: 'object',
              required: ['peerId', 'weight', 'share'],
              properties: {
                peerId: { type: 'string' },
                weight: { type: 'number' },
                share: { type: 'number', minimum: 0, maximum: 1 },
              },
            },
          },
        },
      },
      ...ERROR_RESPONSES,
    },
  },
  openapi: {
    summary: 'This document: OpenAPI 3.1 of the whole API',
    tags: ['agent'],
    response: { 200: { type: 'object', additionalProperties: true }, ...ERROR_RESPONSES },
  },
  metrics: {
    summary: 'Prometheus metrics (text exposition format)',
    tags: ['agent'],
    response: {
      200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } },
      ...ERROR_RESPONSES,
    },
  },
} as const

/** `routes` with each schema carrying its name as `operationId` (for client generators). */
export function withOperationIds<R extends Record<string, object>>(
  routes: R,
): { [K in keyof R]: R[K] & { operationId: K } } {
  return Object.fromEntries(
    Object.entries(routes).map(([operationId, schema]) => [operationId, { operationId, ...schema }]),
  ) as { [K in keyof R]: R[K] & { operationId: K } }
}

/** Route schemas by operation. */
export const ROUTE_SCHEMAS = withOperationIds(ROUTES)
