// The API reference page in a real browser: headless Debian Chromium (playwright-core) opens a tenant's
// /docs, Swagger UI renders the tenant's document, every dialect's operations are listed; a screenshot
// is kept under test/artifacts/.
import { mkdirSync } from 'node:fs'
import t from 'tap'
import { chromium } from 'playwright-core'
import { build } from '../helpers/build.ts'
import { loadTenantFile } from '../../tenants/loader.ts'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

t.test('the reference page lists the tenant\'s dialect operations', async (t) => {
  const { config } = await loadTenantFile('tenants/demo.json')
  const { url } = await build(t, { tenants: [config] })
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  t.teardown(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  const failed: string[] = []
  page.on('requestfailed', (r) => failed.push(r.url()))
  // The page's CSP allows no inline script or style but its hashed initialiser: it must render without a violation.
  const violations: string[] = []
  await page.addInitScript({ content: "document.addEventListener('securitypolicyviolation', (e) => { (window.__cspViolations ??= []).push(e.violatedDirective + ' ' + e.blockedURI) })" })
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()) })
  const res = await page.goto(`${url}/t/demo/docs`)
  t.equal(res?.status(), 200)
  t.notMatch(res?.headers()['content-security-policy'], /unsafe-inline/, 'no unsafe-inline')
  await page.waitForSelector('.opblock', { timeout: 20_000 })
  t.match(await page.title(), /demo/)
  const paths = await page.$$eval('.opblock-summary-path', (els) => els.map((e) => e.getAttribute('data-path') ?? e.textContent ?? ''))
  for (const p of ['/social-auth', '/v1/auth/by-link/link/', '/oauth/init', '/v1.1/instances/{instance}/user/auth/{backend}/', '/oauth/auth_native']) {
    t.ok(paths.some((x) => x.replace(/\u200b/g, '') === p), `${p} is listed`)
  }
  const tags = await page.$$eval('.opblock-tag', (els) => els.map((e) => e.getAttribute('data-tag')))
  t.same(tags.sort(), ['by-link', 'capture', 'oauth-confirm', 'rest-social-auth', 'syncano'])
  t.same(failed, [], 'every asset came from this server')
  violations.push(...await page.evaluate<string[]>('window.__cspViolations ?? []'))
  t.same(violations, [], 'no Content-Security-Policy violation')
  mkdirSync('test/artifacts', { recursive: true })
  await page.screenshot({ path: 'test/artifacts/docs-demo.png', fullPage: true })
})
