/**
 * The web console in a real browser (Debian's chromium driven by playwright-core; playwright never downloads one)
 * against three real agents as OS processes with tokens: an edit made in the console reaches the other peers; a change
 * made on another peer appears live, highlighted, with its writer; a rollback chosen in the History view restores the
 * old value everywhere; a read token cannot edit; bad JSON is refused in the page and nothing is sent; every view works
 * by keyboard, on a phone-sized screen, and logs no error. Screenshots of each view go to test-results/console/ (the
 * README shows copies from docs/console/).
 *
 * Needs `npm run build` first (the agents run the compiled package, which serves dist/console/) and chromium at
 * CHROMIUM_PATH (default /usr/bin/chromium; `.ci/run` installs Debian's package).
 */
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type Browser, type BrowserContext, type ConsoleMessage, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AgentProcess, removeTempDir, startAgent, stopAgents, tempDir } from '../helpers/agent-process.js'
import { waitFor } from '../helpers/wait-for.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const SHOTS = join(process.cwd(), 'test-results/console')
const WRITE_TOKEN = 'console-test-write-token-0123456789'
const READ_TOKEN = 'console-test-read-token-0123456789'
const DEADLINE = 20_000

const SEED = { enabled: true, rollout: 25, regions: ['eu-west', 'us-east'] }
const EDITED = { enabled: true, rollout: 50, regions: ['eu-west', 'us-east', 'ap-south'] }

/** URLs a test makes the agent refuse on purpose (the browser logs each refusal as a resource error). */
const refusedOnPurpose = new Set<string>()

/** Console errors the console causes on purpose (expected 4xx answers the browser logs as resource errors). */
function isExpectedResourceError(m: ConsoleMessage): boolean {
  if (!m.text().startsWith('Failed to load resource')) return false
  const url = m.location().url
  if (refusedOnPurpose.has(new URL(url).pathname)) return true
  // the sign-in page learns that a token is needed from a 401
  return url.endsWith('/v1/status') && m.text().includes('401')
}

if (!existsSync(CHROMIUM)) {
  console.warn(`console.test.ts skipped: no chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`)
}

describe.skipIf(!existsSync(CHROMIUM))('web console in a browser against agent processes', () => {
  let dir: string
  let agents: AgentProcess[] = []
  let browser: Browser
  const errors: string[] = []
  /** Every request any page made: `METHOD /path?query`. */
  const requests: string[] = []

  const api = async <T>(agent: AgentProcess, path: string, init: RequestInit = {}): Promise<T> => {
    const res = await fetch(`${agent.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${WRITE_TOKEN}`, ...(init.headers as Record<string, string>) },
    })
    const body = (await res.json()) as T
    if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`)
    return body
  }
  const put = (agent: AgentProcess, ns: string, key: string, value: unknown) =>
    api(agent, `/v1/kv/${ns}/${key}`, { method: 'PUT', body: JSON.stringify(value) })
  const valueOn = async (agent: AgentProcess, ns: string, key: string): Promise<unknown> => {
    const res = await fetch(`${agent.url}/v1/kv/${ns}/${key}`, { headers: { authorization: `Bearer ${READ_TOKEN}` } })
    return res.status === 404 ? undefined : ((await res.json()) as { value: unknown }).value
  }
  const everywhere = (ns: string, key: string, value: unknown) =>
    waitFor(
      async () => {
        for (const a of agents) if (JSON.stringify(await valueOn(a, ns, key)) !== JSON.stringify(value)) return false
        return true
      },
      { timeoutMs: DEADLINE, intervalMs: 50, message: `${ns}/${key} = ${JSON.stringify(value)} on every agent` },
    )

  /** A new page in its own context (own sessionStorage), with errors collected. */
  const openPage = async (
    viewport = { width: 1280, height: 800 },
  ): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await browser.newContext({ viewport })
    const page = await context.newPage()
    page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`))
    page.on('request', (r) => {
      const url = new URL(r.url())
      requests.push(`${r.method()} ${url.pathname}${url.search}`)
    })
    page.on('console', (m) => {
      if ((m.type() === 'error' || m.type() === 'warning') && !isExpectedResourceError(m)) {
        errors.push(`console.${m.type()}: ${m.text()} (${m.location().url})`)
      }
    })
    return { context, page }
  }
  const signIn = async (page: Page, agent: AgentProcess, token: string) => {
    await page.goto(agent.url!)
    await page.getByLabel('Access token').fill(token)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Config', level: 1 }).waitFor()
  }
  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false })
  const row = (page: Page, key: string) => page.locator(`tr[data-key="${key}"]`)

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true })
    dir = await tempDir('confmesh-console-')
    const tokens = join(dir, 'tokens')
    await writeFile(tokens, `write ${WRITE_TOKEN}\nread ${READ_TOKEN}\n`, { mode: 0o600 })
    const common = ['--http-token-file', tokens]
    const a = await startAgent({ args: [...common, '--tag', 'zone=eu-west', '--tag', 'role=edge'] })
    agents.push(a)
    const rest = await Promise.all([
      startAgent({ args: [...common, '--bootstrap', a.addresses[0]!, '--weight', '2', '--tag', 'zone=us-east'] }),
      startAgent({ args: [...common, '--bootstrap', a.addresses[0]!, '--weight', '0.5', '--tag', 'zone=ap-south'] }),
    ])
    agents.push(...rest)
    await waitFor(
      async () => {
        for (const ag of agents) {
          const { peers } = await api<{ peers: Array<{ connected: boolean; ready: boolean }> }>(ag, '/v1/peers')
          if (peers.filter((p) => p.connected && p.ready).length < 2) return false
        }
        return true
      },
      { timeoutMs: 30_000, message: 'three agents see each other' },
    )
    await put(a, 'default', 'feature.checkout', SEED)
    await put(a, 'default', 'db.pool', { max: 20, idleMs: 30_000 })
    await put(a, 'default', 'banner.text', 'Welcome back')
    await put(a, 'default', 'upstreams', {
      servers: Array.from({ length: 6 }, (_, i) => ({ host: `10.0.0.${i + 10}`, port: 8080, weight: i + 1 })),
    })
    await put(agents[1]!, 'payments', 'provider', { name: 'acme-pay', timeoutMs: 2500 })
    await put(agents[1]!, 'payments', 'retries', 3)
    await everywhere('payments', 'retries', 3)
    await everywhere('default', 'upstreams', await valueOn(a, 'default', 'upstreams'))
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] })
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
    await stopAgents(agents)
    agents = []
    if (dir !== undefined) await removeTempDir(dir)
  })

  it('serves the console without a token, behind a strict CSP, with / redirecting to it', async () => {
    const root = await fetch(agents[0]!.url!, { redirect: 'manual' })
    expect(root.status).toBe(302)
    expect(root.headers.get('location')).toBe('/ui/')
    const html = await fetch(`${agents[0]!.url}/ui/`)
    expect(html.status).toBe(200)
    expect(html.headers.get('content-security-policy')).toContain("default-src 'self'")
    expect(await html.text()).toContain('/ui/console.js')
    const js = await fetch(`${agents[0]!.url}/ui/console.js`)
    expect(js.status).toBe(200)
    expect(js.headers.get('content-type')).toContain('javascript')
    // the API itself still wants the token
    expect((await fetch(`${agents[0]!.url}/v1/kv`)).status).toBe(401)
  })

  it('edits a value in the console and the other peers get it', async () => {
    const { context, page } = await openPage()
    await page.goto(agents[0]!.url!)
    await page.getByLabel('Access token').waitFor()
    await shot(page, 'login')
    await signIn(page, agents[0]!, WRITE_TOKEN)
    await row(page, 'feature.checkout').waitFor()
    await expect.poll(() => row(page, 'upstreams').locator('details').count()).toBe(1) // long value folded
    await shot(page, 'config')

    await row(page, 'feature.checkout').getByRole('button', { name: 'Edit feature.checkout' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByLabel('Value (JSON)').fill(JSON.stringify(EDITED, null, 2))
    await shot(page, 'edit')
    await dialog.getByRole('button', { name: 'Save' }).click()
    await dialog.waitFor({ state: 'detached' })
    await everywhere('default', 'feature.checkout', EDITED)
    await context.close()
  })

  it('refuses bad JSON with a clear message and sends nothing', async () => {
    const { context, page } = await openPage()
    await signIn(page, agents[0]!, WRITE_TOKEN)
    const writes: string[] = []
    page.on('request', (r) => {
      if (r.method() !== 'GET') writes.push(`${r.method()} ${r.url()}`)
    })
    await page.getByRole('button', { name: 'Add key' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByLabel('Key').fill('broken')
    await dialog.getByLabel('Value (JSON)').fill('{"enabled": true,')
    await dialog.getByRole('button', { name: 'Save' }).click()
    await expect.poll(() => dialog.getByRole('alert').textContent()).toMatch(/Not valid JSON, nothing was sent/)
    await shot(page, 'bad-json')
    expect(writes).toEqual([])
    expect(await valueOn(agents[0]!, 'default', 'broken')).toBeUndefined()
    // the API's own refusal is shown as the API words it
    const tooLong = 'x'.repeat(300)
    refusedOnPurpose.add(`/v1/kv/${tooLong}/broken`)
    await dialog.getByLabel('Namespace').fill(tooLong)
    await dialog.getByLabel('Value (JSON)').fill('1')
    await dialog.getByRole('button', { name: 'Save' }).click()
    await expect.poll(() => dialog.getByRole('alert').textContent()).toMatch(/Refused by the agent \(ERR_/)
    await context.close()
  })

  it('shows a change made on another peer live, highlighted, with who and when', async () => {
    const { context, page } = await openPage()
    await signIn(page, agents[0]!, WRITE_TOKEN)
    await row(page, 'banner.text').waitFor()
    // the stream is open once the header's dot says so
    await page.locator('.dot.on').waitFor()
    await put(agents[1]!, 'default', 'banner.text', 'Maintenance at 22:00 UTC')
    const changed = row(page, 'banner.text')
    await expect.poll(() => changed.locator('.value').textContent(), { timeout: DEADLINE }).toContain('Maintenance')
    expect(await changed.getAttribute('class')).toContain('flash')
    expect(await changed.locator('.peer').getAttribute('title')).toBe(agents[1]!.peerId)
    await shot(page, 'config-live-change')
    await put(agents[2]!, 'payments', 'retries', 5)
    await page.getByRole('link', { name: 'Live' }).click()
    const feed = page.locator('.feed .change')
    await expect.poll(() => feed.count(), { timeout: DEADLINE }).toBeGreaterThanOrEqual(2)
    expect(await feed.first().textContent()).toContain('payments/retries')
    expect(await feed.first().locator('.peer').getAttribute('title')).toBe(agents[2]!.peerId)
    await shot(page, 'live')
    await context.close()
  })

  it('rolls back chosen keys to a version from the History view, after a confirmation listing the change', async () => {
    const { entries } = await api<{
      entries: Array<{ id: string; changes: Array<{ namespace: string; key: string; after?: unknown }> }>
    }>(agents[0]!, '/v1/history?namespace=default&key=feature.checkout')
    const seeded = entries.find((e) =>
      e.changes.some((c) => c.key === 'feature.checkout' && JSON.stringify(c.after) === JSON.stringify(SEED)),
    )
    expect(seeded).toBeDefined()
    const { context, page } = await openPage()
    await signIn(page, agents[0]!, WRITE_TOKEN)
    await page.getByRole('link', { name: 'History' }).click()
    // snapshots with a message
    await page.getByPlaceholder('Snapshot message').fill('before the rollback')
    await page.getByRole('button', { name: 'Take snapshot' }).click()
    await page.locator('.version .message', { hasText: 'before the rollback' }).waitFor({ timeout: DEADLINE })

    // a version's changes side by side (the console's edit: rollout 25 -> 50)
    const edit = page.locator('li.version', { hasText: 'default/feature.checkout' }).first()
    await edit.getByRole('button', { name: 'Show changes' }).click()
    await edit.locator('table.diff').waitFor()
    expect(JSON.parse((await edit.locator('td.before pre').textContent())!)).toEqual(SEED)
    expect(JSON.parse((await edit.locator('td.after pre').textContent())!)).toEqual(EDITED)
    await page.evaluate('window.scrollTo(0, 0)')
    await shot(page, 'history')
    await edit.getByRole('button', { name: 'Hide changes' }).click()

    const version = page.locator(`li[data-version="${seeded!.id}"]`)
    await version.getByRole('button', { name: 'Roll back to this version…' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByLabel('Chosen keys').check()
    await dialog.getByRole('combobox').selectOption('default')
    await dialog.getByLabel('feature.checkout').check()
    const planned = dialog.locator('table.diff tbody tr')
    await expect.poll(() => planned.count()).toBe(1)
    expect(await planned.first().locator('th').textContent()).toBe('default/feature.checkout')
    expect(JSON.parse((await planned.first().locator('td.after pre').textContent())!)).toEqual(SEED)
    expect(JSON.parse((await planned.first().locator('td.before pre').textContent())!)).toEqual(EDITED)
    await shot(page, 'rollback')
    await dialog.getByRole('button', { name: 'Roll back 1 key' }).click()
    await dialog.waitFor({ state: 'detached' })
    await everywhere('default', 'feature.checkout', SEED)
    // only the chosen key changed
    expect(await valueOn(agents[2]!, 'default', 'banner.text')).toBe('Maintenance at 22:00 UTC')
    await context.close()
  })

  it('shows the mesh: members with weight, tags and state, the ring, and who owns a key', async () => {
    const { context, page } = await openPage()
    await signIn(page, agents[0]!, WRITE_TOKEN)
    await page.getByRole('link', { name: 'Mesh' }).click()
    const rows = page.locator('table.members tbody tr')
    await expect.poll(() => rows.count(), { timeout: DEADLINE }).toBe(3)
    const b = page.locator(`tr[data-peer="${agents[1]!.peerId}"]`)
    expect(await b.textContent()).toContain('zone=us-east')
    expect(await b.locator('td').first().textContent()).toBe('2')
    expect(await b.textContent()).toContain('connected')
    await expect.poll(() => page.locator('svg.ring .arc path').count()).toBe(3)
    await page.getByLabel('Who owns key').fill('feature.checkout')
    await page.getByLabel('Owners').fill('2')
    await page.getByRole('button', { name: 'Find owners' }).click()
    const { owners } = await api<{ owners: string[] }>(agents[0]!, '/v1/ring?key=feature.checkout&n=2')
    await expect.poll(() => page.locator('table.members tr.owner').count()).toBe(2)
    for (const [i, o] of owners.entries()) {
      expect(await page.locator(`tr[data-peer="${o}"] .owner-badge`).textContent()).toBe(`owner #${i + 1}`)
      expect(await page.locator(`svg.ring g[data-member="${o}"]`).getAttribute('class')).toContain('owner')
    }
    // the agent itself: its own weight and tags (from /v1/status)
    const self = page.locator(`tr[data-peer="${agents[0]!.peerId}"]`)
    expect(await self.locator('td').first().textContent()).toBe('1')
    expect(await self.textContent()).toContain('zone=eu-west')
    expect(await self.textContent()).toContain('role=edge')
    expect(await self.textContent()).toContain('this agent')
    // shares as the agent computes them (/v1/ring), not sampled by the page
    const { shares } = await api<{ shares: Array<{ peerId: string; share: number }> }>(agents[0]!, '/v1/ring')
    for (const s of shares) {
      const cell = page.locator(`tr[data-peer="${s.peerId}"] td`).nth(1)
      await expect.poll(() => cell.textContent(), { timeout: DEADLINE }).toBe(`${(s.share * 100).toFixed(0)} %`)
    }
    const largest = shares.reduce((x, y) => (y.share > x.share ? y : x))
    expect(largest.peerId).toBe(agents[1]!.peerId) // the weight-2 member holds the most
    await shot(page, 'mesh')
    await context.close()
  })

  it("shows a schema's refusal of an edit readably: which key, where, what, which schema", async () => {
    await api(agents[0]!, '/v1/schemas/default/db.pool', {
      method: 'PUT',
      body: JSON.stringify({ type: 'object', properties: { max: { type: 'integer', maximum: 100 } } }),
    })
    const { context, page } = await openPage()
    await signIn(page, agents[0]!, WRITE_TOKEN)
    await row(page, 'db.pool').getByRole('button', { name: 'Edit db.pool' }).click()
    const dialog = page.getByRole('dialog')
    refusedOnPurpose.add('/v1/kv/default/db.pool')
    await dialog.getByLabel('Value (JSON)').fill(JSON.stringify({ max: 500, idleMs: 30_000 }, null, 2))
    await dialog.getByRole('button', { name: 'Save' }).click()
    const alert = dialog.getByRole('alert')
    await expect.poll(() => alert.textContent()).toMatch(/Refused by a schema, nothing was written/)
    expect(await alert.locator('li').allTextContents()).toEqual([
      'default/db.pool/max must be <= 100 (schema default/db.pool)',
    ])
    await shot(page, 'schema-refusal')
    expect(await valueOn(agents[0]!, 'default', 'db.pool')).toEqual({ max: 20, idleMs: 30_000 })
    await api(agents[0]!, '/v1/schemas/default/db.pool', { method: 'DELETE' })
    await context.close()
  })

  it('read token: browses, but every edit control is disabled', async () => {
    const { context, page } = await openPage()
    await signIn(page, agents[0]!, READ_TOKEN)
    await page.getByRole('note').filter({ hasText: 'Read-only' }).waitFor()
    expect(await page.getByRole('button', { name: 'Add key' }).isDisabled()).toBe(true)
    await row(page, 'feature.checkout').waitFor()
    expect(await row(page, 'feature.checkout').getByRole('button', { name: /Edit/ }).isDisabled()).toBe(true)
    expect(
      await row(page, 'feature.checkout')
        .getByRole('button', { name: /Delete/ })
        .isDisabled(),
    ).toBe(true)
    await shot(page, 'read-only')
    await page.getByRole('link', { name: 'History' }).click()
    await page.locator('.version').first().waitFor()
    const rollbacks = page.getByRole('button', { name: 'Roll back to this version…' })
    for (let i = 0; i < (await rollbacks.count()); i++) expect(await rollbacks.nth(i).isDisabled()).toBe(true)
    expect(await page.getByRole('button', { name: 'Take snapshot' }).isDisabled()).toBe(true)
    await context.close()
  })

  it('works by keyboard and on a phone-sized screen', async () => {
    const { context, page } = await openPage({ width: 390, height: 844 })
    await signIn(page, agents[0]!, WRITE_TOKEN)
    await row(page, 'feature.checkout').waitFor()
    // browser-side expressions as strings: this file is type-checked without the DOM library
    const overflow = () => page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth')
    expect(await overflow()).toBeLessThanOrEqual(1)
    await shot(page, 'phone-config')
    // keyboard: tab to the History link and follow it
    let reached = false
    for (let i = 0; i < 15 && !reached; i++) {
      await page.keyboard.press('Tab')
      reached = await page.evaluate<boolean>("document.activeElement?.textContent === 'History'")
    }
    expect(reached).toBe(true)
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'History', level: 1 }).waitFor()
    await page.locator('.version').first().waitFor()
    expect(await overflow()).toBeLessThanOrEqual(1)
    const older = page.locator('li.version', { hasText: 'default/feature.checkout' }).last()
    await older.getByRole('button', { name: 'Roll back to this version…' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.locator('table.diff, .notice').first().waitFor()
    expect(await dialog.evaluate((d) => d.scrollWidth - d.clientWidth)).toBeLessThanOrEqual(1)
    await shot(page, 'phone-rollback')
    await page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'detached' })
    await page.getByRole('link', { name: 'Mesh' }).click()
    await expect.poll(() => page.locator('table.members tbody tr').count(), { timeout: DEADLINE }).toBe(3)
    await expect
      .poll(() => page.locator('td[data-label="Share"]').first().textContent(), { timeout: DEADLINE })
      .toMatch(/\d+ %/)
    expect(await overflow()).toBeLessThanOrEqual(1)
    await shot(page, 'phone-mesh')
    await context.close()
  })

  it('opens without sign-in on an agent without tokens; add by keyboard (Escape closes the editor), search, delete', async () => {
    const open = await startAgent()
    await put(open, 'default', 'timeout.ms', 1500)
    const { context, page } = await openPage()
    try {
      await page.goto(open.url!)
      await page.getByRole('heading', { name: 'Config', level: 1 }).waitFor()
      expect(await page.locator('.access').textContent()).toBe('no tokens')
      const add = page.getByRole('button', { name: 'Add key' })
      await add.focus()
      await page.keyboard.press('Enter')
      const dialog = page.getByRole('dialog')
      await dialog.waitFor()
      await page.keyboard.press('Escape')
      await dialog.waitFor({ state: 'detached' })
      expect(await add.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true)
      await page.keyboard.press('Enter')
      await dialog.waitFor()
      await page.keyboard.type('greeting') // the Key field has the focus
      await page.keyboard.press('Tab')
      await page.keyboard.type('"hello"')
      await page.keyboard.press('Tab') // Cancel
      await page.keyboard.press('Tab') // Save
      await page.keyboard.press('Enter')
      await dialog.waitFor({ state: 'detached' })
      await row(page, 'greeting').waitFor()
      expect(await valueOn(open, 'default', 'greeting')).toBe('hello')
      // search by key, then delete after a confirmation
      expect(await page.locator('table.kv tbody tr[data-key]').count()).toBe(2)
      await page.getByLabel('Search keys').fill('GREET')
      await expect.poll(() => page.locator('table.kv tbody tr[data-key]').count()).toBe(1)
      await row(page, 'greeting').getByRole('button', { name: 'Delete greeting' }).click()
      await dialog.getByRole('button', { name: 'Delete' }).click()
      await dialog.waitFor({ state: 'detached' })
      await row(page, 'greeting').waitFor({ state: 'detached' })
      expect(await valueOn(open, 'default', 'greeting')).toBeUndefined()
    } finally {
      await context.close()
      await open.stop()
    }
  })

  it('logged no console error on any view', () => {
    expect(errors).toEqual([])
  })

  it('asks the API directly: no probing write for access, no sampling of the ring', () => {
    expect(requests.length).toBeGreaterThan(0)
    expect(requests.filter((r) => r.includes('console-access-check') || r.startsWith('GET /v1/ring?key='))).toEqual(
      // the only key look-up is the operator's own "who owns feature.checkout"
      ['GET /v1/ring?key=feature.checkout&n=2'],
    )
    expect(requests.filter((r) => r.startsWith('POST /v1/kv/'))).toEqual([])
  })
})
