/**
 * Byte helpers of the protocol test vectors (`test/unit/protocol-vectors.test.ts`): hex, JSON-safe copies, what a Yjs
 * update holds (as Yjs decodes it), lib0 `any` bytes, the length-prefixed framing of libp2p streams (through a real
 * in-memory libp2p stream pair), and the vector blocks of PROTOCOL.md. No confmesh code here.
 *
 * @module
 */
import { byteStream, lpStream, streamPair } from '@libp2p/utils'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'

/** Lowercase hex of `b`. */
export const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
/** Bytes of a hex string. */
export const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'))

/** JSON-safe copy: bytes become `"hex:<hex>"`, `undefined` members are dropped. */
export function jsonSafe(v: unknown): unknown {
  if (v instanceof Uint8Array) return `hex:${toHex(v)}`
  if (Array.isArray(v)) return v.map(jsonSafe)
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = jsonSafe(x)
    return out
  }
  return v
}

/** What a Yjs v1 update holds, as Yjs itself decodes it. */
export function summarize(update: Uint8Array): unknown {
  const { structs, ds } = Y.decodeUpdate(update)
  const id = (x: Y.ID | null) => (x === null ? undefined : [x.client, x.clock])
  return {
    structs: structs.map((s) => {
      const base = { client: s.id.client, clock: s.id.clock, length: s.length }
      if (s instanceof Y.GC) return { kind: 'gc', ...base }
      if (!(s instanceof Y.Item)) return { kind: 'skip', ...base }
      let parent: unknown
      if (s.parent instanceof Y.AbstractType) {
        for (const [name, type] of s.parent.doc!.share) if (type === s.parent) parent = name
      } else if (s.parent !== null) {
        parent = s.parent
      }
      const content =
        s.content instanceof Y.ContentAny ? s.content.arr : { type: s.content.constructor.name, length: s.length }
      return jsonSafe({ kind: 'item', ...base, origin: id(s.origin), rightOrigin: id(s.rightOrigin), parent, content })
    }),
    deleteSet: [...ds.clients]
      .sort((a, b) => b[0] - a[0])
      .flatMap(([client, items]) => items.map((r) => ({ client, clock: r.clock, len: r.len }))),
  }
}

/** The bytes an `lpStream` (the framing of every confmesh stream) puts on the wire for `messages`. */
export async function frame(messages: Uint8Array[]): Promise<Uint8Array> {
  const [out, inn] = await streamPair()
  const lp = lpStream(out)
  for (const m of messages) await lp.write(m)
  await out.close()
  const raw = byteStream(inn)
  const parts: Uint8Array[] = []
  for (;;) {
    const chunk = await raw.read()
    if (chunk === null || chunk === undefined) break
    parts.push(chunk.subarray())
  }
  return Buffer.concat(parts)
}

/** Reads the length-prefixed messages of `wire` with `lpStream`, as a confmesh peer reads a stream. */
export async function unframe(wire: Uint8Array, maxDataLength: number): Promise<Uint8Array[]> {
  const [out, inn] = await streamPair()
  await byteStream(out).write(wire)
  await out.close()
  const lp = lpStream(inn, { maxDataLength })
  const messages: Uint8Array[] = []
  let seen = 0
  while (seen < wire.length) {
    const m = (await lp.read()).subarray()
    messages.push(m)
    seen += m.length + encodingLength(m.length)
  }
  return messages
}

function encodingLength(n: number): number {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, n)
  return encoding.length(enc)
}

/** lib0 `writeAny` bytes of `value` (how a `Y.Array` element is encoded). */
export function anyBytes(value: unknown): Uint8Array {
  const enc = encoding.createEncoder()
  encoding.writeAny(enc, value as Parameters<typeof encoding.writeAny>[1])
  return encoding.toUint8Array(enc)
}

/** A vector block of PROTOCOL.md: the marker, then a `text` code block of hex. */
export const BLOCK = /<!-- vector: ([a-z0-9-]+) -->\n```text\n([\s\S]*?)```/g

/** The hex of every vector block of PROTOCOL.md, by name, whitespace removed. */
export function docBlocks(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const [, name, body] of text.matchAll(BLOCK)) out.set(name!, body!.replace(/\s+/g, ''))
  return out
}

/** Hex as PROTOCOL.md quotes it: 16 bytes a line, bytes separated by spaces. */
export function hexBlock(hex: string): string {
  const bytes = hex.match(/../g) ?? []
  const lines: string[] = []
  for (let i = 0; i < bytes.length; i += 16) lines.push(bytes.slice(i, i + 16).join(' '))
  return `${lines.join('\n')}\n`
}
