/**
 * Bearer tokens of the HTTP API. A token file holds one token per line, `read TOKEN` or `write TOKEN` (a write token
 * may also read); blank lines and `#` comments are ignored. Tokens are compared in constant time (by their SHA-256).
 *
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { InvalidTokenFileError } from './errors.js'

/** What a token may do. */
export type TokenAccess = 'read' | 'write'

/** One access token. */
export interface HttpToken {
  readonly token: string
  readonly access: TokenAccess
}

/** Shortest token accepted (characters): guessing must not be practical. */
export const MIN_TOKEN_LENGTH = 16

/** Parses a token file's text. Throws {@link InvalidTokenFileError} naming the bad line. */
export function parseTokens(text: string): HttpToken[] {
  const tokens: HttpToken[] = []
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const m = /^(read|write)\s+(\S+)$/.exec(line)
    if (m === null) throw new InvalidTokenFileError(`token file line ${i + 1}: expected "read TOKEN" or "write TOKEN"`)
    tokens.push(checkToken({ access: m[1] as TokenAccess, token: m[2]! }, `line ${i + 1}`))
  })
  if (tokens.length === 0) throw new InvalidTokenFileError('token file holds no token')
  return tokens
}

/** Reads and parses a token file. Throws {@link InvalidTokenFileError} when it cannot be read or parsed. */
export function loadTokenFile(path: string): HttpToken[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new InvalidTokenFileError(`cannot read token file ${path}: ${(err as Error).message}`, { cause: err })
  }
  return parseTokens(text)
}

function checkToken(t: HttpToken, where: string): HttpToken {
  if (t === null || typeof t !== 'object' || (t.access !== 'read' && t.access !== 'write')) {
    throw new InvalidTokenFileError(`${where}: access must be "read" or "write"`)
  }
  if (typeof t.token !== 'string' || t.token.length < MIN_TOKEN_LENGTH || /\s/.test(t.token)) {
    throw new InvalidTokenFileError(`${where}: a token is at least ${MIN_TOKEN_LENGTH} characters, no spaces`)
  }
  return { token: t.token, access: t.access }
}

/** The result of checking a request's credentials. */
export type AuthResult = 'ok' | 'unauthenticated' | 'forbidden'

/** Checks `Authorization` headers against a token list. */
export interface TokenChecker {
  /** `'unauthenticated'`: no or unknown token; `'forbidden'`: a read token on a write. */
  check(authorization: string | undefined, needed: TokenAccess): AuthResult
  /** What the header's token may do; `undefined` for no or an unknown token. */
  accessOf(authorization: string | undefined): TokenAccess | undefined
}

/** Creates a checker of `tokens` (validated: throws {@link InvalidTokenFileError}). */
export function createTokenChecker(tokens: readonly HttpToken[]): TokenChecker {
  const known = tokens.map((t, i) => ({ ...checkToken(t, `tokens[${i}]`), digest: digest(t.token) }))
  const accessOf = (authorization: string | undefined): TokenAccess | undefined => {
    const m = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization)
    if (m === null) return undefined
    const given = digest(m[1]!)
    let access: TokenAccess | undefined
    for (const t of known) {
      if (timingSafeEqual(t.digest, given) && access !== 'write') access = t.access
    }
    return access
  }
  return {
    accessOf,
    check(authorization, needed) {
      const access = accessOf(authorization)
      if (access === undefined) return 'unauthenticated'
      return needed === 'write' && access !== 'write' ? 'forbidden' : 'ok'
    },
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest()
}
