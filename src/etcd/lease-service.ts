/**
 * etcd's Lease service over {@link EtcdLeases}: Grant, Revoke, KeepAlive (a stream of renewals, answered in order),
 * TimeToLive (with the attached keys of the served namespace) and Leases. Answers follow etcd's server: a keep-alive
 * of an unknown lease answers TTL 0, TimeToLive of an unknown lease answers TTL -1, Revoke of one fails NOT_FOUND.
 *
 * @module
 */
import type { ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js'
import type { EtcdContext } from './context.js'
import { leaseIdOf } from './etcd-leases.js'
import { assertDecoded, grpcError, unary } from './grpc-status.js'
import { type Int64, int64 } from './messages.js'

/** The Lease service implementation; `sessions` tracks open keep-alive streams so the API can close them. */
export function leaseService(ctx: EtcdContext, sessions: Set<{ close(): void }>): UntypedServiceImplementation {
  const log = ctx.logger
  return {
    LeaseGrant: unary('LeaseGrant', log, async (req: { TTL: Int64; ID: Int64 }) => {
      const granted = await ctx.leases.grant(int64(req.TTL), leaseIdOf(req.ID))
      return { header: ctx.header(), ID: granted.id, TTL: granted.ttl, error: '' }
    }),
    LeaseRevoke: unary('LeaseRevoke', log, async (req: { ID: Int64 }) => {
      await ctx.leases.revoke(leaseIdOf(req.ID))
      return { header: ctx.header() }
    }),
    LeaseTimeToLive: unary('LeaseTimeToLive', log, (req: { ID: Int64; keys: boolean }) => {
      const id = leaseIdOf(req.ID)
      const t = ctx.leases.timeToLive(id, ctx.namespace)
      return {
        header: ctx.header(),
        ID: id,
        TTL: t.ttl,
        grantedTTL: t.grantedTtl,
        keys: req.keys ? t.keys.map((k) => Buffer.from(k, 'utf8')) : [],
      }
    }),
    LeaseLeases: unary('LeaseLeases', log, () => ({
      header: ctx.header(),
      leases: ctx.leases.list().map((ID) => ({ ID })),
    })),
    LeaseKeepAlive: (call: ServerDuplexStream<{ ID: Int64 }, object>) => {
      let closed = false
      let queue: Promise<void> = Promise.resolve()
      const session = {
        close() {
          if (closed) return
          closed = true
          try {
            call.end()
          } catch {
            // the client went first
          }
        },
      }
      sessions.add(session)
      call.on('data', (req: { ID: Int64 }) => {
        queue = queue.then(async () => {
          if (closed) return
          try {
            const id = leaseIdOf(assertDecoded(req, 'LeaseKeepAliveRequest').ID)
            const ttl = await ctx.leases.keepAlive(id)
            if (!closed) call.write({ header: ctx.header(), ID: id, TTL: ttl })
          } catch (err) {
            closed = true
            call.emit('error', grpcError(err, log, 'LeaseKeepAlive'))
          }
        })
      })
      const end = (): void => {
        sessions.delete(session)
        session.close()
      }
      call.on('end', end)
      call.on('error', end)
      call.on('cancelled', end)
    },
  }
}
