/**
 * The agent's log: one line per event, as readable text or as JSON lines (`--json`, one object with `time` and
 * `event` per line, for log shippers). Events go to stdout; warnings and errors of the mesh and the HTTP API go to
 * stdout as JSON lines with `--json`, to stderr as text otherwise. Debug and info lines of the mesh stay behind
 * `DEBUG=confmesh*` like everywhere else.
 *
 * @module
 */
import type { JsonValue } from '../config/value.js'
import type { WatchEvent } from '../config/watch.js'
import { createDefaultLogger, type MeshLogger } from '../logger.js'

/** Values longer than this (as JSON) are logged by their size only (JSON logs) or cut (text logs). */
export const MAX_LOGGED_VALUE = 4096

/** Where the agent writes. `CliIo` of the command line fits. */
export interface AgentIo {
  out(text: string): void
  err(text: string): void
}

/** The agent's log. */
export interface AgentLog {
  /** Logs an event: `fields` as JSON, or `text` as a line. */
  event(event: string, fields: Record<string, unknown>, text: string | string[]): void
  /** Logs a watch event. */
  change(e: WatchEvent): void
  /** A logger for the mesh and the HTTP API. */
  readonly logger: MeshLogger
}

/** Creates the log writing to `io`. */
export function createAgentLog(io: AgentIo, json: boolean): AgentLog {
  const debug = createDefaultLogger('confmesh:agent')
  const line = (event: string, fields: Record<string, unknown>, text: string | string[]): void => {
    if (json) io.out(`${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`)
    else for (const t of Array.isArray(text) ? text : [text]) io.out(`${t}\n`)
  }
  const problem =
    (level: 'warn' | 'error') =>
    (message: string): void => {
      if (json) io.out(`${JSON.stringify({ time: new Date().toISOString(), event: 'log', level, message })}\n`)
      else io.err(`${new Date().toISOString()} ${level}: ${message}\n`)
    }
  const show = (v: JsonValue | undefined): string => {
    if (v === undefined) return '(absent)'
    const text = JSON.stringify(v)
    return text.length <= MAX_LOGGED_VALUE ? text : `${text.slice(0, 80)}… (${text.length} characters)`
  }
  /** A value as a JSON log field: itself, or its size when it is too large for a log line. */
  const field = (name: string, v: JsonValue | undefined): Record<string, unknown> => {
    if (v === undefined) return {}
    const length = JSON.stringify(v).length
    return length <= MAX_LOGGED_VALUE ? { [name]: v } : { [`${name}Characters`]: length }
  }
  return {
    event: line,
    change(e) {
      line(
        'change',
        {
          namespace: e.namespace,
          key: e.key,
          ...field('value', e.value),
          ...field('previous', e.previous),
          source: e.source,
          author: e.author,
          writeTime: e.time,
        },
        `${new Date().toISOString()} ${e.source} ${e.namespace}/${e.key}: ${show(e.previous)} -> ${show(e.value)}`,
      )
    },
    logger: { debug: debug.debug, info: debug.info, warn: problem('warn'), error: problem('error') },
  }
}
