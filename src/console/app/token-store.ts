/**
 * The operator's token, kept in `sessionStorage` (gone when the tab closes; never in `localStorage` or a cookie).
 *
 * @module
 */
const KEY = 'confmesh.console.token'

/** The token saved in this tab, if any. */
export function loadToken(): string | undefined {
  try {
    return sessionStorage.getItem(KEY) ?? undefined
  } catch {
    return undefined
  }
}

/** Saves (or with `undefined` forgets) the token for this tab. */
export function saveToken(token: string | undefined): void {
  try {
    if (token === undefined) sessionStorage.removeItem(KEY)
    else sessionStorage.setItem(KEY, token)
  } catch {
    // storage disabled: the token lives in memory only
  }
}
