/**
 * Where a renderer reads configuration and hears of changes: the seam between the renderer and either an agent's HTTP
 * API ({@link endpointSource}) or an in-process mesh ({@link meshSource}).
 *
 * Guarantee of both: once `subscribe` resolved, every change after it is reported (a namespace, or `undefined` when the
 * source cannot tell what changed and everything must be re-read), so a read made after `subscribe` resolved and
 * re-done on every report never misses a change.
 *
 * @module
 */
import type { ApiClient } from '../client/api-client.js'
import { ApiNotFoundError } from '../client/errors.js'
import { openWatchStream } from '../client/watch-stream.js'
import type { JsonValue } from '../config/value.js'
import type { MeshLogger } from '../logger.js'
import type { ConfigMesh } from '../mesh.js'
import { RenderSourceError } from './errors.js'
import type { TemplateData } from './template.js'

/** Reads configuration and reports changes. */
export interface ConfigSource {
  /** The entries of `namespaces` (`'all'`: every namespace); an absent namespace reads as empty. */
  read(namespaces: readonly string[] | 'all'): Promise<TemplateData>
  /**
   * Reports changes to `onChange` until the returned function is called; resolves once changes are being reported.
   * `onError` hears of a subscription that ended for good (e.g. the agent refused the token). Aborting `signal`
   * before it resolved gives up (it rejects).
   */
  subscribe(
    onChange: (namespace: string | undefined) => void,
    onError: (err: Error) => void,
    signal?: AbortSignal,
  ): Promise<() => Promise<void>>
}

/**
 * A source over an agent's HTTP API: reads with `GET /v1/kv/{namespace}`, changes from the SSE watch (which re-opens
 * a dropped connection by itself; `logger` hears of each drop and reconnect).
 */
export function endpointSource(client: ApiClient, logger?: MeshLogger): ConfigSource {
  return {
    async read(namespaces) {
      try {
        const names = namespaces === 'all' ? await client.namespaces() : namespaces
        const data: TemplateData = {}
        for (const name of names) {
          try {
            data[name] = (await client.list(name)).entries
          } catch (err) {
            if (!(err instanceof ApiNotFoundError)) throw err
            data[name] = {}
          }
        }
        return data
      } catch (err) {
        throw new RenderSourceError(`cannot read the configuration: ${(err as Error).message}`, { cause: err })
      }
    },
    subscribe(onChange, onError, signal) {
      return new Promise((resolve, reject) => {
        let open = false
        const stream = openWatchStream(client, {
          onEvent: (e) => onChange(e.namespace),
          onReload: () => onChange(undefined),
          onOpen: (reconnected) => {
            if (open) logger?.info(`watch of ${client.endpoint} re-opened`)
            if (!open) {
              open = true
              signal?.removeEventListener('abort', giveUp)
              resolve(() => stream.stop())
            } else if (reconnected && stream.lastEventId === undefined) {
              onChange(undefined) // nothing to resume from: what happened while disconnected is unknown
            }
          },
          onDisconnect: (err) => logger?.warn(`watch of ${client.endpoint}: ${err.message}; retrying`),
        })
        function giveUp(): void {
          void stream.stop()
          reject(new RenderSourceError('stopped before the watch of the agent opened'))
        }
        if (signal?.aborted) giveUp()
        else signal?.addEventListener('abort', giveUp, { once: true })
        stream.closed.then(
          () => {},
          (err: Error) => {
            const wrapped = new RenderSourceError(`watch ended: ${err.message}`, { cause: err })
            if (open) onError(wrapped)
            else reject(wrapped)
          },
        )
      })
    },
  }
}

/** A source over an in-process mesh (`createRenderer({ mesh })`): reads its replica, changes from `watchAll`. */
export function meshSource(mesh: ConfigMesh): ConfigSource {
  return {
    async read(namespaces) {
      try {
        const names = namespaces === 'all' ? mesh.namespaces() : namespaces
        const data: TemplateData = {}
        for (const name of names) data[name] = mesh.namespace(name).toJSON() as Record<string, JsonValue>
        return data
      } catch (err) {
        throw new RenderSourceError(`cannot read the configuration: ${(err as Error).message}`, { cause: err })
      }
    },
    async subscribe(onChange) {
      const unsubscribe = mesh.watchAll((e) => onChange(e.namespace))
      return async () => unsubscribe()
    },
  }
}
