/**
 * A dependency-free SVG line chart (e.g. latency vs peer count, one line per system), written next to RESULTS.md.
 * Axes switch to a log scale when the data spans more than a factor of 20, so a fast and a slow system both stay
 * readable.
 *
 * @module
 */
import { writeFileSync } from 'node:fs'

/** One line of the chart. Points with a non-finite `y` are skipped. */
export interface Series {
  name: string
  points: Array<{ x: number; y: number }>
}

/** What to draw. */
export interface ChartSpec {
  title: string
  xLabel: string
  yLabel: string
  series: Series[]
  width?: number
  height?: number
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf']

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

interface Axis {
  log: boolean
  min: number
  max: number
  ticks: number[]
}

function niceTicks(min: number, max: number, log: boolean): number[] {
  if (log) {
    const out: number[] = []
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
      for (const m of [1, 2, 5]) {
        const v = m * 10 ** e
        if (v >= min * 0.999 && v <= max * 1.001) out.push(v)
      }
    }
    return out.length >= 2 ? out : [min, max]
  }
  const span = max - min || 1
  const step0 = 10 ** Math.floor(Math.log10(span / 5))
  const step = [1, 2, 5, 10].map((m) => m * step0).find((s) => span / s <= 6) ?? step0 * 10
  const out: number[] = []
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)))
  return out
}

function axisFor(values: number[], forceZero: boolean): Axis {
  const finite = values.filter((v) => Number.isFinite(v) && v > 0)
  let min = finite.length ? Math.min(...finite) : 1
  let max = finite.length ? Math.max(...finite) : 10
  const log = max / min > 20
  if (log) {
    min = 10 ** Math.floor(Math.log10(min))
    max = 10 ** Math.ceil(Math.log10(max))
  } else {
    if (forceZero) min = 0
    if (max === min) max = min + 1
    max *= 1.05
  }
  return { log, min, max, ticks: niceTicks(min, max, log) }
}

function tickLabel(v: number): string {
  if (v >= 1000) return `${v / 1000}k`
  return String(Number(v.toPrecision(3)))
}

/**
 * Render a line chart as an SVG document string.
 *
 * @param spec - title, axis labels and series
 */
export function renderLineChart(spec: ChartSpec): string {
  const W = spec.width ?? 720
  const H = spec.height ?? 420
  const m = { left: 70, right: 170, top: 40, bottom: 55 }
  const pw = W - m.left - m.right
  const ph = H - m.top - m.bottom
  const all = spec.series.flatMap((s) => s.points.filter((p) => Number.isFinite(p.y)))
  const xa = axisFor(
    all.map((p) => p.x),
    false,
  )
  const ya = axisFor(
    all.map((p) => p.y),
    true,
  )
  const scale = (a: Axis, v: number, len: number) => {
    const t = a.log
      ? (Math.log10(v) - Math.log10(a.min)) / (Math.log10(a.max) - Math.log10(a.min))
      : (v - a.min) / (a.max - a.min)
    return t * len
  }
  const px = (x: number) => m.left + scale(xa, x, pw)
  const py = (y: number) => m.top + ph - scale(ya, Math.max(y, ya.log ? ya.min : y), ph)
  const out: string[] = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12" role="img" aria-label="${esc(spec.title)}">`,
  )
  out.push(`<title>${esc(spec.title)}</title>`)
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`)
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(spec.title)}</text>`)
  for (const t of ya.ticks) {
    const y = py(t).toFixed(1)
    out.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`)
    out.push(`<text x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${tickLabel(t)}</text>`)
  }
  for (const t of xa.ticks) {
    const x = px(t).toFixed(1)
    out.push(`<line x1="${x}" x2="${x}" y1="${m.top}" y2="${m.top + ph}" stroke="#f0f0f0"/>`)
    out.push(`<text x="${x}" y="${m.top + ph + 16}" text-anchor="middle">${tickLabel(t)}</text>`)
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`)
  const xl = `${spec.xLabel}${xa.log ? ' (log)' : ''}`
  const yl = `${spec.yLabel}${ya.log ? ' (log)' : ''}`
  out.push(`<text x="${m.left + pw / 2}" y="${H - 14}" text-anchor="middle">${esc(xl)}</text>`)
  out.push(`<text transform="translate(18 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(yl)}</text>`)
  spec.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!
    const pts = s.points.filter((p) => Number.isFinite(p.y) && Number.isFinite(p.x)).sort((a, b) => a.x - b.x)
    if (pts.length > 1) {
      const d = pts.map((p, k) => `${k ? 'L' : 'M'}${px(p.x).toFixed(1)} ${py(p.y).toFixed(1)}`).join(' ')
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`)
    }
    for (const p of pts) {
      out.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3.5" fill="${color}"/>`)
    }
    const ly = m.top + 10 + i * 20
    out.push(
      `<line x1="${m.left + pw + 12}" x2="${m.left + pw + 32}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
    )
    out.push(`<text x="${m.left + pw + 38}" y="${ly}" dominant-baseline="middle">${esc(s.name)}</text>`)
  })
  out.push('</svg>')
  return `${out.join('\n')}\n`
}

/**
 * Render a line chart and write it to `file`.
 *
 * @param file - destination path (conventionally next to bench/RESULTS.md)
 * @param spec - title, axis labels and series
 */
export function writeLineChart(file: string, spec: ChartSpec): void {
  writeFileSync(file, renderLineChart(spec))
}
