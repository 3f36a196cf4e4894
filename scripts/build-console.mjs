// Builds the web console (src/console/app) into dist/console/: one bundled, minified script (preact and
// eventsource-parser included: nothing is fetched at run time), one stylesheet (styles/*.css, imported in order by main.tsx), index.html. Run by `npm run build`.
import { copyFile, mkdir, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const app = join(root, 'src/console/app')
const out = join(root, 'dist/console')

await rm(out, { recursive: true, force: true })
await mkdir(out, { recursive: true })
const result = await build({
  entryPoints: { console: join(app, 'main.tsx') },
  outdir: out,
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  tsconfig: join(root, 'tsconfig.console.json'),
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
})
await copyFile(join(app, 'index.html'), join(out, 'index.html'))
const bytes = Object.entries(result.metafile.outputs)
  .filter(([file]) => !file.endsWith('.map'))
  .map(([file, o]) => `${file.split('/').pop()} ${(o.bytes / 1024).toFixed(1)} KiB`)
console.log(`console built into dist/console: ${bytes.join(', ')}`)
