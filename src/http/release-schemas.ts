/**
 * JSON Schemas of the release routes: replicated schemas (`/v1/schemas`, `/v1/validate`), gray releases
 * (`/v1/rollouts`) and flag files (`/v1/flags/import`). Same conventions as `schemas.ts` (validation, serialisation
 * and the OpenAPI document from one source); kept apart so each file stays one subject.
 *
 * @module
 */
import { MAX_KEY_LENGTH } from '../config/key.js'
import {
  deletedAnswer,
  ERROR_RESPONSES,
  JSON_VALUE,
  keyParam,
  namespaceParam,
  ref,
  versionAnswer,
  withOperationIds,
} from './schemas.js'

const schemaParams = {
  type: 'object',
  required: ['namespace', 'pattern'],
  properties: {
    namespace: namespaceParam,
    pattern: { type: 'string', minLength: 1, maxLength: MAX_KEY_LENGTH, description: 'exact key or glob (`*`, `?`)' },
  },
} as const

const schemaInfo = {
  type: 'object',
  required: ['namespace', 'pattern', 'schema', 'author', 'time'],
  properties: {
    namespace: { type: 'string' },
    pattern: { type: 'string' },
    schema: JSON_VALUE,
    author: { type: 'string', description: 'peer id of the writer of this version of it' },
    time: { type: 'number' },
  },
} as const

const tagSelector = {
  type: 'object',
  additionalProperties: { type: 'string', maxLength: 256 },
  maxProperties: 64,
} as const

const rolloutIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^r[0-9a-f]{16}$' } },
} as const

const ROUTES = {
  listSchemas: {
    summary: 'Every stored schema, sorted by namespace and pattern',
    tags: ['schemas'],
    response: {
      200: { type: 'object', required: ['schemas'], properties: { schemas: { type: 'array', items: schemaInfo } } },
      ...ERROR_RESPONSES,
    },
  },
  getSchema: {
    summary: 'The schema of (namespace, pattern) (404 when none is stored)',
    tags: ['schemas'],
    params: schemaParams,
    response: { 200: schemaInfo, ...ERROR_RESPONSES },
  },
  putSchema: {
    summary:
      'Stores a JSON Schema (the body) for the keys of the namespace matching the pattern. 422 with `issues` when ' +
      'current values break it (unless `force=true`), 400 when it does not compile',
    tags: ['schemas'],
    params: schemaParams,
    querystring: { type: 'object', properties: { force: { type: 'boolean' } } },
    body: JSON_VALUE,
    response: { 200: versionAnswer, ...ERROR_RESPONSES },
  },
  deleteSchema: {
    summary: 'Removes the schema of (namespace, pattern) (a no-op when absent: `deleted: false`)',
    tags: ['schemas'],
    params: schemaParams,
    response: { 200: deletedAnswer, ...ERROR_RESPONSES },
  },
  validate: {
    summary: "Current values (peers' writes, rollout values) that break a stored schema; `valid` when there are none",
    tags: ['schemas'],
    response: {
      200: {
        type: 'object',
        required: ['valid', 'issues'],
        properties: { valid: { type: 'boolean' }, issues: { type: 'array', items: ref('SchemaIssue') } },
      },
      ...ERROR_RESPONSES,
    },
  },
  listRollouts: {
    summary: 'Active rollouts, newest first, with the live members in each group',
    tags: ['rollouts'],
    response: {
      200: {
        type: 'object',
        required: ['rollouts'],
        properties: {
          rollouts: {
            type: 'array',
            items: {
              type: 'object',
              required: ['id', 'namespace', 'key', 'value', 'percent', 'tags', 'peers', 'started', 'members', 'self'],
              properties: {
                id: { type: 'string' },
                namespace: { type: 'string' },
                key: { type: 'string' },
                value: JSON_VALUE,
                percent: { type: 'number' },
                tags: { type: 'array', items: tagSelector },
                peers: { type: 'array', items: { type: 'string' } },
                started: { type: 'number' },
                members: { type: 'integer', description: 'live members in the group, this agent included' },
                memberIds: { type: 'array', items: { type: 'string' } },
                self: { type: 'boolean', description: 'whether this agent is in the group' },
              },
            },
          },
        },
      },
      ...ERROR_RESPONSES,
    },
  },
  startRollout: {
    summary:
      'Starts a gray release of `value` at (namespace, key) for `percent` of the peers, peers with `tags`, and listed ' +
      '`peers`; or widens the active one of that key (same value). 409 when another value is rolling out there',
    tags: ['rollouts'],
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['namespace', 'key', 'value'],
      properties: {
        namespace: namespaceParam,
        key: keyParam,
        value: JSON_VALUE,
        percent: { type: 'number', minimum: 0, maximum: 100 },
        tags: tagSelector,
        peers: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 256 }, maxItems: 10_000 },
      },
    },
    response: {
      200: {
        type: 'object',
        required: ['id', 'version'],
        properties: { id: { type: 'string' }, version: ref('Version') },
      },
      ...ERROR_RESPONSES,
    },
  },
  promoteRollout: {
    summary: "Makes the rollout's value the base value everywhere and ends it, in one versioned write (404: no such)",
    tags: ['rollouts'],
    params: rolloutIdParams,
    response: { 200: versionAnswer, ...ERROR_RESPONSES },
  },
  abortRollout: {
    summary: 'Ends the rollout: every peer sees the base value again (404: no such rollout)',
    tags: ['rollouts'],
    params: rolloutIdParams,
    response: { 200: versionAnswer, ...ERROR_RESPONSES },
  },
  importFlags: {
    summary:
      'Loads a flagd flag file (the body) into `namespace` (default `flags`), one key per flag, as one change; ' +
      '`replace=true` deletes the flags the file lacks. 400 when flagd refuses the file',
    tags: ['flags'],
    querystring: {
      type: 'object',
      properties: { namespace: namespaceParam, replace: { type: 'boolean' } },
    },
    body: { type: 'object', required: ['flags'], properties: { flags: { type: 'object' } } },
    response: {
      200: {
        type: 'object',
        required: ['flags', 'version'],
        properties: { flags: { type: 'array', items: { type: 'string' } }, version: ref('Version') },
      },
      ...ERROR_RESPONSES,
    },
  },
} as const

/** Release route schemas by operation. */
export const RELEASE_ROUTE_SCHEMAS = withOperationIds(ROUTES)
