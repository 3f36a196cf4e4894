/**
 * Smoke test of the comparative benchmark harness (bench/): its pure helpers, and one real benchmark script run end to
 * end in quick mode with tiny sizes against the y-websocket relay (fast, no etcd needed). The confmesh run is skipped
 * while src/index.ts does not exist.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { renderLineChart } from '../../bench/lib/chart.js'
import { replaceSection, writeResultsSection } from '../../bench/lib/results.js'
import { percentile, summarize } from '../../bench/lib/stats.js'
import { renderMarkdown, renderText } from '../../bench/lib/table.js'
import { growthVerdict } from '../../bench/scale.js'

const ROOT = path.resolve(import.meta.dirname, '..', '..')
const tmp = mkdtempSync(path.join(os.tmpdir(), 'confmesh-bench-smoke-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** Run a bench script through tsx with a deadline; resolves with its exit code and output. */
function runScript(script: string, args: string[], env: Record<string, string>, timeoutMs = 90_000) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', script), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString()
    })
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString()
    })
    const timer = setTimeout(() => {
      child.kill('SIGINT')
      reject(new Error(`${script} did not finish in ${timeoutMs} ms\n${stderr}`))
    }, timeoutMs)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

describe('bench helpers', () => {
  it('computes nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1)
    expect(percentile(xs, 50)).toBe(50)
    expect(percentile(xs, 99)).toBe(99)
    expect(percentile([], 50)).toBeNaN()
    const s = summarize([3, 1, 2])
    expect([s.count, s.min, s.p50, s.max, s.mean]).toEqual([3, 1, 2, 3, 2])
  })

  it('replaces only its own results section', () => {
    const file = path.join(tmp, 'sections.md')
    writeFileSync(file, '# results\n\n<!-- other:start -->\nkeep me\n<!-- other:end -->\n')
    writeResultsSection('mine', 'first', file)
    writeResultsSection('mine', 'second', file)
    const text = readFileSync(file, 'utf8')
    expect(text).toContain('keep me')
    expect(text).toContain('<!-- mine:start -->\nsecond\n<!-- mine:end -->')
    expect(text).not.toContain('first')
    expect(replaceSection('', 'x', 'y')).toContain('<!-- x:start -->\ny\n<!-- x:end -->')
  })

  it('renders tables and charts', () => {
    const table = { headers: ['system', 'p99 ms'], rows: [['relay', '1.5']] }
    expect(renderText(table).split('\n')).toHaveLength(3)
    expect(renderMarkdown(table)).toContain('| relay | 1.5 |')
    const svg = renderLineChart({
      title: 'p99',
      xLabel: 'peers',
      yLabel: 'ms',
      series: [
        {
          name: 'a<b',
          points: [
            { x: 3, y: 1 },
            { x: 30, y: 2 },
          ],
        },
      ],
    })
    expect(svg).toMatch(/^<svg[^>]*>\n<title>p99<\/title>/)
    expect(svg).toContain('a&lt;b')
    expect(svg).toContain('<path')
  })

  it('classifies growth as flat, log N or N', () => {
    expect(growthVerdict(3, 10, 30, 10.5)).toContain('flat')
    expect(growthVerdict(3, 10, 30, 31)).toContain('~log N')
    expect(growthVerdict(3, 10, 30, 100)).toContain('~N')
  })
})

describe('bench scripts (quick mode)', () => {
  it('propagation against the relay prints a table and writes its section', async () => {
    const results = path.join(tmp, 'RESULTS-relay.md')
    const r = await runScript('propagation.ts', ['--quick', '--systems=relay', '--peers=2', '--writes=5'], {
      CONFMESH_BENCH_RESULTS: results,
    })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/system\s+peers\s+writes\s+deliveries\s+missed\s+p50 ms\s+p95 ms\s+p99 ms/)
    const row = r.stdout.split('\n').find((l) => l.startsWith('y-websocket relay'))
    expect(row, r.stdout).toBeDefined()
    // 5 writes x 1 receiver, none missed
    expect(row!.split(/\s{2,}/).slice(1, 5)).toEqual(['2', '5', '5', '0'])
    const md = readFileSync(results, 'utf8')
    expect(md).toContain('<!-- propagation:start -->')
    expect(md).toContain('| y-websocket relay | 2 | 5 | 5 | 0 |')
    // the chart goes next to the results file, never over the real one in bench/
    expect(readFileSync(path.join(tmp, 'propagation.svg'), 'utf8')).toContain('<svg')
    const data = JSON.parse(readFileSync(path.join(tmp, 'data', 'propagation.json'), 'utf8'))
    expect(data.rows[0]).toMatchObject({ label: 'y-websocket relay', peers: 2, missed: 0, latency: { count: 5 } })
  })

  it.skipIf(!existsSync(path.join(ROOT, 'src', 'index.ts')))(
    'propagation against confmesh prints a table',
    async () => {
      const results = path.join(tmp, 'RESULTS-confmesh.md')
      const r = await runScript(
        'propagation.ts',
        ['--quick', '--systems=confmesh', '--peers=2', '--writes=5', '--inproc=0'],
        { CONFMESH_BENCH_RESULTS: results },
      )
      expect(r.code, r.stderr).toBe(0)
      const row = r.stdout.split('\n').find((l) => l.startsWith('confmesh'))
      expect(row, `${r.stdout}\n${r.stderr}`).toBeDefined()
      expect(row!.split(/\s{2,}/).slice(1, 5)).toEqual(['2', '5', '5', '0'])
    },
  )
})
