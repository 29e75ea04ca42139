// The quickstart's stand-in frontend for the `demo` tenant: a social login through the local demo IdP
// (oauth-confirm flow), a Capture Social Login round trip ending at its token page, and the magic-link
// landing page. Development only; it holds only the demo tenant's placeholder keys.
import type { FastifyInstance } from 'fastify'

export const DEMO_PREFIX = '/_vestibule/demo'

const shell = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem}button{font:inherit;padding:.5rem 1rem}pre{background:#f4f4f4;padding:1rem;overflow:auto}</style>
</head><body>${body}</body></html>`

const script = (code: string) => `<script>
const tenant = ${JSON.stringify('demo')};
const show = (x) => { document.getElementById('out').textContent = JSON.stringify(x, null, 2) };
${code}
</script>`

export interface DemoPagesOptions {
  clientKey: string
  /** The demo tenant's document: its Capture Social Login API key and token URL, when it has them. */
  tenant?: { clients: Array<object>, dialects: Record<string, unknown> }
}

export default async function demoPages (app: FastifyInstance, opts: DemoPagesOptions): Promise<void> {
  const apiKey = (opts.tenant?.clients as Array<{ apiKey?: unknown }> | undefined)?.find((c) => typeof c.apiKey === 'string')?.apiKey as string | undefined
  const tokenUrl = (opts.tenant?.dialects.capture as { tokenUrls?: string[] } | undefined)?.tokenUrls?.[0]
  const html = (s: string) => (_req: unknown, reply: any) => reply.type('text/html; charset=utf-8').send(s)

  app.get(DEMO_PREFIX, { schema: { hide: true } }, html(shell('Vestibule demo', `
<h1>Vestibule demo</h1>
<p>Sign in to the <code>demo</code> tenant through the local demo identity provider (the oauth-confirm dialect:
<code>/oauth/init</code> → provider → <code>/oauth/callback/from/demo</code> → this page → <code>/oauth/login</code>).</p>
<p><button id="go">Sign in with the demo provider</button></p>
${apiKey && tokenUrl ? `<p>Or the same provider through Janrain Capture's Social Login (<code>/social/demo/start</code> → provider → this demo's token page → <code>/api/v2/auth_info</code>):</p>
<p><button id="capture">Sign in with Capture Social Login</button></p>` : ''}
<p>Or request a magic link (by-link dialect); the mail lands in <code>.data/outbox/</code> when no SMTP_URL is set:</p>
<p><input id="email" type="email" placeholder="you@example.com"> <button id="link">Email me a link</button></p>
<pre id="out"></pre>
${script(`
document.getElementById('go').onclick = async () => {
  const r = await fetch('/t/' + tenant + '/oauth/init', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ provider: 'demo', language: 'en' }) })
  const body = await r.json().catch(() => ({ status: r.status }))
  if (body.url) location.href = body.url; else show(body)
}
const capture = document.getElementById('capture')
if (capture) capture.onclick = () => { location.href = '/t/' + tenant + '/social/demo/start?token_url=' + encodeURIComponent(${JSON.stringify(tokenUrl ?? '')}) }
document.getElementById('link').onclick = async () => {
  const r = await fetch('/t/' + tenant + '/v1/auth/by-link/link/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: document.getElementById('email').value }) })
  show({ status: r.status, body: await r.json().catch(() => null), next: 'open the newest .eml file in .data/outbox/ and follow its link' })
}`)}`)))

  app.get(`${DEMO_PREFIX}/confirmed/:confirmation`, { schema: { hide: true } }, html(shell('Signed in — Vestibule demo', `
<h1>Back from the provider</h1><p>Exchanging the confirmation at <code>POST /oauth/login</code>…</p><pre id="out"></pre>
${script(`
const confirmation = location.pathname.split('/').pop()
fetch('/t/' + tenant + '/oauth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ confirmation }) })
  .then(async (r) => show({ status: r.status, body: await r.json().catch(() => null) }))`)}`)))

  app.get(`${DEMO_PREFIX}/error`, { schema: { hide: true } }, html(shell('Sign-in failed — Vestibule demo', `
<h1>Sign-in failed</h1><pre id="out"></pre>${script('show(Object.fromEntries(new URLSearchParams(location.search)))')}<p><a href="${DEMO_PREFIX}">Try again</a></p>`)))

  // Capture Social Login lands here with ?token=… (or ?error=…); the page trades it at /api/v2/auth_info.
  app.get(`${DEMO_PREFIX}/token`, { schema: { hide: true } }, html(shell('Social Login token — Vestibule demo', `
<h1>Back from Social Login</h1><p>Trading the token at <code>POST /api/v2/auth_info</code>…</p><pre id="out"></pre>
${script(`
const q = new URLSearchParams(location.search)
if (!q.get('token')) show(Object.fromEntries(q))
else fetch('/t/' + tenant + '/api/v2/auth_info', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ apiKey: ${JSON.stringify(apiKey ?? '')}, token: q.get('token') }) })
  .then(async (r) => show({ status: r.status, body: await r.json().catch(() => null) }))`)}<p><a href="${DEMO_PREFIX}">Back to the demo</a></p>`)))

  app.get(`${DEMO_PREFIX}/link/:token`, { schema: { hide: true } }, html(shell('Magic link — Vestibule demo', `
<h1>Magic link</h1><p>Logging in at <code>POST /v1/auth/by-link/login/</code>…</p><pre id="out"></pre>
${script(`
const token = location.pathname.split('/').pop()
fetch('/t/' + tenant + '/v1/auth/by-link/login/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, client_key: ${JSON.stringify(opts.clientKey)} }) })
  .then(async (r) => show({ status: r.status, body: await r.json().catch(() => null) }))`)}`)))
}
