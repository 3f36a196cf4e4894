/**
 * The security wiring of one mesh peer, kept out of `mesh/`: option resolution (`networkKey`, `identity`,
 * `writers`, `dataKey`), the writer policy (its writer epoch is owned by `writer-epoch.ts`),
 * the authorisation step of the ingest pipeline, and local write authorisation.
 *
 * @module
 */
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { InvalidNamespaceError, InvalidOptionsError } from '../errors.js'
import type { UpdateLimits } from '../yjs-guard/limits.js'
import { NotAuthorizedError } from './authorization-errors.js'
import type { ClientRegistry } from './client-registry.js'
import type { Identity } from './identity.js'
import { parseNetworkKey } from './network-key.js'
import { createSecretCodec, type SecretCodec } from './secrets.js'
import { createUpdateAuthorization, type SecurityCounters, type UpdateAuthorization } from './update-authorization.js'
import type { WriterEpoch } from './writer-epoch.js'
import {
  createWriterPolicy,
  nextWriterSet,
  normalizeWriters,
  parseWriterSet,
  WRITERS_KEY,
  WRITERS_NAMESPACE,
  type WriterPolicy,
  type WriterSetValue,
} from './writers.js'

/** The security options of `createMesh` (see `MeshOptions`). */
export interface SecurityOptions {
  /** Private-network key (`generateNetworkKey()` text, its bytes, or 64 hex characters). Default: none (open). */
  networkKey?: string | Uint8Array
  /** The peer identity (`await generateIdentity()`). Default: `privateKey`, the stored one, or a new one. */
  identity?: Identity
  /** Peer ids allowed to change config while the document stores no writer set. Default: everyone. */
  writers?: readonly string[]
  /** Data key of secret values (32 bytes, or `dataKeyToString()` text). Default: none. */
  dataKey?: Uint8Array | string
  /** Update-guard limits of gossip updates and catch-up replies. Default: `validators.ts` defaults. */
  updateLimits?: { gossip?: UpdateLimits; sync?: UpdateLimits }
}

/** Resolved {@link SecurityOptions}. */
export interface ResolvedSecurity {
  networkKey: Uint8Array | undefined
  privateKey: PrivateKey | undefined
  writers: string[] | undefined
  secrets: SecretCodec
  updateLimits: { gossip?: UpdateLimits; sync?: UpdateLimits }
}

/** Validates the security options; throws `InvalidOptionsError` (or the building blocks' named errors). */
export function resolveSecurity(o: SecurityOptions & { privateKey?: PrivateKey | undefined }): ResolvedSecurity {
  let privateKey = o.privateKey
  if (o.identity !== undefined) {
    const key = o.identity?.privateKey
    if (key === undefined || typeof key !== 'object') throw new InvalidOptionsError('identity has no privateKey')
    if (privateKey !== undefined && !privateKey.equals(key)) {
      throw new InvalidOptionsError('identity and privateKey name different peers: pass one')
    }
    if (peerIdFromPrivateKey(key).toString() !== o.identity.peerId) {
      throw new InvalidOptionsError('identity.peerId does not match identity.privateKey')
    }
    privateKey = key
  }
  let writers: string[] | undefined
  if (o.writers !== undefined) {
    try {
      writers = normalizeWriters(o.writers)
    } catch (err) {
      throw new InvalidOptionsError((err as Error).message)
    }
  }
  return {
    networkKey: o.networkKey === undefined ? undefined : parseNetworkKey(o.networkKey),
    privateKey,
    writers,
    secrets: createSecretCodec(o.dataKey),
    updateLimits: { ...o.updateLimits },
  }
}

/** Options of {@link createMeshSecurity}. */
export interface MeshSecurityInit {
  /** This peer's id. */
  peerId: string
  /** Resolved options. */
  options: ResolvedSecurity
  /** Client ids bound to peers (`registerDocument` of the restored document, then every accepted update). */
  registry: ClientRegistry
  /** The owner of this peer's writer epoch. */
  epoch: WriterEpoch
  /** Reads the stored writer set (the key-value store's value of `__confmesh`/`writers`). */
  readWriters: () => unknown
}

/** The security state of one running mesh peer. */
export interface MeshSecurity {
  readonly policy: WriterPolicy
  /** The authorisation step of the ingest pipeline (`check`) and the refusal counter (`count`). */
  readonly authorization: Pick<UpdateAuthorization, 'check' | 'count'>
  /** Counters (refusals by error name). */
  readonly counters: SecurityCounters
  /** The secret codec. */
  readonly secrets: SecretCodec
  /** This peer's writer epoch (`writer-epoch.ts`). */
  epoch(): number | undefined
  /** Throws `NotAuthorizedError` unless this peer may write; `InvalidNamespaceError` for the reserved namespace. */
  assertMayWrite(ops: ReadonlyArray<{ namespace: string }>): void
  /** The current writer set (`undefined`: everyone). */
  writers(): string[] | undefined
  /** The write op that stores `next` as the writer set (checked: this peer must be a writer). */
  writersOp(next: readonly string[]): { namespace: string; key: string; value: WriterSetValue }
}

/** Creates the security state of one peer. */
export function createMeshSecurity(init: MeshSecurityInit): MeshSecurity {
  const { peerId, options, registry } = init
  const policy = createWriterPolicy({
    ...(options.writers === undefined ? {} : { seed: options.writers }),
    read: init.readWriters,
  })
  const authorization = createUpdateAuthorization({ policy, registry })
  const assertWriter = (): void => {
    if (!policy.mayWrite(peerId)) {
      throw new NotAuthorizedError(`peer ${peerId} is not a writer of this mesh: config is read-only here`)
    }
  }
  return {
    policy,
    authorization,
    counters: authorization.counters,
    secrets: options.secrets,
    epoch: () => init.epoch.current(),
    assertMayWrite(ops) {
      for (const op of ops) {
        if (op.namespace === WRITERS_NAMESPACE) {
          throw new InvalidNamespaceError(`namespace ${WRITERS_NAMESPACE} is reserved: use setWriters()`)
        }
      }
      assertWriter()
    },
    writers() {
      const set = policy.current()
      return set === undefined ? undefined : [...set].sort()
    },
    writersOp(next) {
      assertWriter()
      let list: string[]
      try {
        list = normalizeWriters([...next])
      } catch (err) {
        throw new InvalidOptionsError((err as Error).message)
      }
      if (list.length === 0) throw new InvalidOptionsError('the writer set cannot be empty')
      const stored = parseWriterSet(init.readWriters())
      const previous = stored?.writers ?? options.writers
      return { namespace: WRITERS_NAMESPACE, key: WRITERS_KEY, value: nextWriterSet(previous, list, stored?.former) }
    },
  }
}
