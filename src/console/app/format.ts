/**
 * How values, peers and times are shown.
 *
 * @module
 */
import type { Json } from './types.js'

/** Values longer than this (characters of their pretty form) or with more lines are folded. */
export const FOLD_CHARS = 120
/** See {@link FOLD_CHARS}. */
export const FOLD_LINES = 4

/** A value as readable JSON (indented), or `(none)` for no value. */
export function pretty(value: Json | undefined): string {
  return value === undefined ? '(none)' : JSON.stringify(value, null, 2)
}

/** One line summary of a value, cut at `max` characters. */
export function summary(value: Json | undefined, max = 80): string {
  if (value === undefined) return '(none)'
  const text = JSON.stringify(value)
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** Whether a value is folded by default. */
export function isLong(value: Json | undefined): boolean {
  const text = pretty(value)
  return text.length > FOLD_CHARS || text.split('\n').length > FOLD_LINES
}

/** A peer id shortened to its last characters (the full id goes in a tooltip). */
export function shortPeer(peerId: string): string {
  return peerId.length > 12 ? `…${peerId.slice(-8)}` : peerId
}

/** A time as local date and time, to the second. */
export function formatTime(ms: number): string {
  const d = new Date(ms)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

/** How long ago `ms` was, roughly (`12 s ago`, `3 min ago`). */
export function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000))
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.round(s / 60)} min ago`
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`
  return `${Math.round(s / 86_400)} d ago`
}

/** Whether a namespace belongs to confmesh itself (rolling back everything leaves these alone). */
export function isInternalNamespace(namespace: string): boolean {
  return namespace.startsWith('__confmesh')
}
