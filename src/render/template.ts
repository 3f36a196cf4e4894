/**
 * Config templates, rendered with LiquidJS (Shopify's Liquid language). The template sees one variable, `kv`:
 * `kv.<namespace>.<key>` is a value (objects and arrays as they are stored), and `kv.<namespace>` iterates as
 * `[key, value]` pairs in key order (JavaScript's: integer-like keys first, ascending, then the others sorted). Examples:
 *
 * ```liquid
 * listen {{ kv.default.port }};                                   {# a key #}
 * {% for entry in kv.upstreams %}server {{ entry[1].host }}:{{ entry[1].port }};  # {{ entry[0] }}
 * {% endfor %}                                                     {# a namespace as a loop #}
 * timeout {{ kv.default.timeout | default: 30 }};                 {# a default for an unset key #}
 * server_name {{ kv["edge-eu"]["server.name"] }};                 {# names that are not identifiers #}
 * ```
 *
 * Strict by default: an unset key fails the render (so the old file stays) unless it has a `| default:` or sits in an
 * `{% if %}`. The namespaces a template reads are found by static analysis, so only their changes trigger a render;
 * a namespace named by a variable (`kv[name]`) makes every change relevant.
 *
 * @module
 */
import { Liquid } from 'liquidjs'
import type { JsonValue } from '../config/value.js'
import { TemplateError } from './errors.js'

/** The data a template renders: namespace -> key -> value. */
export type TemplateData = Record<string, Record<string, JsonValue>>

/** Options of {@link compileTemplate}. */
export interface TemplateOptions {
  /** Fail on an unset variable (except under `| default:` and `{% if %}`). Default true. */
  strict?: boolean
  /** Name shown in errors. Default `template`. */
  name?: string
}

/** A parsed template. */
export interface ConfigTemplate {
  /** The namespaces the template reads by name (sorted). */
  readonly namespaces: readonly string[]
  /** Whether it names a namespace through a variable (then every namespace is relevant). */
  readonly dynamic: boolean
  /** Renders with `data`; rejects with {@link TemplateError}. */
  render(data: TemplateData): Promise<string>
}

/** Parses `text`; throws {@link TemplateError} when it does not parse. */
export function compileTemplate(text: string, options: TemplateOptions = {}): ConfigTemplate {
  const name = options.name ?? 'template'
  const liquid = new Liquid({
    strictVariables: options.strict ?? true,
    lenientIf: true,
    strictFilters: true,
    ownPropertyOnly: true,
    // no file system access from a template: {% include %} / {% render %} find nothing
    relativeReference: false,
    root: [],
    partials: [],
    layouts: [],
  })
  let parsed: ReturnType<Liquid['parse']>
  let segments: ReturnType<Liquid['globalVariableSegmentsSync']>
  try {
    parsed = liquid.parse(text, name)
    segments = liquid.globalVariableSegmentsSync(parsed)
  } catch (err) {
    throw new TemplateError(`${name}: ${(err as Error).message}`, { cause: err })
  }
  const namespaces = new Set<string>()
  let dynamic = false
  for (const segment of segments) {
    if (segment[0] !== 'kv') continue
    const ns = segment[1]
    if (typeof ns === 'string') namespaces.add(ns)
    else dynamic = true // `kv` itself, or kv[variable]
  }
  return {
    namespaces: [...namespaces].sort(),
    dynamic,
    async render(data) {
      try {
        return await liquid.render(parsed, { kv: sortedByKey(data) })
      } catch (err) {
        throw new TemplateError(`${name}: ${(err as Error).message}`, { cause: err })
      }
    },
  }
}

/** The data with each namespace's keys in code-unit order (what a loop over a namespace iterates). */
function sortedByKey(data: TemplateData): TemplateData {
  const out: TemplateData = {}
  for (const [namespace, entries] of Object.entries(data)) {
    out[namespace] = Object.fromEntries(Object.entries(entries).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  }
  return out
}
