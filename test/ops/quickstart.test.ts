// The README's quickstart, end to end: `npm start` on the embedded defaults (PGlite, in-process jobs,
// mail to the outbox folder, the demo tenant and the local demo IdP), then a person's social login
// through the demo page and a magic-link login from the written mail.
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { freePort } from '../helpers/redis.ts'
import { Browser } from '../peers/browser.ts'

t.test('npm start serves the demo tenant; the demo login and a magic link work', async (t) => {
  const [port, idpPort] = [await freePort(), await freePort()]
  const base = `http://127.0.0.1:${port}`
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vst-quickstart-'))
  // Only the ports: the demo's URLs must follow them (PUBLIC_BASE_URL and DEMO_IDP_URL derived).
  const env: Record<string, string | undefined> = { ...process.env, PORT: String(port), DEMO_IDP_PORT: String(idpPort), DATA_DIR: dataDir, TENANTS_WATCH: '0' }
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'SMTP_URL', 'TENANTS_DIR', 'NODE_ENV', 'PUBLIC_BASE_URL', 'DEMO_IDP_URL']) delete env[k]
  const child = spawn('npm', ['start'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let out = ''
  child.stdout.on('data', (c) => { out += c })
  child.stderr.on('data', (c) => { out += c })
  t.teardown(() => { try { process.kill(-child.pid!, 'SIGTERM') } catch {} })
  // Up to 60 s: a cold tsx + PGlite start on a loaded 2-core machine can take a while (a bound, not an assertion).
  for (let i = 0; i < 600 && !out.includes('Vestibule listening'); i++) await new Promise((r) => setTimeout(r, 100))
  t.match(out, /demo identity provider running/)

  t.same(await (await fetch(`${base}/healthz`)).json(), { status: 'ok' })
  t.match(await (await fetch(`${base}/_vestibule/demo`)).text(), /Sign in with the demo provider/)

  // What the demo page's button does, then the person at the demo IdP, then the browser's redirects.
  const init = await (await fetch(`${base}/t/demo/oauth/init`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ provider: 'demo', language: 'en' }) })).json() as { state: string, url: string }
  const callback = `${base}/t/demo/oauth/callback/from/demo`
  const { redirect } = await new Browser().follow(init.url, callback, (fields) => ({ ...fields, account: 'demo-ada' }))
  const back = await fetch(redirect, { redirect: 'manual' })
  t.equal(back.status, 302)
  const confirmUrl = back.headers.get('location')!
  t.match(confirmUrl, new RegExp(`^${base}/_vestibule/demo/confirmed/[^/?#]+$`))
  t.equal((await fetch(confirmUrl)).status, 200, 'the demo confirmation page')
  const login = await fetch(`${base}/t/demo/oauth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ confirmation: confirmUrl.split('/').pop() }) })
  t.equal(login.status, 200)
  const body = await login.json() as { account: { email: string }, token: string }
  t.equal(body.account.email, 'ada@demo.vestibule.test')
  t.match(body.token, /^\S{20,}$/)

  // The demo page's Capture button: Social Login through the same demo IdP, back to the demo's token page.
  const start = `${base}/t/demo/social/demo/start?token_url=${encodeURIComponent(`${base}/_vestibule/demo/token`)}`
  // One browser throughout: the callback checks the cookie the start set in it (login CSRF protection).
  const browser = new Browser()
  const social = await browser.follow(start, `${base}/t/demo/social/demo/callback`, (fields) => ({ ...fields, account: 'demo-grace' }))
  const landing = await browser.request('GET', social.redirect)
  t.equal(landing.status, 302)
  const tokenPage = new URL(landing.headers.get('location')!)
  t.equal(`${tokenPage.origin}${tokenPage.pathname}`, `${base}/_vestibule/demo/token`)
  t.equal((await fetch(tokenPage)).status, 200, 'the demo token page')
  const info = await fetch(`${base}/t/demo/api/v2/auth_info`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ apiKey: 'demo-social-login-api-key', token: tokenPage.searchParams.get('token')! }) })
  t.match(await info.json(), { stat: 'ok', profile: { email: 'grace@demo.vestibule.test' } }, 'what the token page shows')

  // Magic link: without SMTP_URL the mail is written to DATA_DIR/outbox as an .eml file.
  const link = await fetch(`${base}/t/demo/v1/auth/by-link/link/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'newcomer@example.test' }) })
  t.equal(link.status, 200)
  let eml = ''
  // Up to 60 s for the in-process job to write it (a bound for a loaded machine, not an assertion).
  for (let i = 0; i < 600 && !eml; i++) {
    const files = (() => { try { return readdirSync(path.join(dataDir, 'outbox')).filter((f) => f.endsWith('.eml')) } catch { return [] } })()
    if (files.length) eml = readFileSync(path.join(dataDir, 'outbox', files[0]), 'utf8')
    else await new Promise((r) => setTimeout(r, 100))
  }
  // Quoted-printable, decoded: soft line breaks joined, every =XX escape turned back into its byte.
  const unfolded = eml.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
  const linkUrl = unfolded.match(new RegExp(`${base}/_vestibule/demo/link/([A-Za-z0-9_-]+)`))
  t.ok(linkUrl, 'the mail carries the demo link')
  t.ok(eml.split('\n').includes(linkUrl![0]), 'whole on one line of the file, as `cat` shows it')
  // The log line follows the file's rename and reaches us through a pipe: wait for it (a bound, not a timing assertion).
  for (let i = 0; i < 100 && !out.includes(`its link: ${linkUrl![0]}`); i++) await new Promise((r) => setTimeout(r, 100))
  t.ok(out.includes(`its link: ${linkUrl![0]}`), 'and the server log shows it (development)')
  t.equal((await fetch(linkUrl![0])).status, 200, 'the demo link page')
  const magic = await fetch(`${base}/t/demo/v1/auth/by-link/login/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: linkUrl![1], client_key: 'demo-client-key' }) })
  t.equal(magic.status, 200)
  t.equal(((await magic.json()) as { email: string }).email, 'newcomer@example.test')
})
