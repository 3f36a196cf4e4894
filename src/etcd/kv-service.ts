/**
 * etcd's KV service: Range, Put, DeleteRange, Txn and Compact over the served namespace.
 *
 * Reads answer from this agent's replica and revision index. A request's writes are planned first (every key,
 * value and lease checked; nothing written if any is refused), then applied as one change of the mesh. Txn compares
 * and applies atomically on this agent (no other change can come between its compares and its writes); concurrent
 * writes on other agents resolve by last-writer-wins when they meet: NOT linearizable (docs/etcd.md).
 * Differences from etcd: ranges inside a Txn see the state before the Txn's writes; a put of the value and lease a
 * key already has changes nothing (no new revision, as confmesh does not record equal writes).
 *
 * @module
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js'
import { keyFromBytes, keyRange, valueFromBytes } from './codec.js'
import { applyWrites, type EtcdContext, type EtcdWrite } from './context.js'
import { etcdErrors, invalidArgument } from './errors.js'
import { leaseIdOf } from './etcd-leases.js'
import { unary } from './grpc-status.js'
import {
  type Compare,
  type DeleteRangeRequest,
  int64,
  kvMessage,
  type PutRequest,
  type RangeRequest,
  type RequestOp,
  type TxnRequest,
} from './messages.js'
import type { StoredKv } from './revision-store.js'

/** Most operations one Txn may hold (etcd's default `--max-txn-ops`). */
export const MAX_TXN_OPS = 128

/** A planned request: its writes, and its answer once they are applied. */
interface Plan {
  writes: EtcdWrite[]
  /** Keys it puts, and ranges it deletes (duplicate check of a Txn). */
  puts: string[]
  answer(): object
}

const SORT_FIELDS: Record<RangeRequest['sort_target'], (kv: StoredKv) => number | Buffer> = {
  KEY: (kv) => kv.key,
  VERSION: (kv) => kv.version,
  CREATE: (kv) => kv.createRevision,
  MOD: (kv) => kv.modRevision,
  VALUE: (kv) => kv.value,
}

/** Answers a Range. */
export function range(ctx: EtcdContext, req: RangeRequest): object {
  const r = keyRange(req.key, req.range_end)
  const limit = int64(req.limit)
  if (limit < 0) throw invalidArgument('limit must not be negative')
  let kvs = ctx.store.range(r, int64(req.revision))
  const [minMod, maxMod] = [int64(req.min_mod_revision), int64(req.max_mod_revision)]
  const [minCreate, maxCreate] = [int64(req.min_create_revision), int64(req.max_create_revision)]
  if (minMod > 0 || maxMod > 0 || minCreate > 0 || maxCreate > 0) {
    kvs = kvs.filter(
      (kv) =>
        (minMod <= 0 || kv.modRevision >= minMod) &&
        (maxMod <= 0 || kv.modRevision <= maxMod) &&
        (minCreate <= 0 || kv.createRevision >= minCreate) &&
        (maxCreate <= 0 || kv.createRevision <= maxCreate),
    )
  }
  const target = req.sort_target ?? 'KEY'
  const field = SORT_FIELDS[target]
  if (field === undefined || !['NONE', 'ASCEND', 'DESCEND'].includes(req.sort_order ?? 'NONE')) {
    throw etcdErrors.invalidSortOption()
  }
  const order = req.sort_order === 'NONE' && target !== 'KEY' ? 'ASCEND' : (req.sort_order ?? 'NONE')
  if (order !== 'NONE' && !(order === 'ASCEND' && target === 'KEY')) {
    const sign = order === 'DESCEND' ? -1 : 1
    kvs = [...kvs].sort((a, b) => {
      const [x, y] = [field(a), field(b)]
      const c = typeof x === 'number' ? x - (y as number) : Buffer.compare(x, y as Buffer)
      return sign * (c === 0 ? Buffer.compare(a.key, b.key) : c)
    })
  }
  const count = kvs.length
  const shown = limit > 0 ? kvs.slice(0, limit) : kvs
  return {
    header: ctx.header(),
    kvs: req.count_only ? [] : shown.map((kv) => kvMessage(kv, req.keys_only)),
    more: limit > 0 && count > limit,
    count,
  }
}

function planPut(ctx: EtcdContext, req: PutRequest): Plan {
  const key = keyFromBytes(req.key)
  const prev = ctx.store.get(key)
  const writes: EtcdWrite[] = []
  if (req.ignore_value) {
    if (req.value !== undefined && req.value.length > 0) throw etcdErrors.valueProvided()
    if (prev === undefined) throw etcdErrors.keyNotFound()
  }
  const lease = leaseIdOf(req.lease)
  if (req.ignore_lease) {
    if (lease !== '0') throw etcdErrors.leaseProvided()
    if (prev === undefined) throw etcdErrors.keyNotFound()
  } else {
    if (lease !== '0' && ctx.leases.get(lease) === undefined) throw etcdErrors.leaseNotFound()
    const current = ctx.leases.leaseOf(ctx.namespace, key)
    if (current !== lease) writes.push({ target: 'lease', key, value: lease === '0' ? undefined : lease })
  }
  if (!req.ignore_value) {
    const value = valueFromBytes(req.value)
    if (value.length + 2 > ctx.maxValueBytes) {
      throw invalidArgument(`value is larger than the limit of ${ctx.maxValueBytes} bytes`)
    }
    writes.unshift({ target: 'value', key, value })
  }
  return {
    writes,
    puts: [key],
    answer: () => ({
      header: ctx.header(),
      ...(req.prev_kv && prev !== undefined ? { prev_kv: kvMessage(prev) } : {}),
    }),
  }
}

function planDelete(ctx: EtcdContext, req: DeleteRangeRequest): Plan {
  const kvs = ctx.store.range(keyRange(req.key, req.range_end))
  const writes: EtcdWrite[] = []
  for (const kv of kvs) {
    const key = kv.key.toString('utf8')
    writes.push({ target: 'value', key, value: undefined })
    if (ctx.leases.leaseOf(ctx.namespace, key) !== '0') writes.push({ target: 'lease', key, value: undefined })
  }
  return {
    writes,
    puts: kvs.map((kv) => kv.key.toString('utf8')),
    answer: () => ({
      header: ctx.header(),
      deleted: kvs.length,
      prev_kvs: req.prev_kv ? kvs.map((kv) => kvMessage(kv)) : [],
    }),
  }
}

function compareOne(c: Compare, kv: StoredKv | undefined): boolean {
  let cmp: number
  switch (c.target) {
    case 'VALUE':
      if (kv === undefined) return false
      cmp = Buffer.compare(kv.value, Buffer.from(c.value ?? Buffer.alloc(0)))
      break
    case 'LEASE':
      cmp = Number(BigInt(kv?.lease ?? '0') - BigInt(leaseIdOf(c.lease)))
      break
    case 'VERSION':
      cmp = (kv?.version ?? 0) - int64(c.version)
      break
    case 'CREATE':
      cmp = (kv?.createRevision ?? 0) - int64(c.create_revision)
      break
    case 'MOD':
      cmp = (kv?.modRevision ?? 0) - int64(c.mod_revision)
      break
    default:
      throw invalidArgument(`unknown compare target ${String(c.target)}`)
  }
  switch (c.result) {
    case 'EQUAL':
      return cmp === 0
    case 'NOT_EQUAL':
      return cmp !== 0
    case 'GREATER':
      return cmp > 0
    case 'LESS':
      return cmp < 0
    default:
      throw invalidArgument(`unknown compare result ${String(c.result)}`)
  }
}

function compareHolds(ctx: EtcdContext, c: Compare): boolean {
  const kvs = ctx.store.range(keyRange(c.key, c.range_end))
  if (kvs.length === 0) return compareOne(c, undefined)
  return kvs.every((kv) => compareOne(c, kv))
}

function planTxn(ctx: EtcdContext, req: TxnRequest, depth = 0): Plan {
  if (depth > 8) throw invalidArgument('txn nested too deeply')
  const ops = (req.compare ?? []).every((c) => compareHolds(ctx, c)) ? 'success' : 'failure'
  const list = req[ops] ?? []
  if ((req.compare ?? []).length > MAX_TXN_OPS || list.length > MAX_TXN_OPS) throw etcdErrors.tooManyOps()
  const plans = list.map((op) => planOp(ctx, op, depth))
  const puts = plans.flatMap((p) => p.puts)
  if (new Set(puts).size !== puts.length) throw etcdErrors.duplicateKey()
  return {
    writes: plans.flatMap((p) => p.writes),
    puts,
    answer: () => ({
      header: ctx.header(),
      succeeded: ops === 'success',
      responses: list.map((op, i) => ({ [responseField(op)]: plans[i]!.answer() })),
    }),
  }
}

function responseField(op: RequestOp): string {
  switch (op.request) {
    case 'request_range':
      return 'response_range'
    case 'request_put':
      return 'response_put'
    case 'request_delete_range':
      return 'response_delete_range'
    default:
      return 'response_txn'
  }
}

function planOp(ctx: EtcdContext, op: RequestOp, depth: number): Plan {
  switch (op.request) {
    case 'request_range': {
      const answer = range(ctx, op.request_range!)
      return { writes: [], puts: [], answer: () => answer }
    }
    case 'request_put':
      return planPut(ctx, op.request_put!)
    case 'request_delete_range':
      return planDelete(ctx, op.request_delete_range!)
    case 'request_txn':
      return planTxn(ctx, op.request_txn!, depth + 1)
    default:
      throw invalidArgument('empty request op in txn')
  }
}

async function run(ctx: EtcdContext, plan: Plan): Promise<object> {
  await applyWrites(ctx, plan.writes)
  return plan.answer()
}

/** The KV service implementation. */
export function kvService(ctx: EtcdContext): UntypedServiceImplementation {
  const log = ctx.logger
  return {
    Range: unary('Range', log, (req: RangeRequest) => range(ctx, req)),
    Put: unary('Put', log, (req: PutRequest) => run(ctx, planPut(ctx, req))),
    DeleteRange: unary('DeleteRange', log, (req: DeleteRangeRequest) => run(ctx, planDelete(ctx, req))),
    Txn: unary('Txn', log, (req: TxnRequest) => run(ctx, planTxn(ctx, req))),
    Compact: unary('Compact', log, (req: { revision: string }) => {
      ctx.store.compact(int64(req.revision))
      return { header: ctx.header() }
    }),
  }
}
