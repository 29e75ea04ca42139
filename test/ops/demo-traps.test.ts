// What tripped people trying the demo: the outbox mail's link broken by quoted-printable when read
// with `cat` (now written 8bit, and logged clickable outside production), five magic links and then 429
// for eleven minutes (the demo tenant allows 30 per 5 minutes), and a Capture Social Login with no page
// to land on (a Capture button and a real token page).
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { simpleParser } from 'mailparser'
import t from 'tap'
import { createMailTransport } from '../../workers/mail-transport.ts'
import { build, postJson } from '../helpers/build.ts'

const LINK = 'http://127.0.0.1:3000/_vestibule/demo/link/' + 'Ab0_-'.repeat(9)

function row (text: string): any {
  return { id: '42', tenant_id: 'demo', to_address: 'you@example.test', from_address: 'Vestibule demo <no-reply@demo.localhost>', subject: 'Votre lien de connexion à Vestibule', text_body: text, html_body: null }
}

t.test('the outbox .eml keeps the link whole, and the log shows it outside production', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vst-outbox-'))
  const logged: Array<{ o: any, m: string }> = []
  const transport = createMailTransport({ outboxDir: dir, log: { info: (o, m) => logged.push({ o, m }) }, logLinks: true })
  const text = `Bonjour,\n\nUtilisez ce lien pour vous connecter à Vestibule demo :\n\n${LINK}\n\nLe lien ne sert qu’une fois.\n`
  await transport.send(row(text))
  const eml = readFileSync(path.join(dir, 'demo-42.eml'), 'utf8')
  t.ok(eml.split('\n').includes(LINK), 'the link is one whole line of the file, as `cat` shows it')
  t.match(eml, /^Content-Transfer-Encoding: 8bit$/m)
  t.notMatch(eml.slice(eml.indexOf('\n\n')), /=\n/, 'no soft line breaks in the body')
  const parsed = await simpleParser(eml)
  t.equal(parsed.text, text, 'a mail reader gets the same text')
  t.equal(parsed.subject, 'Votre lien de connexion à Vestibule')
  t.match(logged, [{ o: { links: [LINK] }, m: `mail written to the local outbox (no SMTP_URL set); its link: ${LINK}` }])

  const quiet: string[] = []
  const production = createMailTransport({ outboxDir: dir, log: { info: (o, m) => quiet.push(JSON.stringify(o) + m) } })
  await production.send({ ...row(text), id: '43' })
  t.equal(quiet.length, 1)
  t.notOk(quiet[0].includes(LINK), 'no link in the log unless asked (server.ts: never in production)')
  transport.close(); production.close()
})

t.test('the demo tenant allows a person thirty links in five minutes', async (t) => {
  const { app, api } = await build(t, { tenantsDir: 'tenants' })
  t.same(app.router.get('demo')?.rateLimits?.link, { max: 30, timeWindow: '5 minutes' })
  for (let i = 1; i <= 8; i++) {
    t.equal((await api('/t/demo/v1/auth/by-link/link/', postJson({ email: i % 2 ? 'me@example.test' : `try${i}@example.test` }))).status, 200, `link request ${i}`)
  }
})

t.test('the demo page has a Capture Social Login button whose token URL is a real page', async (t) => {
  const { app, api } = await build(t, { tenantsDir: 'tenants', demoPages: true })
  const tokenUrl = (app.router.get('demo')!.dialects.capture as { tokenUrls: string[] }).tokenUrls[0]
  t.match(tokenUrl, /\/_vestibule\/demo\/token$/)
  const page = await (await api('/_vestibule/demo')).text()
  t.match(page, /<button id="capture">Sign in with Capture Social Login<\/button>/)
  t.ok(page.includes(`'/t/' + tenant + '/social/demo/start?token_url=' + encodeURIComponent(${JSON.stringify(tokenUrl)})`), 'it starts the hosted flow with the tenant\'s token URL')
  const landing = await api(`${new URL(tokenUrl).pathname}?token=${'a'.repeat(40)}`)
  t.equal(landing.status, 200, 'the token URL is a page')
  const html = await landing.text()
  t.match(html, /\/api\/v2\/auth_info/)
  t.match(html, /demo-social-login-api-key/, 'it trades the token with the demo client\'s API key')
  t.equal(readdirSync('tenants').filter((f) => f === 'demo.json').length, 1)
})
