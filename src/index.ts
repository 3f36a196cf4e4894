/**
 * @packageDocumentation
 *
 * confmesh: a peer-to-peer configuration mesh. Every process embeds a libp2p node; the configuration is one Yjs CRDT
 * document shared over gossipsub, with state-vector catch-up over a direct stream. No server cluster to run.
 *
 * @example
 * ```ts
 * import { createMesh } from 'confmesh'
 *
 * const mesh = await createMesh({ bootstrap: ['/ip4/10.0.0.5/tcp/4001/p2p/12D3Koo...'] })
 * mesh.watch('feature.checkout', (e) => console.log(e.key, e.previous, '->', e.value))
 * await mesh.namespace('payments').set('limit', { daily: 500 })
 * await mesh.stop()
 * ```
 *
 * The surface: `createMesh`, the types of its options and of what it returns, the reserved namespace names, the
 * storage engines, key and identity helpers, and every named error (all extend `ConfmeshError` and carry a stable
 * `code`). Tuning defaults are documented on the options they default (and in the README), not exported as constants.
 */
import './polyfill.js'

export type { ApiRollout, ApiRolloutStart, ApiSchema } from './client/api-client.js'
// HTTP API client (src/client): for programs that talk to an agent instead of embedding a peer
export {
  type ApiClient,
  type ApiClientOptions,
  createApiClient,
  DEFAULT_REQUEST_TIMEOUT_MS,
} from './client/api-client.js'
export type { ApiSchemaIssue } from './client/errors.js'
export { ApiError, ApiNotFoundError, ApiRefusedError, ApiServerError, ApiUnreachableError } from './client/errors.js'
export {
  type ApiWatchEvent,
  openWatchStream,
  type WatchStream,
  type WatchStreamOptions,
} from './client/watch-stream.js'
export { DEFAULT_NAMESPACE, type EntryInfo, type Namespace, type ReadonlyNamespace } from './config/namespace.js'
export type { JsonValue } from './config/value.js'
export type { WatchEvent, WatchListener, WatchTarget } from './config/watch.js'
export type { HlcTimestamp } from './doc/hlc.js'
export {
  ConfmeshError,
  InvalidKeyError,
  InvalidMessageError,
  InvalidNamespaceError,
  InvalidOptionsError,
  InvalidValueError,
  MeshStoppedError,
  SyncError,
  UpdateRejectedError,
} from './errors.js'
export { EtcdApiError, EtcdListenError, EtcdStateError } from './etcd/errors.js'
// etcd v3 API (src/etcd)
export {
  createEtcdApi,
  DEFAULT_PROGRESS_NOTIFY_MS,
  type EtcdApi,
  type EtcdApiOptions,
  parseEtcdListen,
} from './etcd/etcd-api.js'
export { ETCD_AGENTS_NAMESPACE, ETCD_ATTACH_PREFIX, ETCD_LEASE_NAMESPACE } from './etcd/etcd-leases.js'
// feature flags (src/flags)
export type { MeshFlags } from './flags/api.js'
export { InvalidFlagsError } from './flags/errors.js'
export { DEFAULT_FLAG_NAMESPACE, EVALUATORS_KEY, type FlagFile, METADATA_KEY } from './flags/flag-set.js'
export type { ImportFlagsOptions, ImportFlagsResult } from './flags/import-flags.js'
export { ConfmeshProvider, type ConfmeshProviderOptions, type FlagSource } from './flags/provider.js'
// agent HTTP API and metrics (src/http, src/metrics)
export {
  InsecureListenError,
  InvalidListenAddressError,
  InvalidTokenFileError,
  ReadOnlyNamespaceError,
} from './http/errors.js'
export { createHttpApi, DEFAULT_HTTP_BODY_LIMIT, type HttpApi, type HttpApiOptions } from './http/http-api.js'
export type { ListenAddress } from './http/listen-address.js'
export { type HttpToken, loadTokenFile, parseTokens, type TokenAccess } from './http/tokens.js'
export {
  LeaseDeniedError,
  LeaseHeldError,
  type LeaseHeldReason,
  LeaseLostError,
  LeaseTimeoutError,
  LeaseUnavailableError,
} from './lease/errors.js'
export { LEASE_NAMESPACE } from './lease/lease-server.js'
export type { Lease, LeaseOptions, LeaseRequestOptions } from './lease/leases.js'
export type { MeshLogger } from './logger.js'
export type { MembershipChange, MemberUpdate } from './membership/membership.js'
export type { SwimConfig } from './membership/swim/config.js'
export {
  type ConfigMesh,
  createMesh,
  type MeshDiagnostics,
  type MeshEvents,
  type MeshStats,
  type PeerInfo,
} from './mesh/config-mesh.js'
export type { MembershipOptions, MeshOptions, MeshTiming, RingOptions } from './mesh/options.js'
export { createMeshMetrics, type MeshMetrics, type MeshMetricsOptions } from './metrics/mesh-metrics.js'
export { DataDirMismatchError } from './persistence/errors.js'
// config files rendered from templates (src/render)
export {
  type ConfigSource,
  createRenderer,
  DEFAULT_DEBOUNCE_MS,
  ExecFailedError,
  type Renderer,
  type RendererOptions,
  type RenderResult,
  RenderSourceError,
  RenderWriteError,
  TemplateError,
} from './render/index.js'
export {
  InvalidWeightError,
  KeyRequiredError,
  NoLiveMembersError,
  UnknownStrategyError,
} from './ring/errors.js'
export type { MeshPickOptions, MeshRing, RingChange } from './ring/mesh-ring.js'
export type { PickStrategy } from './ring/picker.js'
// gray release (src/rollout)
export type { MeshRollouts, RolloutInfo, RolloutOptions } from './rollout/api.js'
export { inRollout, rolloutBucket } from './rollout/assignment.js'
export { InvalidRolloutError, RolloutConflictError, UnknownRolloutError } from './rollout/errors.js'
export { ROLLOUT_NAMESPACE, type RolloutRecord } from './rollout/record.js'
// schemas (src/schema)
export type { MeshSchemas, SchemaInfo, SetSchemaOptions } from './schema/api.js'
export { InvalidSchemaError, type SchemaIssue, SchemaValidationError } from './schema/errors.js'
export { SCHEMA_NAMESPACE } from './schema/stored-schema.js'
// security (src/security)
export {
  DataKeyRequiredError,
  NotAuthorizedError,
  UnauthorizedUpdateError,
} from './security/authorization-errors.js'
export {
  InvalidDataKeyError,
  InvalidIdentityError,
  InvalidNetworkKeyError,
  NotSealedError,
  SecretAuthenticationError,
  SecretKeyMismatchError,
} from './security/errors.js'
export { generateIdentity, type Identity, identityFromBytes, identityToBytes } from './security/identity.js'
export type { SecurityOptions } from './security/mesh-security.js'
export { generateNetworkKey } from './security/network-key.js'
export { dataKeyFromString, dataKeyToString, generateDataKey } from './security/secret-box.js'
export { WRITERS_KEY, WRITERS_NAMESPACE } from './security/writers.js'
export {
  createMemoryStorage,
  createSqliteStorage,
  type SqliteStorageInit,
  type Storage,
  StorageAccessError,
  StorageClosedError,
  StorageCorruptError,
  StorageError,
  StorageLockedError,
  type StorageStats,
  StorageVersionError,
  StorageWriteError,
} from './storage/index.js'
export type { JoinSyncOptions } from './sync/join-sync.js'
export type { MeshVersions } from './versions/api.js'
export type { HistoryChange } from './versions/diff.js'
export { type MissingWriter, UnknownVersionError, VersionPrunedError } from './versions/errors.js'
export type { HistoryEntry, HistoryOptions } from './versions/history.js'
export type { RetentionOptions } from './versions/retention.js'
export type { RollbackOptions, RollbackResult, RollbackRewrite } from './versions/rollback.js'
export type { Version, VersionOrder, VersionRef } from './versions/vector-clock.js'
export { DEFAULT_VERSION_WAIT_MS, type VersionWaitOptions } from './versions/version-wait.js'
export type { VersionView } from './versions/view.js'
// the update guard (src/yjs-guard)
export {
  ForbiddenContentError,
  MalformedUpdateError,
  UpdateTimeoutError,
  UpdateTooLargeError,
} from './yjs-guard/errors.js'
export type { UpdateLimits } from './yjs-guard/limits.js'
