// Engage token URL by POST (`dialects.capture.tokenUrlMethod: "POST"`): the callback answers a page whose form posts
// `token` to token_url, as Janrain-Sample-Code php/rpx-token-url.php reads it ($_POST['token'], then auth_info with
// apiKey, token and format=json). The page carries a token, so: no referrer, no caching, nothing may load or run but
// its own hashed script, and the form may go only to the token URL's origin.
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { cookiesFrom } from '../helpers/build.ts'
import { API_KEY, fixture, nativeArgs, TOKEN_URL } from './fixtures/capture.ts'

// The app's token URL: a loopback rpx-token-url.php.
const received: Array<{ method: string, type: string | undefined, body: string, query: string }> = []
let capture = ''
const app = createServer((req, res) => {
  let body = ''
  req.on('data', (c) => { body += c })
  req.on('end', () => {
    received.push({ method: req.method!, type: req.headers['content-type'], body, query: new URL(req.url!, 'http://x').search })
    const token = new URLSearchParams(body).get('token')
    if (!token) { res.writeHead(400).end('no token'); return }
    // Step 2 of rpx-token-url.php: auth_info with the token and the API key.
    fetch(`${capture}/t/cap/api/v2/auth_info`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token, apiKey: API_KEY, format: 'json' }).toString() })
      .then(async (r) => { res.writeHead(200, { 'content-type': 'application/json' }).end(await r.text()) })
      .catch(() => res.writeHead(502).end())
  })
})
await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve))
t.teardown(() => new Promise((resolve) => app.close(resolve)))
const APP_TOKEN_URL = `http://127.0.0.1:${(app.address() as AddressInfo).port}/rpx-token-url.php`

const f = await fixture(t, ['cap'], {}, { dialects: { capture: { tokenUrls: [TOKEN_URL, APP_TOKEN_URL], tokenUrlMethod: 'POST' } } })
capture = f.url

/** The round trip up to the callback's answer (the page, in POST mode). */
async function callback (tokenUrl: string, user: 'alice' | 'bob' = 'alice'): Promise<Response> {
  const start = await f.api(`/t/cap/social/github/start?token_url=${encodeURIComponent(tokenUrl)}`, { redirect: 'manual' })
  t.equal(start.status, 302)
  const { code, state } = await f.peer.authorize(start.headers.get('location')!, user)
  return f.api(`/t/cap/social/github/callback?code=${encodeURIComponent(code)}&state=${encodeURIComponent(state)}`, { redirect: 'manual', headers: { cookie: cookiesFrom(start) } })
}

/** What a browser reads off the page: the one form, its action, method and fields, and the inline script. */
function parsePage (html: string) {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)]
  const attr = (s: string, name: string): string | undefined => [...s.matchAll(/\s([\w-]+)="([^"]*)"/g)].find((m) => m[1] === name)?.[2]
  const unescape = (s: string | undefined) => s?.replace(/&#(\d+);/g, (_m, n) => String.fromCharCode(Number(n)))
  const fields = Object.fromEntries([...(forms[0]?.[2] ?? '').matchAll(/<input\b([^>]*)>/g)].map((m) => [unescape(attr(m[1], 'name')), unescape(attr(m[1], 'value'))]))
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)]
  return { forms: forms.length, action: unescape(attr(forms[0]?.[1] ?? '', 'action')), method: attr(forms[0]?.[1] ?? '', 'method'), fields, scripts: scripts.map((s) => ({ attrs: s[1], text: s[2] })) }
}

t.test('the callback answers a self-submitting form that posts token to token_url', async (t) => {
  const tokenUrl = `${TOKEN_URL}?next=%2Fhome&x="<b>`
  const res = await callback(tokenUrl)
  t.equal(res.status, 200)
  t.notOk(res.headers.get('location'), 'no redirect: the token is not in any URL')
  t.match(res.headers.get('content-type'), /^text\/html; charset=utf-8/)
  t.equal(res.headers.get('referrer-policy'), 'no-referrer')
  t.equal(res.headers.get('cache-control'), 'no-store')
  t.equal(res.headers.get('pragma'), 'no-cache')
  t.equal(res.headers.get('x-content-type-options'), 'nosniff')
  const html = await res.text()
  const page = parsePage(html)
  t.equal(page.forms, 1)
  t.equal(page.method, 'post')
  t.equal(page.action, tokenUrl, 'action is token_url, its own query kept')
  t.same(Object.keys(page.fields), ['token'])
  t.match(page.fields.token, /^[a-z0-9]{40}$/)
  t.notOk(html.includes('<b>'), 'the token_url query is escaped')
  t.notMatch(html, /\ssrc=|<link|<iframe|<img|style=/i, 'no resources of any kind')

  // CSP: only the page's own inline script, by hash; nothing loads; the form goes only to the token URL's origin.
  const csp = res.headers.get('content-security-policy') ?? ''
  const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]))
  t.same(directives['default-src'], ["'none'"])
  t.same(directives['base-uri'], ["'none'"])
  t.same(directives['frame-ancestors'], ["'none'"])
  t.same(directives['form-action'], ['https://app.test'])
  t.equal(page.scripts.length, 1)
  t.equal(page.scripts[0].attrs, '', 'an inline script, no src')
  t.same(directives['script-src'], [`'sha256-${createHash('sha256').update(page.scripts[0].text).digest('base64')}'`], 'the script is allowed by its hash only')
  t.notOk(csp.includes('unsafe-inline'))
  t.match(page.scripts[0].text, /getElementById\("vst-token-form"\)\.submit\(\)/)
  t.match(html, /<form id="vst-token-form"/)
  t.match(html, /<noscript><button type="submit">/, 'works without JavaScript too')

  // The token is a real Social Login token.
  const signIn = await f.form('/t/cap/oauth/auth_native', nativeArgs({ token: page.fields.token, thin_registration: 'true' }))
  t.equal(signIn.body.stat, 'ok', JSON.stringify(signIn.body))
})

t.test('rpx-token-url.php: the submitted form reaches the app as $_POST[\'token\'] and auth_info answers it', async (t) => {
  const res = await callback(APP_TOKEN_URL, 'bob')
  const page = parsePage(await res.text())
  t.equal(page.action, APP_TOKEN_URL)
  t.match(res.headers.get('content-security-policy'), new RegExp(`form-action ${new URL(APP_TOKEN_URL).origin.replace(/[.]/g, '\\.')};`))
  // The browser's submission of that form: application/x-www-form-urlencoded to the action.
  const posted = await fetch(page.action!, { method: page.method!.toUpperCase(), headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(page.fields as Record<string, string>).toString() })
  const info = await posted.json() as any
  t.equal(info.stat, 'ok', JSON.stringify(info))
  t.equal(info.profile.providerName, 'GitHub')
  const last = received.at(-1)!
  t.equal(last.method, 'POST')
  t.equal(last.query, '', 'the token travelled in the body only')
})

t.test('a provider error is posted the same way (field error), never redirected with the token URL', async (t) => {
  const start = await f.api(`/t/cap/social/github/start?token_url=${encodeURIComponent(TOKEN_URL)}`, { redirect: 'manual' })
  const state = new URL(start.headers.get('location')!).searchParams.get('state')!
  const res = await f.api(`/t/cap/social/github/callback?error=access_denied&state=${encodeURIComponent(state)}`, { redirect: 'manual', headers: { cookie: cookiesFrom(start) } })
  t.equal(res.status, 200)
  const page = parsePage(await res.text())
  t.equal(page.action, TOKEN_URL)
  t.same(page.fields, { error: 'access_denied' })
  t.equal(res.headers.get('cache-control'), 'no-store')
})
