/**
 * CPU per applied gossip update: the receiving side of gossip (topic validator, then delivery) on the code of this
 * tree (the ingest pipeline: one guard parse, one Yjs decoding for the author check, one apply) against the code of
 * an older commit (default b4cc002: the guard parsed each gossip update three times and Yjs decoded it twice), in the
 * same process and run, alternating rounds so machine load hits both alike.
 *
 * Workload: a writer with the kv-store and history (as in a mesh) makes `--updates` single-key sets of a small JSON
 * value on a document of `--keys` keys; each set is one gossip update (entry + delete of the replaced entry + history
 * record), bound to the writer's epoch. Each receiver starts from the same base state and has its own kv-store and
 * history, so a round measures what one peer spends per received update, end to end, in the open-mesh configuration.
 *
 *   npx tsx bench/ingest.ts [--updates=2000] [--keys=1000] [--rounds=5] [--old=b4cc002] [--quick]
 *
 * The old commit's src/ is extracted with `git archive` into bench/.build/ (ignored) and imported from there.
 *
 * @module
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import * as Y from 'yjs'
import { createKvStore } from '../src/config/kv-store.js'
import { createHybridLogicalClock } from '../src/doc/hlc.js'
import { createIngest } from '../src/doc/ingest.js'
import { channelLimits } from '../src/doc/limits.js'
import type { MeshLogger } from '../src/logger.js'
import { clientIdFor } from '../src/security/client-id.js'
import { createClientRegistry } from '../src/security/client-registry.js'
import { createUpdateAuthorization } from '../src/security/update-authorization.js'
import { createWriterPolicy } from '../src/security/writers.js'
import { createVersions } from '../src/versions/versions.js'
import { parseCli } from './lib/cli.js'
import { machineLine, sampleMachine, warnIfBusy } from './lib/machine.js'
import { BENCH_DIR, writeResultsSection } from './lib/results.js'

const cli = parseCli()
const UPDATES = cli.num('updates', 2000, 500)
const KEYS = cli.num('keys', 1000, 200)
const ROUNDS = cli.num('rounds', 5, 3)
const OLD = cli.str('old', 'b4cc002')
const EPOCH = 7

const silent: MeshLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }

/** The receiving side of gossip for one update: the topic validator's step, then delivery's. */
type Receiver = (update: Uint8Array) => void
type ReceiverFactory = (doc: Y.Doc) => Receiver

/** Builds the writer's base state and its gossip updates. */
async function workload(): Promise<{ author: string; base: Uint8Array; updates: Uint8Array[]; expected: Uint8Array }> {
  const author = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  const doc = new Y.Doc({ gc: true })
  doc.clientID = clientIdFor(author, EPOCH)
  const clock = createHybridLogicalClock()
  const versions = createVersions({ doc, author, clock })
  const store = createKvStore({ doc, author, clock, onLocalWrite: versions.onLocalWrite, epoch: () => EPOCH })
  versions.start()
  const value = (i: number) => ({ enabled: i % 2 === 0, limit: i, region: 'eu-west', tags: ['a', 'b'] })
  for (let i = 0; i < KEYS; i++) store.write([{ namespace: 'default', key: `key-${i}`, value: value(i) }])
  const base = Y.encodeStateAsUpdate(doc)
  const updates: Uint8Array[] = []
  const onUpdate = (u: Uint8Array) => void updates.push(u)
  doc.on('update', onUpdate)
  for (let i = 0; i < UPDATES; i++) {
    store.write([{ namespace: 'default', key: `key-${(i * 7919) % KEYS}`, value: value(KEYS + i) }])
  }
  doc.off('update', onUpdate)
  versions.stop()
  return { author, base, updates, expected: Y.encodeStateVector(doc) }
}

/** A receiver of this tree: the ingest pipeline as the mesh wires it (open mesh). */
function currentReceiver(author: string): ReceiverFactory {
  return (doc) => {
    const ingest = createIngest({ doc, logger: silent, limits: channelLimits() })
    const policy = createWriterPolicy({ read: () => undefined })
    ingest.addCheck(createUpdateAuthorization({ policy, registry: createClientRegistry() }).check)
    return (update) => {
      const context = { from: author, via: 'gossip' as const, epoch: EPOCH }
      const parsed = ingest.parse(update, context) // topic validator
      if (parsed instanceof Error) throw parsed
      const refused = ingest.applyParsed(parsed) // delivery
      if (refused !== undefined) throw refused
    }
  }
}

/** A receiver of the old commit: the update applier with the security validators, as its mesh.ts wired them. */
async function oldReceiver(author: string, srcDir: string): Promise<ReceiverFactory> {
  const load = (path: string) => import(pathToFileURL(join(srcDir, path)).href)
  const applierMod = await load('sync/update-applier.ts')
  const validatorsMod = await load('security/validators.ts')
  const writersMod = await load('security/writers.ts')
  const registryMod = await load('security/client-registry.ts')
  return (doc) => {
    const policy = writersMod.createWriterPolicy({ read: () => undefined })
    const v = validatorsMod.createSecurityValidators({ policy, registry: registryMod.createClientRegistry() })
    const applier = applierMod.createUpdateApplier({
      doc,
      logger: silent,
      validators: [applierMod.sizeValidator(256 * 1024 * 1024), ...v.validators],
      applyUpdate: v.applyUpdate,
      onGap: () => {},
    })
    return (update) => {
      const context = { from: author, via: 'gossip', epoch: EPOCH }
      const refusedCheck = applier.check(update, context) // topic validator
      if (refusedCheck !== undefined) throw refusedCheck
      const refused = applier.apply(update, context) // delivery
      if (refused !== undefined) throw refused
    }
  }
}

/**
 * One round: a fresh receiver on a document at the base state takes every update; `withStore`: with its kv-store and
 * history (a whole peer), else the bare document (the ingest path alone).
 */
function round(
  factory: ReceiverFactory,
  w: { base: Uint8Array; updates: Uint8Array[]; expected: Uint8Array },
  withStore: boolean,
  count = w.updates.length,
): number {
  const { base, expected } = w
  const updates = w.updates.slice(0, count)
  const doc = new Y.Doc({ gc: true })
  Y.applyUpdate(doc, base)
  const clock = createHybridLogicalClock()
  const versions = withStore ? createVersions({ doc, author: 'receiver', clock }) : undefined
  const store = withStore
    ? createKvStore({ doc, author: 'receiver', clock, onLocalWrite: versions!.onLocalWrite })
    : undefined
  versions?.start()
  const receive = factory(doc)
  const t0 = process.cpuUsage()
  for (const u of updates) receive(u)
  const used = process.cpuUsage(t0)
  versions?.stop()
  store?.destroy()
  const got = Y.decodeStateVector(Y.encodeStateVector(doc))
  for (const [client, clock] of Y.decodeStateVector(expected)) {
    if (count === w.updates.length && got.get(client) !== clock)
      throw new Error(`receiver missed updates of client ${client}`)
  }
  return (used.user + used.system) / updates.length
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

async function main(): Promise<void> {
  const machine = await sampleMachine()
  warnIfBusy(machine)
  const oldDir = join(BENCH_DIR, '.build', `old-${OLD}`)
  if (!existsSync(join(oldDir, 'src'))) {
    mkdirSync(oldDir, { recursive: true })
    execFileSync('sh', ['-c', `git archive ${OLD} src | tar -x -C ${JSON.stringify(oldDir)}`], {
      cwd: join(BENCH_DIR, '..'),
    })
  }
  const w = await workload()
  const bytes = w.updates.reduce((s, u) => s + u.length, 0) / w.updates.length
  const current = currentReceiver(w.author)
  const old = await oldReceiver(w.author, join(oldDir, 'src'))
  const fmt = (x: number) => x.toFixed(1)
  const rows: string[] = []
  for (const withStore of [true, false]) {
    const what = withStore ? 'a whole peer (kv-store + history)' : 'the ingest path alone (bare document)'
    round(current, w, withStore, 100) // warm-up (JIT) of both paths
    round(old, w, withStore, 100)
    const times = { old: [] as number[], current: [] as number[] }
    for (let r = 0; r < ROUNDS; r++) {
      times.old.push(round(old, w, withStore))
      times.current.push(round(current, w, withStore))
    }
    const o = median(times.old)
    const c = median(times.current)
    console.log(`${what}: ${OLD} ${fmt(o)} µs, this tree ${fmt(c)} µs CPU per update (ratio ${(c / o).toFixed(2)})`)
    rows.push(
      `| ${what} | ${fmt(o)} (${times.old.map(fmt).join(', ')}) | ${fmt(c)} (${times.current.map(fmt).join(', ')}) | ` +
        `${(c / o).toFixed(2)} |`,
    )
  }
  writeResultsSection(
    'ingest',
    [
      '## CPU per applied gossip update (ingest pipeline)',
      '',
      machineLine(machine),
      '',
      `\`npx tsx bench/ingest.ts\`: ${UPDATES} gossip updates (one single-key set each, ${Math.round(bytes)} bytes on ` +
        `average: entry, delete of the replaced entry, history record) onto a document of ${KEYS} keys, open mesh; ` +
        'CPU time (user + system) of the topic validator step plus delivery, per update; median of ' +
        `${ROUNDS} alternating rounds in one process (individual rounds in brackets). ${OLD}: the update guard ` +
        'parsed each gossip update 3 times and Yjs decoded it twice before applying; this tree: one parse, one ' +
        'decoding for the author check (client ids of authors memoised instead of one SHA-256 per entry), then the apply.',
      '',
      `| receiver | ${OLD}, µs | this tree, µs | ratio |`,
      '| --- | ---: | ---: | ---: |',
      ...rows,
    ].join('\n'),
  )
}

await main()
