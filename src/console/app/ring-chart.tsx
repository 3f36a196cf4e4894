/**
 * The consistent-hash ring drawn as a ring: one arc per member, sized by its share of the key space, in the member's
 * colour; with an owner lookup, the owners are drawn bold and numbered in preference order, the others faded.
 *
 * @module
 */
import { shortPeer } from './format.js'

/** Member colours (distinct in light and dark print, and for the common colour-vision deficiencies). */
export const PALETTE = ['#3b6fd4', '#e08a1e', '#2e9e6a', '#c7416b', '#7a56c8', '#1f9bb0', '#a07a12', '#6b7280']

/** The colour of member `i`. */
export function memberColor(i: number): string {
  return PALETTE[i % PALETTE.length]!
}

const SIZE = 260
const C = SIZE / 2
const R = 96
const GAP = 0.012

function point(angle: number, r = R): [number, number] {
  return [C + r * Math.sin(angle), C - r * Math.cos(angle)]
}

function arcPath(from: number, to: number): string {
  const [x0, y0] = point(from)
  const [x1, y1] = point(to)
  const large = to - from > Math.PI ? 1 : 0
  return `M ${x0.toFixed(2)} ${y0.toFixed(2)} A ${R} ${R} 0 ${large} 1 ${x1.toFixed(2)} ${y1.toFixed(2)}`
}

/** The ring. `shares[i]` is member i's fraction of the key space; `owners` the looked-up key's owners in order. */
export function RingChart(props: { members: string[]; shares: number[]; owners: string[] | undefined; label: string }) {
  const total = props.shares.reduce((a, b) => a + b, 0) || 1
  let angle = 0
  const arcs = props.members.map((m, i) => {
    const span = ((props.shares[i] ?? 0) / total) * 2 * Math.PI
    const from = angle
    angle += span
    return { m, i, from, to: from + span }
  })
  const rank = (m: string) => props.owners?.indexOf(m) ?? -1
  return (
    <svg class="ring" viewBox={`0 0 ${SIZE} ${SIZE}`} role="img" aria-label={props.label}>
      <title>{props.label}</title>
      <circle cx={C} cy={C} r={R} class="ring-track" />
      {arcs.map(({ m, i, from, to }) => {
        const r = rank(m)
        const faded = props.owners !== undefined && r < 0
        const span = to - from
        const d =
          span >= 2 * Math.PI - 1e-6
            ? `M ${C} ${C - R} A ${R} ${R} 0 1 1 ${C - 0.01} ${C - R}`
            : arcPath(from + Math.min(GAP, span / 4), to - Math.min(GAP, span / 4))
        const [lx, ly] = point((from + to) / 2, R + 0)
        return (
          <g key={m} data-member={m} class={r >= 0 ? 'arc owner' : faded ? 'arc faded' : 'arc'}>
            <path d={d} stroke={memberColor(i)} />
            {r >= 0 ? (
              <g>
                <circle cx={lx} cy={ly} r={11} class="owner-dot" />
                <text x={lx} y={ly} class="owner-rank">
                  {r + 1}
                </text>
              </g>
            ) : null}
          </g>
        )
      })}
      <text x={C} y={C - 6} class="ring-center">
        {props.members.length} member{props.members.length === 1 ? '' : 's'}
      </text>
      <text x={C} y={C + 14} class="ring-sub">
        {props.owners !== undefined && props.owners[0] !== undefined ? `owner ${shortPeer(props.owners[0])}` : 'ring'}
      </text>
    </svg>
  )
}
