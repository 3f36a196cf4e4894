#!/usr/bin/env node
/**
 * Fails (exit 1) when the folders of src/ import each other in a cycle, and prints every cycle with the imports that
 * make it. Biome's `noImportCycles` already refuses cycles between files; this adds the architecture rule that the
 * folders form a layered graph (e.g. `ring/` may use `membership/`, never the other way round).
 *
 * Nodes: each folder directly under src/ (with everything below it), and each file directly in src/ (errors.ts,
 * logger.ts, index.ts, ...) on its own. Edges: every relative `import`/`export ... from`/`import()` specifier,
 * type-only imports included (a type import is a design dependency even though it vanishes at run time).
 *
 * Run by `npm run lint` (and so by `npm test`). No dependencies: plain Node.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src')
const SPEC =
  /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)|^\s*import\s*['"](\.[^'"]+)['"]/gm

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return files(path)
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : []
  })
}

/** The graph node of a file: its top folder under src/, or the file itself when it sits directly in src/. */
function nodeOf(path) {
  const parts = relative(root, path).split(sep)
  return parts.length === 1 ? parts[0] : `${parts[0]}/`
}

const edges = new Map() // node -> Map<node, string[] (file -> spec)>
for (const file of files(root)) {
  const from = nodeOf(file)
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '')
  for (const m of text.matchAll(SPEC)) {
    const spec = m[1] ?? m[2] ?? m[3]
    const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts')
    if (!target.startsWith(root + sep)) continue
    const to = nodeOf(target)
    if (to === from) continue
    if (!edges.has(from)) edges.set(from, new Map())
    const out = edges.get(from)
    if (!out.has(to)) out.set(to, [])
    out.get(to).push(`${relative(root, file)} -> ${spec}`)
  }
}

// Tarjan's strongly connected components: every component of more than one node is a cycle.
let index = 0
const stack = []
const state = new Map()
const cycles = []
function visit(v) {
  state.set(v, { index, low: index, onStack: true })
  index++
  stack.push(v)
  for (const w of edges.get(v)?.keys() ?? []) {
    if (!state.has(w)) {
      visit(w)
      state.get(v).low = Math.min(state.get(v).low, state.get(w).low)
    } else if (state.get(w).onStack) {
      state.get(v).low = Math.min(state.get(v).low, state.get(w).index)
    }
  }
  if (state.get(v).low === state.get(v).index) {
    const component = []
    let w
    do {
      w = stack.pop()
      state.get(w).onStack = false
      component.push(w)
    } while (w !== v)
    if (component.length > 1) cycles.push(component.sort())
  }
}
for (const v of [...edges.keys()].sort()) if (!state.has(v)) visit(v)

if (cycles.length === 0) {
  console.log(`folder-cycles: no import cycle between the ${new Set([...edges.keys()]).size} folders/files of src/`)
  process.exit(0)
}
for (const component of cycles) {
  console.error(`folder-cycles: import cycle between ${component.join(', ')}`)
  const inside = new Set(component)
  for (const from of component) {
    for (const [to, via] of edges.get(from) ?? []) {
      if (!inside.has(to)) continue
      for (const v of via) console.error(`  ${from} -> ${to}: ${v}`)
    }
  }
}
process.exit(1)
