/**
 * A central Yjs relay speaking the y-websocket protocol (what `y-websocket`'s server does): one Y.Doc and one Awareness
 * per room (the URL path); y-protocols sync step 1 / step 2 / update and awareness messages over `ws`; every update a
 * client sends is applied to the room's doc and broadcast to every connected client; ping/pong drops dead clients.
 * No persistence (a room lives while it has clients).
 *
 * Run as a child process by bench/peers/relay.ts: it listens on 127.0.0.1 (port from argv[2], default random), prints
 * `{"port":N}` as one JSON line on stdout, and exits when stdin closes (its parent went away), on SIGTERM/SIGINT, or
 * after its hard lifetime (argv[3] ms, default 30 min).
 *
 * @module
 */
import type { IncomingMessage } from 'node:http'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { type WebSocket, WebSocketServer } from 'ws'
import * as awarenessProtocol from 'y-protocols/awareness'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'

const MESSAGE_SYNC = 0
const MESSAGE_AWARENESS = 1
const MESSAGE_QUERY_AWARENESS = 3
const PING_INTERVAL_MS = 30_000

interface Room {
  name: string
  doc: Y.Doc
  awareness: awarenessProtocol.Awareness
  /** Each connection and the awareness client ids it controls. */
  conns: Map<WebSocket, Set<number>>
}

const rooms = new Map<string, Room>()

function send(room: Room, conn: WebSocket, message: Uint8Array): void {
  if (conn.readyState !== conn.OPEN) {
    closeConn(room, conn)
    return
  }
  conn.send(message, (err) => {
    if (err) closeConn(room, conn)
  })
}

function getRoom(name: string): Room {
  const existing = rooms.get(name)
  if (existing) return existing
  const doc = new Y.Doc()
  const awareness = new awarenessProtocol.Awareness(doc)
  awareness.setLocalState(null)
  const room: Room = { name, doc, awareness, conns: new Map() }
  doc.on('update', (update: Uint8Array) => {
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, MESSAGE_SYNC)
    syncProtocol.writeUpdate(encoder, update)
    const message = encoding.toUint8Array(encoder)
    for (const conn of room.conns.keys()) send(room, conn, message)
  })
  awareness.on(
    'update',
    (
      { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
      origin: WebSocket | null,
    ) => {
      const changed = added.concat(updated, removed)
      if (origin !== null) {
        const ids = room.conns.get(origin)
        if (ids) {
          for (const id of added) ids.add(id)
          for (const id of removed) ids.delete(id)
        }
      }
      const encoder = encoding.createEncoder()
      encoding.writeVarUint(encoder, MESSAGE_AWARENESS)
      encoding.writeVarUint8Array(encoder, awarenessProtocol.encodeAwarenessUpdate(awareness, changed))
      const message = encoding.toUint8Array(encoder)
      for (const conn of room.conns.keys()) send(room, conn, message)
    },
  )
  rooms.set(name, room)
  return room
}

function closeConn(room: Room, conn: WebSocket): void {
  const ids = room.conns.get(conn)
  if (ids) {
    room.conns.delete(conn)
    awarenessProtocol.removeAwarenessStates(room.awareness, [...ids], null)
    if (room.conns.size === 0) {
      room.doc.destroy()
      rooms.delete(room.name)
    }
  }
  conn.close()
}

function onMessage(room: Room, conn: WebSocket, data: Uint8Array): void {
  try {
    const decoder = decoding.createDecoder(data)
    const encoder = encoding.createEncoder()
    const type = decoding.readVarUint(decoder)
    switch (type) {
      case MESSAGE_SYNC:
        encoding.writeVarUint(encoder, MESSAGE_SYNC)
        syncProtocol.readSyncMessage(decoder, encoder, room.doc, conn)
        if (encoding.length(encoder) > 1) send(room, conn, encoding.toUint8Array(encoder))
        break
      case MESSAGE_AWARENESS:
        awarenessProtocol.applyAwarenessUpdate(room.awareness, decoding.readVarUint8Array(decoder), conn)
        break
      case MESSAGE_QUERY_AWARENESS:
        encoding.writeVarUint(encoder, MESSAGE_AWARENESS)
        encoding.writeVarUint8Array(
          encoder,
          awarenessProtocol.encodeAwarenessUpdate(room.awareness, [...room.awareness.getStates().keys()]),
        )
        send(room, conn, encoding.toUint8Array(encoder))
        break
      default:
        break
    }
  } catch (err) {
    process.stderr.write(`relay: bad message: ${(err as Error).message}\n`)
  }
}

function onConnection(conn: WebSocket, req: IncomingMessage): void {
  conn.binaryType = 'arraybuffer'
  const name = (req.url ?? '/').slice(1).split('?')[0] ?? ''
  const room = getRoom(name)
  room.conns.set(conn, new Set())
  conn.on('message', (data: ArrayBuffer) => onMessage(room, conn, new Uint8Array(data)))
  let alive = true
  const ping = setInterval(() => {
    if (!alive) {
      clearInterval(ping)
      closeConn(room, conn)
      return
    }
    alive = false
    conn.ping()
  }, PING_INTERVAL_MS)
  conn.on('pong', () => {
    alive = true
  })
  conn.on('close', () => {
    clearInterval(ping)
    closeConn(room, conn)
  })
  // sync step 1: ask the client for what the room lacks; the client answers with step 2 and sends its own step 1
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_SYNC)
  syncProtocol.writeSyncStep1(encoder, room.doc)
  send(room, conn, encoding.toUint8Array(encoder))
  const states = room.awareness.getStates()
  if (states.size > 0) {
    const enc = encoding.createEncoder()
    encoding.writeVarUint(enc, MESSAGE_AWARENESS)
    encoding.writeVarUint8Array(enc, awarenessProtocol.encodeAwarenessUpdate(room.awareness, [...states.keys()]))
    send(room, conn, encoding.toUint8Array(enc))
  }
}

const port = Number(process.argv[2] ?? 0)
const lifetimeMs = Number(process.argv[3] ?? 30 * 60_000)
const wss = new WebSocketServer({ host: '127.0.0.1', port, maxPayload: 256 * 1024 * 1024 })
wss.on('connection', onConnection)
wss.on('listening', () => {
  const addr = wss.address()
  const p = typeof addr === 'object' && addr ? addr.port : port
  process.stdout.write(`${JSON.stringify({ port: p })}\n`)
})

const shutdown = () => {
  for (const c of wss.clients) c.terminate()
  wss.close()
  process.exit(0)
}
process.stdin.on('end', shutdown)
process.stdin.on('error', shutdown)
process.stdin.resume()
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
setTimeout(shutdown, lifetimeMs).unref()
