// The quickstart's stand-in frontend for the `demo` tenant: a social login through the local demo IdP
// (oauth-confirm flow) and the magic-link landing page. Development only; it holds no secrets.
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

export default async function demoPages (app: FastifyInstance, opts: { clientKey: string }): Promise<void> {
  const html = (s: string) => (_req: unknown, reply: any) => reply.type('text/html; charset=utf-8').send(s)

  app.get(DEMO_PREFIX, { schema: { hide: true } }, html(shell('Vestibule demo', `
<h1>Vestibule demo</h1>
<p>Sign in to the <code>demo</code> tenant through the local demo identity provider (the oauth-confirm dialect:
<code>/oauth/init</code> → provider → <code>/oauth/callback/from/demo</code> → this page → <code>/oauth/login</code>).</p>
<p><button id="go">Sign in with the demo provider</button></p>
<p>Or request a magic link (by-link dialect); the mail lands in <code>.data/outbox/</code> when no SMTP_URL is set:</p>
<p><input id="email" type="email" placeholder="you@example.com"> <button id="link">Email me a link</button></p>
<pre id="out"></pre>
${script(`
document.getElementById('go').onclick = async () => {
  const r = await fetch('/t/' + tenant + '/oauth/init', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ provider: 'demo', language: 'en' }) })
  const body = await r.json().catch(() => ({ status: r.status }))
  if (body.url) location.href = body.url; else show(body)
}
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

  app.get(`${DEMO_PREFIX}/link/:token`, { schema: { hide: true } }, html(shell('Magic link — Vestibule demo', `
<h1>Magic link</h1><p>Logging in at <code>POST /v1/auth/by-link/login/</code>…</p><pre id="out"></pre>
${script(`
const token = location.pathname.split('/').pop()
fetch('/t/' + tenant + '/v1/auth/by-link/login/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, client_key: ${JSON.stringify(opts.clientKey)} }) })
  .then(async (r) => show({ status: r.status, body: await r.json().catch(() => null) }))`)}`)))
}
