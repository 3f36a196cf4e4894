/**
 * Differences between two configuration states, key by key.
 *
 * @module
 */
import { type JsonValue, jsonEqual } from '../config/value.js'
import type { ConfigState } from './state.js'

/** How one key differs: `before` at the older side, `after` at the newer; `undefined` means absent (or deleted). */
export interface HistoryChange {
  readonly namespace: string
  readonly key: string
  readonly before: JsonValue | undefined
  readonly after: JsonValue | undefined
}

/** Restricts a diff or rollback to one namespace, or to some keys of one namespace. */
export interface ChangeScope {
  /** Only this namespace. */
  readonly namespace?: string
  /** Only these keys (of `namespace`). */
  readonly keys?: readonly string[]
}

/** Every key whose visible value differs between `from` and `to`, sorted by namespace then key. */
export function diffStates(from: ConfigState, to: ConfigState, scope: ChangeScope = {}): HistoryChange[] {
  const out: HistoryChange[] = []
  const names =
    scope.namespace !== undefined ? [scope.namespace] : [...new Set([...from.keys(), ...to.keys()])].sort(compareText)
  for (const namespace of names) {
    const a = from.get(namespace)
    const b = to.get(namespace)
    const keys = scope.keys ?? [...new Set([...(a?.keys() ?? []), ...(b?.keys() ?? [])])]
    for (const key of [...keys].sort(compareText)) {
      const before = a?.get(key)?.value
      const after = b?.get(key)?.value
      if (!jsonEqual(before, after)) out.push({ namespace, key, before, after })
    }
  }
  return out
}

/** Code-unit order of two strings (the order `entries()` uses). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
