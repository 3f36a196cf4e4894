/**
 * A read-only view of the whole configuration as it was at one version: the same read API as the live mesh
 * (`get`, `has`, `entries`, `keys`, `toJSON` on the default namespace, `namespace(name)`, `namespaces()`).
 *
 * @module
 */
import { createReadonlyNamespace, DEFAULT_NAMESPACE, type ReadonlyNamespace } from '../config/namespace.js'
import type { JsonValue } from '../config/value.js'
import { type ConfigState, entriesIn, namespacesIn, valueIn } from './state.js'
import type { Version } from './vector-clock.js'

/** The configuration as it was at {@link VersionView.version}. Values are frozen; the view never changes. */
export interface VersionView extends ReadonlyNamespace {
  /** The version shown. */
  readonly version: Version
  /** A namespace as it was. */
  namespace(name: string): ReadonlyNamespace
  /** Names of the namespaces that held at least one key, sorted. */
  namespaces(): string[]
  /** Every namespace as a plain object: `{ [namespace]: { [key]: value } }`. */
  toJSONAll(): Record<string, Record<string, JsonValue>>
}

/** Creates the view of `state` at `version`. */
export function createVersionView(version: Version, state: ConfigState): VersionView {
  const reader = {
    get: (namespace: string, key: string) => valueIn(state, namespace, key),
    entries: (namespace: string) => entriesIn(state, namespace),
  }
  const namespaces = new Map<string, ReadonlyNamespace>()
  const namespace = (name: string): ReadonlyNamespace => {
    let ns = namespaces.get(name)
    if (ns === undefined) {
      ns = createReadonlyNamespace(name, reader)
      namespaces.set(name, ns)
    }
    return ns
  }
  const root = namespace(DEFAULT_NAMESPACE)
  return {
    version,
    name: root.name,
    get: root.get,
    has: root.has,
    entries: root.entries,
    keys: root.keys,
    toJSON: root.toJSON,
    namespace,
    namespaces: () => namespacesIn(state),
    toJSONAll: () => Object.fromEntries(namespacesIn(state).map((n) => [n, namespace(n).toJSON()])),
  }
}
