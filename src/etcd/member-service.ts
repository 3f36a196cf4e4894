/**
 * etcd's Cluster MemberList and Maintenance Status, in mesh terms: the members are the mesh's live members (id from
 * the peer id, name = peer id, client URL = the etcd address an agent announced, peer URLs = its multiaddrs); every
 * agent reports itself as leader (there is no leader: each agent answers from its own replica), raft term 1, and its
 * own revision as raft index. `dbSize` is the encoded size of the mesh document.
 *
 * @module
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js'
import type { EtcdContext } from './context.js'
import { ETCD_AGENTS_NAMESPACE } from './etcd-leases.js'
import { unary } from './grpc-status.js'
import { idOf } from './header.js'

/** The etcd API version this server reports (the API level it implements). */
export const REPORTED_ETCD_VERSION = '3.5.0'

function clientUrls(ctx: EtcdContext, peerId: string): string[] {
  const v = ctx.mesh.namespace(ETCD_AGENTS_NAMESPACE).get(peerId)
  const address = v !== null && typeof v === 'object' && !Array.isArray(v) ? v.address : undefined
  return typeof address === 'string' ? [`http://${address}`] : []
}

/** The Cluster service implementation (MemberList; the rest answers UNIMPLEMENTED). */
export function clusterService(ctx: EtcdContext): UntypedServiceImplementation {
  return {
    MemberList: unary('MemberList', ctx.logger, () => {
      const self = ctx.mesh.peerId
      const members = [
        { ID: idOf(self), name: self, peerURLs: ctx.mesh.addresses, clientURLs: [`http://${ctx.address()}`] },
        ...ctx.mesh.peers().map((p) => ({
          ID: idOf(p.peerId),
          name: p.peerId,
          peerURLs: [...p.addresses],
          clientURLs: clientUrls(ctx, p.peerId),
        })),
      ]
      return { header: ctx.header(), members }
    }),
  }
}

/** The Maintenance service implementation (Status; the rest answers UNIMPLEMENTED). */
export function maintenanceService(ctx: EtcdContext): UntypedServiceImplementation {
  return {
    Status: unary('Status', ctx.logger, async () => {
      const stats = await ctx.mesh.stats()
      const header = ctx.header()
      return {
        header,
        version: REPORTED_ETCD_VERSION,
        dbSize: stats.documentBytes,
        leader: header.member_id,
        raftIndex: header.revision,
        raftTerm: '1',
        raftAppliedIndex: header.revision,
        errors: [],
        dbSizeInUse: stats.documentBytes,
        isLearner: false,
      }
    }),
  }
}
