// Every answer carries the security headers: Referrer-Policy no-referrer (pages and redirects that carry a token
// or confirmation in their URL leak nothing onward), nosniff, no framing (X-Frame-Options DENY and CSP
// frame-ancestors 'none'); tenant API answers forbid loading anything (default-src 'none'); /docs runs with a CSP
// that allows its inline code by hash only, never 'unsafe-inline'.
import t from 'tap'
import { build, cookiesFrom, tenantDoc } from '../helpers/build.ts'
import { fixture, TOKEN_URL } from '../capture/fixtures/capture.ts'
import { loadTenantFile } from '../../tenants/loader.ts'

function hasHeaders (t: { equal: (...a: any[]) => unknown, match: (...a: any[]) => unknown, notMatch: (...a: any[]) => unknown }, res: Response, what: string, apiCsp: boolean) {
  t.equal(res.headers.get('referrer-policy'), 'no-referrer', `${what}: Referrer-Policy`)
  t.equal(res.headers.get('x-content-type-options'), 'nosniff', `${what}: nosniff`)
  t.equal(res.headers.get('x-frame-options'), 'DENY', `${what}: X-Frame-Options`)
  const csp = res.headers.get('content-security-policy') ?? ''
  t.match(csp, /frame-ancestors 'none'/, `${what}: frame-ancestors`)
  t.notMatch(csp, /unsafe-inline/, `${what}: no unsafe-inline`)
  if (apiCsp) t.match(csp, /default-src 'none'/, `${what}: default-src 'none'`)
}

t.test('tenant answers: JSON, errors, 404, /docs, /openapi.json, and the redirect that carries a Social Login token', async (t) => {
  const f = await fixture(t)
  hasHeaders(t, await f.api('/t/cap/oauth/auth_native', { method: 'POST' }), 'capture API error', true)
  hasHeaders(t, await f.api('/t/cap/no-such-route'), 'tenant 404', true)
  hasHeaders(t, await f.api('/t/cap/openapi.json'), 'openapi.json', true)
  const docs = await f.api('/t/cap/docs')
  hasHeaders(t, docs, '/docs', true)
  t.match(docs.headers.get('content-security-policy'), /script-src 'self' 'sha256-[A-Za-z0-9+/]+=*'(;|$)/, '/docs: its inline script by hash')

  const start = await f.api(`/t/cap/social/github/start?token_url=${encodeURIComponent(TOKEN_URL)}`, { redirect: 'manual' })
  hasHeaders(t, start, 'social start redirect', true)
  const { redirect } = await f.peer.authorize(start.headers.get('location')!, 'alice')
  const u = new URL(redirect)
  const cb = await f.api(u.pathname + u.search, { redirect: 'manual', headers: { cookie: cookiesFrom(start) } })
  t.match(cb.headers.get('location'), /[?&]token=[a-z0-9]{40}/, 'the token_url redirect carries the token')
  hasHeaders(t, cb, 'token_url redirect', true)
})

t.test('process answers: health, metrics, unknown tenant, docs assets, and the demo pages that carry a confirmation or a link token', async (t) => {
  const { config } = await loadTenantFile('tenants/demo.json')
  const { api } = await build(t, { tenants: [config, tenantDoc('x')], demoPages: true })
  for (const path of ['/healthz', '/readyz', '/metrics', '/no-such-tenant', '/_vestibule/docs/swagger-ui.css']) {
    hasHeaders(t, await api(path), path, false)
  }
  for (const path of ['/_vestibule/demo', '/_vestibule/demo/confirmed/98e132041ad3f369443f1d3d', '/_vestibule/demo/link/some-link-token', '/_vestibule/demo/error?error=invalid_state']) {
    const r = await api(path)
    t.equal(r.status, 200, path)
    hasHeaders(t, r, path, false)
  }
})
