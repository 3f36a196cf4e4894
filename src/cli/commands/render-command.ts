/**
 * `render --template FILE --out FILE [--exec CMD] [--once] [--debounce MS] [--lenient]` against an agent: renders
 * the file now and again after every relevant change until Ctrl-C (`--once`: one render, exit 0 if it succeeded).
 * Render results are logged one line each (stdout; failures on stderr); a failed render keeps the old file and the
 * command keeps running. A refused watch (bad token) ends it with exit code 3.
 *
 * @module
 */
import type { ApiClientOptions } from '../../client/api-client.js'
import type { MeshLogger } from '../../logger.js'
import { RenderSourceError } from '../../render/errors.js'
import { createRenderer, type RenderResult } from '../../render/index.js'
import { type CliValues, intOption } from '../args.js'
import { EXIT_NOT_FOUND, EXIT_OK, exitCodeOf, UsageError } from '../errors.js'
import { formatJsonLine } from '../format.js'
import type { CliIo } from './context.js'

/** Runs `confmesh render`; resolves with the exit code. */
export async function runRenderCommand(
  client: ApiClientOptions,
  values: CliValues,
  args: string[],
  io: CliIo,
): Promise<number> {
  if (args.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args[0])}`)
  if (values.template === undefined || values.out === undefined) {
    throw new UsageError(
      'usage: confmesh render --template FILE --out FILE [--exec CMD] [--once] [--debounce MS] [--lenient]',
    )
  }
  const json = values.json === true
  const line = (level: string, message: string): string =>
    json
      ? formatJsonLine({ time: new Date().toISOString(), level, message })
      : `${new Date().toISOString()} ${message}\n`
  const logger: MeshLogger = {
    debug: () => {},
    info: (m) => io.out(line('info', m)),
    warn: (m) => io.err(line('warn', m)),
    error: (m) => io.err(line('error', m)),
  }
  const debounceMs = intOption(values, 'debounce')
  let fatal: ((err: Error) => void) | undefined
  const renderer = createRenderer({
    endpoint: client,
    template: values.template,
    out: values.out,
    ...(values.exec === undefined ? {} : { exec: values.exec }),
    ...(debounceMs === undefined ? {} : { debounceMs }),
    strict: values.lenient !== true,
    logger,
    onWatchError: (err) => fatal?.(err),
  })
  if (values.once === true) return outcome(await renderer.renderNow())
  const ended = new Promise<Error | undefined>((resolve) => {
    fatal = resolve
    if (io.signal.aborted) resolve(undefined)
    io.signal.addEventListener('abort', () => resolve(undefined), { once: true })
  })
  try {
    // Ctrl-C also ends a start that waits for an unreachable agent
    const starting = renderer.start().then(
      () => undefined,
      (e: unknown) => e as Error, // a value, not a rejection: it may settle after Ctrl-C won the race
    )
    const early = await Promise.race([starting, ended.then((e) => e ?? 'stopped')])
    if (early === 'stopped') return EXIT_OK
    if (early !== undefined) throw early
    const err = await ended
    if (err !== undefined) throw err
    return EXIT_OK
  } catch (err) {
    if (err instanceof RenderSourceError) {
      io.err(line('error', err.message))
      return exitCodeOf(err.cause)
    }
    throw err
  } finally {
    await renderer.stop()
  }
}

function outcome(result: RenderResult): number {
  if (!result.ok) return exitCodeOf(result.error instanceof RenderSourceError ? result.error.cause : result.error)
  return result.exec === undefined || result.exec.code === 0 ? EXIT_OK : EXIT_NOT_FOUND
}
