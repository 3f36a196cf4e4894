/**
 * A set of key changes side by side: one row per key, the value before on the left and after on the right.
 *
 * @module
 */
import { JsonValue } from './common.js'
import type { Change } from './types.js'

/** The side-by-side table; `labels` name the two columns. */
export function DiffTable(props: { changes: Change[]; labels?: [string, string]; caption?: string }) {
  const [left, right] = props.labels ?? ['Before', 'After']
  return (
    <table class="diff">
      {props.caption !== undefined ? <caption>{props.caption}</caption> : null}
      <thead>
        <tr>
          <th scope="col">Key</th>
          <th scope="col">{left}</th>
          <th scope="col">{right}</th>
        </tr>
      </thead>
      <tbody>
        {props.changes.map((c) => (
          <tr key={`${c.namespace}/${c.key}`}>
            <th scope="row" class="key">
              <span class="ns-prefix">{c.namespace}/</span>
              {c.key}
            </th>
            <td class="before">
              <JsonValue value={c.before} open />
            </td>
            <td class="after">
              <JsonValue value={c.after} open />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
