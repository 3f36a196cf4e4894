/**
 * `watch`: streams the agent's changes (SSE) until Ctrl-C or `--count N` events. A dropped connection is re-opened
 * with `Last-Event-ID`, so no change is lost while the agent still holds it; when it no longer does, a `reload` line
 * says so (re-read with `dump`). A refusal (bad token) ends the command with exit code 3.
 *
 * @module
 */
import { openWatchStream } from '../../client/watch-stream.js'
import { intOption, requireArgs } from '../args.js'
import { EXIT_OK } from '../errors.js'
import { formatJsonLine, formatTime, formatValue } from '../format.js'
import type { CommandContext } from './context.js'

/** `watch [--namespace NS] [--prefix P | --key K] [--count N] [--last-event-id ID]`. */
export async function watchCommand(ctx: CommandContext): Promise<number> {
  requireArgs(ctx.args, 0, 'confmesh watch [--namespace NS] [--prefix P | --key K] [--count N] [--last-event-id ID]')
  const limit = intOption(ctx.values, 'count')
  let seen = 0
  const done = new AbortController()
  const stream = openWatchStream(ctx.client, {
    ...(ctx.values.namespace === undefined ? {} : { namespace: ctx.values.namespace }),
    ...(ctx.values.prefix === undefined ? {} : { prefix: ctx.values.prefix }),
    ...(ctx.values.key === undefined ? {} : { key: ctx.values.key }),
    ...(ctx.values['last-event-id'] === undefined ? {} : { lastEventId: ctx.values['last-event-id'] }),
    onEvent(e, id) {
      if (done.signal.aborted) return
      ctx.io.out(
        ctx.json
          ? formatJsonLine({ id, ...e })
          : `${formatTime(e.time)} ${e.source ?? '-'} ${e.namespace}/${e.key}: ${formatValue(e.previous)} -> ${formatValue(e.value)}\n`,
      )
      if (limit !== undefined && ++seen >= limit) done.abort()
    },
    onReload() {
      ctx.io.out(ctx.json ? formatJsonLine({ event: 'reload' }) : 'reload: changes were missed, re-read the state\n')
    },
    onOpen(reconnected) {
      ctx.io.err(`watch: ${reconnected ? 'reconnected' : 'watching'} ${ctx.client.endpoint}\n`)
    },
    onDisconnect(err) {
      ctx.io.err(`watch: connection lost (${err.message}); reconnecting\n`)
    },
  })
  const stopped = new Promise<void>((resolve) => {
    if (limit === 0) resolve()
    done.signal.addEventListener('abort', () => resolve(), { once: true })
    ctx.io.signal.addEventListener('abort', () => resolve(), { once: true })
    if (ctx.io.signal.aborted) resolve()
  })
  try {
    await Promise.race([stopped, stream.closed])
  } finally {
    await stream.stop()
  }
  return EXIT_OK
}
