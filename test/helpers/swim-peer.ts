/**
 * A SWIM state machine `a` that already holds some members (incarnation 0, alive), with a deterministic random
 * source and its start effects drained: the starting point of the unit tests of one peer's reactions.
 */
import { simMeta } from '../../src/membership/swim/simulation.js'
import { Swim } from '../../src/membership/swim/swim.js'

/**
 * Peer `a` holding `members`, reachable unless in `unreachable`, connected unless in `disconnected`; `x0` seeds its
 * random source.
 */
export function swimPeerHolding(
  members: readonly string[],
  unreachable: ReadonlySet<string> = new Set(),
  x0 = 0.123,
  disconnected: ReadonlySet<string> = new Set(),
): Swim {
  let x = x0
  const a = new Swim({
    id: 'a',
    meta: simMeta(1),
    random: () => (x = (x * 9301 + 0.49297) % 1),
    reachable: (id) => !unreachable.has(id),
    connected: (id) => !disconnected.has(id),
  })
  a.start(0)
  a.restore(
    members.map((id, i) => ({ type: 'alive' as const, id, incarnation: 0, meta: simMeta(i + 2) })),
    0,
  )
  a.clearBroadcasts()
  a.drain()
  return a
}
