/**
 * The renderer: keeps a file rendered from a template and the live configuration, like consul-template or confd.
 *
 * Guarantees:
 * - a render reads the namespaces the template names, renders, and replaces the file atomically (temp file in the same
 *   directory + fsync + rename, the old file's mode kept); an unchanged result writes nothing;
 * - a failed render (template error, unset key under strict variables, agent unreachable, write error) never touches
 *   the file: it is logged and reported, the old file stays, and the renderer keeps watching;
 * - `exec` runs only after a render that changed the file, one at a time, never concurrently with a render;
 * - after `start()` every relevant change is followed by a render (changes within `debounceMs` of each other share
 *   one; a burst is rendered at the latest `maxWaitMs` after its first change).
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import type { ApiClientOptions } from '../client/api-client.js'
import { createApiClient } from '../client/api-client.js'
import { createDefaultLogger, type MeshLogger } from '../logger.js'
import type { ConfigMesh } from '../mesh.js'
import { writeFileAtomic } from './atomic-write.js'
import { type ConfigSource, endpointSource, meshSource } from './config-source.js'
import { ExecFailedError, RenderSourceError, TemplateError } from './errors.js'
import { type ExecResult, runExec } from './exec.js'
import { type ConfigTemplate, compileTemplate } from './template.js'

/** Default quiet time after a change before rendering (ms). */
export const DEFAULT_DEBOUNCE_MS = 200
/** Default longest delay of a render behind the first change of a burst (ms). */
export const DEFAULT_MAX_WAIT_MS = 2_000

/** Options of {@link createRenderer}. Exactly one of `endpoint`, `mesh`, `source`. */
export interface RendererOptions {
  /** An agent's HTTP API: its URL, or client options (`{ endpoint, token }`). */
  endpoint?: string | ApiClientOptions
  /** An in-process mesh. */
  mesh?: ConfigMesh
  /** Any other {@link ConfigSource}. */
  source?: ConfigSource
  /** Path of the Liquid template file (read at `start()` / the first render). */
  template: string
  /** Path of the file to write. */
  out: string
  /** Shell command run after a render that changed the file. Default: none. */
  exec?: string
  /** Kill `exec` after this many ms. Default 60000. */
  execTimeoutMs?: number
  /** Output of `exec`: `'inherit'` or `'ignore'`. Default `'inherit'`. */
  execStdio?: 'inherit' | 'ignore'
  /** Quiet time after a change before rendering (ms). Default {@link DEFAULT_DEBOUNCE_MS}. */
  debounceMs?: number
  /** Longest delay of a render behind the first change of a burst (ms). Default {@link DEFAULT_MAX_WAIT_MS}. */
  maxWaitMs?: number
  /** Strict variables: an unset key fails the render. Default true. */
  strict?: boolean
  /** Where log lines go. Default: the `confmesh:render` debug logger. */
  logger?: MeshLogger
  /** Called after every render attempt. */
  onRender?: (result: RenderResult) => void
  /** Called when watching ended for good (e.g. the agent refused the token): no more renders follow. */
  onWatchError?: (err: Error) => void
}

/** What one render did. */
export type RenderResult =
  | {
      readonly ok: true
      /** Whether the file changed (was written). */
      readonly changed: boolean
      /** How `exec` ended, when it ran. */
      readonly exec?: ExecResult
    }
  | { readonly ok: false; readonly error: Error }

/** A running renderer. */
export interface Renderer {
  /**
   * Subscribes to changes, then renders once; resolves with that first render's result. Rejects with
   * `TemplateError` for a template that cannot be read or parsed, and `RenderSourceError` when watching is refused
   * or `stop()` came first. (An unreachable agent is retried: `start()` waits for it.)
   */
  start(): Promise<RenderResult>
  /** Stops watching; waits for a render or exec in progress. */
  stop(): Promise<void>
  /** Renders now (also without `start()`); resolves with the result. */
  renderNow(): Promise<RenderResult>
  /** Render attempts so far. */
  readonly renders: number
}

/** Creates a renderer; nothing happens before `start()` or `renderNow()`. Throws `TypeError` for bad options. */
export function createRenderer(options: RendererOptions): Renderer {
  const sources = [options.endpoint, options.mesh, options.source].filter((s) => s !== undefined)
  if (sources.length !== 1) throw new TypeError('createRenderer: give exactly one of endpoint, mesh, source')
  if (typeof options.template !== 'string' || typeof options.out !== 'string') {
    throw new TypeError('createRenderer: template and out must be file paths')
  }
  const log = options.logger ?? createDefaultLogger('confmesh:render')
  const source: ConfigSource =
    options.source ??
    (options.mesh !== undefined
      ? meshSource(options.mesh)
      : endpointSource(
          createApiClient(typeof options.endpoint === 'string' ? { endpoint: options.endpoint } : options.endpoint!),
          log,
        ))
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS
  const maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS
  let template: ConfigTemplate | undefined
  let renders = 0
  let unsubscribe: (() => Promise<void>) | undefined
  let timer: NodeJS.Timeout | undefined
  let burstStart = 0
  let running: Promise<RenderResult> | undefined
  let again = false
  let stopped = false
  let stopping = new AbortController()

  const loadTemplate = async (): Promise<ConfigTemplate> => {
    if (template !== undefined) return template
    let text: string
    try {
      text = await readFile(options.template, 'utf8')
    } catch (err) {
      throw new TemplateError(`cannot read template ${options.template}: ${(err as Error).message}`, { cause: err })
    }
    template = compileTemplate(text, { strict: options.strict ?? true, name: options.template })
    return template
  }

  const renderOnce = async (): Promise<RenderResult> => {
    renders++
    let result: RenderResult
    try {
      const t = await loadTemplate()
      const data = await source.read(t.dynamic ? 'all' : t.namespaces)
      const text = await t.render(data)
      const changed = await writeFileAtomic(options.out, text)
      if (changed) log.info(`rendered ${options.out} (${Buffer.byteLength(text)} bytes)`)
      let exec: ExecResult | undefined
      if (changed && options.exec !== undefined) {
        exec = await runExec(options.exec, {
          ...(options.execTimeoutMs === undefined ? {} : { timeoutMs: options.execTimeoutMs }),
          ...(options.execStdio === undefined ? {} : { stdio: options.execStdio }),
        })
        if (exec.code !== 0) log.error(new ExecFailedError(describeExec(options.exec, exec)).message)
      }
      result = { ok: true, changed, ...(exec === undefined ? {} : { exec }) }
    } catch (err) {
      log.error(`render of ${options.out} failed, the file is unchanged: ${(err as Error).message}`)
      result = { ok: false, error: err as Error }
    }
    try {
      options.onRender?.(result)
    } catch (err) {
      log.error(`onRender threw: ${(err as Error).message}`)
    }
    return result
  }

  /** Runs renders one at a time; a request during a render queues exactly one more. */
  const renderNow = (): Promise<RenderResult> => {
    if (running !== undefined) {
      again = true
      return running
    }
    const run = async (): Promise<RenderResult> => {
      let result: RenderResult
      do {
        again = false
        result = await renderOnce()
      } while (again && !stopped)
      return result
    }
    running = run().finally(() => {
      running = undefined
    })
    return running
  }

  const schedule = (): void => {
    if (stopped) return
    const now = Date.now()
    if (timer === undefined) burstStart = now
    else clearTimeout(timer)
    const wait = Math.max(0, Math.min(debounceMs, burstStart + maxWaitMs - now))
    timer = setTimeout(() => {
      timer = undefined
      void renderNow()
    }, wait)
  }

  const onChange = (namespace: string | undefined): void => {
    const t = template
    if (namespace !== undefined && t !== undefined && !t.dynamic && !t.namespaces.includes(namespace)) return
    schedule()
  }

  return {
    get renders() {
      return renders
    },
    renderNow,
    async start() {
      if (unsubscribe !== undefined) throw new Error('renderer already started')
      stopped = false
      stopping = new AbortController()
      await loadTemplate()
      const u = await source.subscribe(
        onChange,
        (err) => {
          log.error(`${err.message}; no more renders`)
          options.onWatchError?.(err)
        },
        stopping.signal,
      )
      if (stopped) {
        await u()
        throw new RenderSourceError('the renderer was stopped while starting')
      }
      unsubscribe = u
      return renderNow()
    },
    async stop() {
      stopped = true
      stopping.abort()
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      const u = unsubscribe
      unsubscribe = undefined
      await u?.()
      await running?.catch(() => {})
    },
  }
}

function describeExec(command: string, r: ExecResult): string {
  if (r.error !== undefined) return `exec ${JSON.stringify(command)} could not start: ${r.error.message}`
  if (r.timedOut) return `exec ${JSON.stringify(command)} timed out and was killed`
  return `exec ${JSON.stringify(command)} ${r.signal === null ? `exited with ${r.code}` : `was killed by ${r.signal}`}`
}
