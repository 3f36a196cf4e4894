/**
 * Small statistics helpers for the benchmark scripts: nearest-rank percentiles over a sample of numbers.
 *
 * @module
 */

/** Percentile summary of one sample; every field is `NaN` when the sample is empty. */
export interface Summary {
  count: number
  min: number
  p50: number
  p95: number
  p99: number
  max: number
  mean: number
}

/**
 * Nearest-rank percentile of an ascending-sorted sample.
 *
 * @param sorted - values sorted ascending
 * @param p - percentile in [0, 100]
 * @returns the value at rank `ceil(p/100 * n)` (1-based), or `NaN` for an empty sample
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((Math.min(Math.max(p, 0), 100) / 100) * sorted.length)
  return sorted[Math.min(Math.max(rank - 1, 0), sorted.length - 1)]!
}

/**
 * Summarise a sample: count, min, p50, p95, p99, max and mean (nearest-rank percentiles).
 *
 * @param values - the sample, in any order; it is not modified
 */
export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b)
  const n = sorted.length
  const sum = sorted.reduce((a, b) => a + b, 0)
  return {
    count: n,
    min: n ? sorted[0]! : Number.NaN,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: n ? sorted[n - 1]! : Number.NaN,
    mean: n ? sum / n : Number.NaN,
  }
}

/**
 * Format a number for a results table: `n/a` for `NaN`/`undefined`, otherwise fixed decimals chosen by magnitude.
 *
 * @param value - the number to format
 * @param digits - decimals for values below 10 (fewer above)
 */
export function fmt(value: number | undefined, digits = 2): string {
  if (value === undefined || Number.isNaN(value)) return 'n/a'
  if (!Number.isFinite(value)) return String(value)
  const abs = Math.abs(value)
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US')
  if (abs >= 100) return value.toFixed(Math.max(0, digits - 2))
  if (abs >= 10) return value.toFixed(Math.max(0, digits - 1))
  return value.toFixed(digits)
}

/**
 * Format a byte count with a binary unit (B, KiB, MiB, GiB).
 *
 * @param bytes - a byte count; `NaN`/`undefined` prints `n/a`
 */
export function fmtBytes(bytes: number | undefined): string {
  if (bytes === undefined || Number.isNaN(bytes)) return 'n/a'
  const units = ['B', 'KiB', 'MiB', 'GiB']
  let v = bytes
  let u = 0
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return `${u === 0 ? String(Math.round(v)) : v.toFixed(1)} ${units[u]}`
}
