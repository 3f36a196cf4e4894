/**
 * The catch-up gap of an open mesh (no `writers`), closed: an outsider that serves crafted catch-up replies cannot
 * write under another peer's Yjs client id. Gossip refused such structs already; the same bytes in a catch-up reply
 * were accepted when their entries carried no writer epoch, so the outsider's value became visible and replicas could
 * diverge (Yjs keeps whichever copy of a client's clock it saw first).
 *
 * Real peers on 127.0.0.1 and a real attacking libp2p node (`test/helpers/attacker.ts`) that every honest peer pulls
 * from when it connects (in an open mesh everyone may answer a catch-up).
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { ConfigMesh } from '../../src/index.js'
import { type Attacker, type CraftedEntry, createAttacker } from '../helpers/attacker.js'
import { replicaState, startMesh, stopAll, waitForConvergence, waitForMembers } from '../helpers/cluster.js'
import { waitFor } from '../helpers/wait-for.js'

/**
 * A Yjs update holding `elements` under `client` from clock `clock` on, right after that client's struct at
 * `clock - 1` (which the receivers have): what a forger sends to append to another peer's client id.
 */
function forgeAfter(client: number, clock: number, elements: unknown[]): Uint8Array {
  const doc = new Y.Doc({ gc: true })
  doc.clientID = client
  const entries = doc.getArray('entries')
  entries.push(Array.from({ length: clock }, () => 0)) // stands for the victim's clocks 0..clock-1
  const before = Y.encodeStateVector(doc)
  entries.push(elements)
  return Y.encodeStateAsUpdate(doc, before)
}

const entry = (e: CraftedEntry) => ({ n: 'default', t: Date.now() + 60_000, c: 0, ...e })

describe('catch-up in an open mesh (no writers)', () => {
  let peers: ConfigMesh[] = []
  let attacker: Attacker
  let victim: ConfigMesh
  let victimClient = 0
  let victimClock = 0
  let reply: () => Uint8Array = () => new Uint8Array([0, 0])

  beforeAll(async () => {
    const first = await startMesh()
    peers = [first, await startMesh({ bootstrap: [first.addresses[0]!] })]
    peers.push(await startMesh({ bootstrap: [first.addresses[0]!] }))
    await waitForMembers(peers)
    victim = first
    // the victim's client id: the one its first write advances
    const before = victim.diagnostics().stateVector
    await victim.set('mode', 'honest')
    const after = victim.diagnostics().stateVector
    const [client, clock] = Object.entries(after).find(([c, n]) => before[c] !== n)!
    victimClient = Number(client)
    victimClock = clock
    await waitForConvergence(peers)
    attacker = await createAttacker()
    await attacker.serveCatchUp(() => reply())
  }, 60_000)

  afterAll(async () => {
    await stopAll(peers)
    await attacker?.stop()
  })

  /** Serves `update` to every honest peer (each pulls from the attacker when it connects) and waits for the refusals. */
  async function serveToAll(update: Uint8Array): Promise<void> {
    reply = () => update
    const refusals = () => peers.map((m) => m.diagnostics().counters['security.UnauthorizedUpdateError'] ?? 0)
    const before = refusals()
    const served = attacker.served
    for (const m of peers) {
      await attacker.node.hangUp(peerIdFromString(m.peerId))
      await attacker.connect(m.addresses[0]!)
    }
    await waitFor(() => attacker.served >= served + peers.length, { message: 'every peer pulled from the attacker' })
    await waitFor(() => refusals().every((n, i) => n > before[i]!), { message: 'every peer refused the reply' })
  }

  it("refuses entries without an epoch under another peer's client id, in the attacker's name or the victim's", async () => {
    await serveToAll(forgeAfter(victimClient, victimClock, [entry({ k: 'mode', v: 'pwned', a: attacker.peerId })]))
    await serveToAll(forgeAfter(victimClient, victimClock, [entry({ k: 'mode', v: 'pwned', a: victim.peerId })]))
  })

  it("refuses entries whose author and epoch do not bind them to the client id, and records under another's", async () => {
    await serveToAll(
      forgeAfter(victimClient, victimClock, [entry({ k: 'mode', v: 'pwned', a: attacker.peerId, e: 9 })]),
    )
    const record = { a: attacker.peerId, t: Date.now() + 60_000, c: 0, s: new Uint8Array([0]), w: [] }
    await serveToAll(forgeAfter(victimClient, victimClock, [record]))
  })

  it('every replica stays identical, and the victim keeps writing under its client id', async () => {
    for (const m of peers) expect(m.get('mode')).toBe('honest')
    await victim.set('mode', 'final')
    await waitForConvergence(peers)
    const states = peers.map(replicaState)
    for (const s of states) expect(s).toEqual(states[0])
    for (const m of peers) expect(m.get('mode')).toBe('final')
    // the victim's next write continued its own client's clocks: nobody else's structs sit there
    expect(victim.diagnostics().stateVector[String(victimClient)]).toBeGreaterThan(victimClock)
  })
})
