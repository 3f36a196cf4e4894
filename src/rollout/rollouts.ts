/**
 * Gray releases: starting, widening, promoting and aborting rollouts. Each step is one versioned write (in history,
 * with a message naming the rollout) of the rollout's record in {@link ROLLOUT_NAMESPACE}; promote also writes the
 * base value in the same write. What a peer then sees is the overlay's business (`overlay.ts`).
 *
 * Rolling back: records are config, so `rollback(v)` puts the records of version `v` back with its values. A rollback
 * to before a rollout started ends it (like abort); to a version during it restores the group of then (which may be
 * narrower than now); to a version after a promote restores that base value and no record.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { assertValidKey, assertValidNamespace } from '../config/key.js'
import type { WriteOp } from '../config/kv-store.js'
import { assertJsonValue, type JsonValue, jsonEqual, type ValueLimits } from '../config/value.js'
import type { Member } from '../ring/membership.js'
import { isPeerIdString } from '../security/writers.js'
import type { MeshRollouts, RolloutInfo, RolloutOptions } from './api.js'
import { inRollout } from './assignment.js'
import { InvalidRolloutError, RolloutConflictError, UnknownRolloutError } from './errors.js'
import type { RolloutOverlay } from './overlay.js'
import { isTagSelector, parseRolloutRecord, ROLLOUT_NAMESPACE, type RolloutRecord } from './record.js'

/** Options of {@link createRollouts}. */
export interface RolloutsInit {
  /** The overlay over this replica's store. */
  overlay: RolloutOverlay
  /** This peer's id. */
  self: string
  /** This peer's tags (`createMesh({ tags })`). */
  tags: Readonly<Record<string, string>>
  /** Live members other than this peer. */
  members(): readonly Pick<Member, 'peerId' | 'tags'>[]
  /** Writes a batch as one versioned change with a history message (authorisation and schemas are checked there). */
  write(ops: WriteOp[], message: string): Promise<void>
  /** Limits of rollout values (as for `set`). */
  valueLimits: ValueLimits
}

/** Creates the rollout controller. */
export function createRollouts(init: RolloutsInit): MeshRollouts {
  const { overlay } = init
  const find = (id: string): RolloutRecord => {
    const r = overlay.active().find((a) => a.id === id)
    if (r === undefined) throw new UnknownRolloutError(`no active rollout ${JSON.stringify(id)}`)
    return r.record
  }
  return {
    async rollout(namespace, key, value, options = {}) {
      assertValidNamespace(namespace)
      if (namespace === ROLLOUT_NAMESPACE) throw new InvalidRolloutError('rollout records cannot be rolled out')
      assertValidKey(key)
      assertJsonValue(value, init.valueLimits)
      const { percent, tags, peers } = checkOptions(options)
      const existing = overlay.activeFor(namespace, key)
      let id: string
      let record: RolloutRecord
      let message: string
      if (existing === undefined) {
        id = `r${randomBytes(8).toString('hex')}`
        record = {
          namespace,
          key,
          value: structuredClone(value),
          percent: percent ?? 0,
          tags: tags === undefined ? [] : [tags],
          peers,
          started: Date.now(),
        }
        message = `rollout ${id} start ${namespace}/${key}`
      } else {
        id = existing.id
        const was = existing.record
        if (!jsonEqual(was.value, value)) {
          throw new RolloutConflictError(
            `rollout ${id} of ${namespace}/${key} releases another value: promote or abort it first`,
          )
        }
        if (percent !== undefined && percent < was.percent) {
          throw new InvalidRolloutError(`rollout ${id} is at ${was.percent} %: a rollout only widens (abort to stop)`)
        }
        const known = tags !== undefined && was.tags.some((t) => jsonEqual(t, tags))
        record = {
          ...was,
          percent: percent ?? was.percent,
          tags: tags === undefined || known ? was.tags : [...was.tags, tags],
          peers: [...new Set([...was.peers, ...peers])].sort(),
        }
        message = `rollout ${id} widen ${namespace}/${key}`
      }
      await init.write(
        [{ namespace: ROLLOUT_NAMESPACE, key: id, value: record as unknown as JsonValue }],
        `${message}: ${describe(record)}`,
      )
      return { id }
    },

    rollouts() {
      const live = [{ peerId: init.self, tags: init.tags }, ...init.members()]
      return overlay.active().map(({ id, record }): RolloutInfo => {
        const memberIds = live
          .filter((m) => inRollout(id, record, m.peerId, m.tags))
          .map((m) => m.peerId)
          .sort()
        return {
          id,
          ...record,
          members: memberIds.length,
          memberIds,
          self: inRollout(id, record, init.self, init.tags),
        }
      })
    },

    async promote(id) {
      const r = find(id)
      await init.write(
        [
          { namespace: r.namespace, key: r.key, value: r.value },
          { namespace: ROLLOUT_NAMESPACE, key: id, value: undefined },
        ],
        `rollout ${id} promote ${r.namespace}/${r.key}`,
      )
    },

    async abort(id) {
      const r = find(id)
      await init.write(
        [{ namespace: ROLLOUT_NAMESPACE, key: id, value: undefined }],
        `rollout ${id} abort ${r.namespace}/${r.key}`,
      )
    },
  }
}

/** The ops of a write batch that rollout records stand for: their values at their target keys (schema checks). */
export function rolloutTargets(ops: readonly WriteOp[]): WriteOp[] {
  const out: WriteOp[] = []
  for (const op of ops) {
    if (op.namespace !== ROLLOUT_NAMESPACE || op.value === undefined) continue
    const r = parseRolloutRecord(op.value)
    if (r === undefined) throw new InvalidRolloutError(`${ROLLOUT_NAMESPACE}/${op.key} is not a rollout record`)
    out.push({ namespace: r.namespace, key: r.key, value: r.value })
  }
  return out
}

function checkOptions(o: RolloutOptions): {
  percent: number | undefined
  tags: Record<string, string> | undefined
  peers: string[]
} {
  if (o === null || typeof o !== 'object') throw new InvalidRolloutError('rollout options must be an object')
  const { percent, tags, peers = [] } = o
  if (percent !== undefined && !(typeof percent === 'number' && percent >= 0 && percent <= 100)) {
    throw new InvalidRolloutError(`percent must be a number in 0..100, got ${String(percent)}`)
  }
  if (tags !== undefined && (!isTagSelector(tags) || Object.keys(tags).length === 0)) {
    throw new InvalidRolloutError('tags must be a non-empty object of strings')
  }
  if (!Array.isArray(peers) || !peers.every(isPeerIdString)) {
    throw new InvalidRolloutError('peers must be an array of peer ids')
  }
  return { percent, tags: tags === undefined ? undefined : { ...tags }, peers: [...new Set(peers)].sort() }
}

function describe(r: RolloutRecord): string {
  const parts = [`${r.percent} %`]
  if (r.tags.length > 0) parts.push(`tags ${JSON.stringify(r.tags)}`)
  if (r.peers.length > 0) parts.push(`${r.peers.length} listed peer(s)`)
  return parts.join(', ')
}
