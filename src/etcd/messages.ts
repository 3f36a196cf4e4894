/**
 * The etcd messages the API reads and writes, as @grpc/proto-loader decodes them (see proto.ts: field names as in
 * the .proto, int64 as decimal strings, enums as names, bytes as Buffers), and the conversion of stored keys.
 *
 * @module
 */
import type { StoredKv } from './revision-store.js'

/** An int64 on the wire: proto-loader decodes to a string; numbers are accepted when encoding. */
export type Int64 = string | number

/** `etcdserverpb.ResponseHeader` */
export interface ResponseHeader {
  cluster_id: string
  member_id: string
  revision: Int64
  raft_term: string
}

/** `mvccpb.KeyValue` */
export interface KeyValueMessage {
  key: Buffer
  create_revision: Int64
  mod_revision: Int64
  version: Int64
  value: Buffer
  lease: Int64
}

/** `etcdserverpb.RangeRequest` */
export interface RangeRequest {
  key: Buffer
  range_end: Buffer
  limit: Int64
  revision: Int64
  sort_order: 'NONE' | 'ASCEND' | 'DESCEND'
  sort_target: 'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE'
  serializable: boolean
  keys_only: boolean
  count_only: boolean
  min_mod_revision: Int64
  max_mod_revision: Int64
  min_create_revision: Int64
  max_create_revision: Int64
}

/** `etcdserverpb.PutRequest` */
export interface PutRequest {
  key: Buffer
  value: Buffer
  lease: Int64
  prev_kv: boolean
  ignore_value: boolean
  ignore_lease: boolean
}

/** `etcdserverpb.DeleteRangeRequest` */
export interface DeleteRangeRequest {
  key: Buffer
  range_end: Buffer
  prev_kv: boolean
}

/** `etcdserverpb.RequestOp` */
export interface RequestOp {
  request?: 'request_range' | 'request_put' | 'request_delete_range' | 'request_txn'
  request_range?: RangeRequest | null
  request_put?: PutRequest | null
  request_delete_range?: DeleteRangeRequest | null
  request_txn?: TxnRequest | null
}

/** `etcdserverpb.Compare` */
export interface Compare {
  result: 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL'
  target: 'VERSION' | 'CREATE' | 'MOD' | 'VALUE' | 'LEASE'
  key: Buffer
  range_end: Buffer
  target_union?: 'version' | 'create_revision' | 'mod_revision' | 'value' | 'lease'
  version?: Int64
  create_revision?: Int64
  mod_revision?: Int64
  value?: Buffer
  lease?: Int64
}

/** `etcdserverpb.TxnRequest` */
export interface TxnRequest {
  compare: Compare[]
  success: RequestOp[]
  failure: RequestOp[]
}

/** `etcdserverpb.WatchCreateRequest` */
export interface WatchCreateRequest {
  key: Buffer
  range_end: Buffer
  start_revision: Int64
  progress_notify: boolean
  filters: Array<'NOPUT' | 'NODELETE'>
  prev_kv: boolean
  watch_id: Int64
  fragment: boolean
}

/** `etcdserverpb.WatchRequest` */
export interface WatchRequest {
  request_union?: 'create_request' | 'cancel_request' | 'progress_request'
  create_request?: WatchCreateRequest | null
  cancel_request?: { watch_id: Int64 } | null
  progress_request?: object | null
}

/** A decimal int64 field as a JS number (revisions, limits, TTLs fit in 2^53 in practice; larger saturate). */
export function int64(v: Int64 | undefined): number {
  if (v === undefined || v === '') return 0
  const n = Number(v)
  return Number.isFinite(n) ? n : 0
}

/** A stored key as `mvccpb.KeyValue` (`keysOnly`: without the value). */
export function kvMessage(kv: StoredKv, keysOnly = false): KeyValueMessage {
  return {
    key: kv.key,
    create_revision: kv.createRevision,
    mod_revision: kv.modRevision,
    version: kv.version,
    value: keysOnly ? Buffer.alloc(0) : kv.value,
    lease: kv.lease,
  }
}
