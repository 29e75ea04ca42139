// Strings with a grammar are parsed when a tenant file loads: a bad one is refused with its JSON path by
// the loader, `tenants:check` and the server, and every value the schema accepts works at request time
// (a duration @fastify/rate-limit could not read used to pass validation and then answer 500).
import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { parseTenant } from '../../tenants/loader.ts'
import { grammarNames } from '../../tenants/grammar.ts'
import { tenantSchema } from '../../tenants/schema.ts'
import { build, postJson, tenantDoc } from '../helpers/build.ts'

const run = promisify(execFile)
const byLink = (id: string, extra: Record<string, unknown> = {}) =>
  tenantDoc(id, { clients: [{ id: `${id}-client` }], dialects: { 'by-link': { linkUrl: `https://${id}.test/l/{token}` } }, ...extra })
const errorsOf = (extra: Record<string, unknown>) => parseTenant('t.json', JSON.stringify(byLink('g', extra))).errors.map(({ path, message }) => ({ path, message }))

t.test('rateLimits.link.timeWindow "15 minutez" is refused with its path: loader, tenants:check, server', async (t) => {
  const doc = byLink('typo', { rateLimits: { link: { max: 5, timeWindow: '15 minutez' } } })
  t.same(parseTenant('typo.json', JSON.stringify(doc)).errors, [{
    file: 'typo.json', path: '/rateLimits/link/timeWindow',
    message: '"15 minutez" is not a duration; expected a duration such as `1 minute`, `15 minutes`, `30s`, `2 hours` or `1 day` (at most a year)'
  }])

  const dir = mkdtempSync(path.join(tmpdir(), 'vst-grammar-'))
  writeFileSync(path.join(dir, 'typo.json'), JSON.stringify(doc))
  const check = await run(process.execPath, ['--import', 'tsx', 'server.ts', 'tenants', 'check', dir]).catch((e) => e)
  t.equal(check.code, 1, 'tenants:check fails')
  t.match(check.stderr, `${path.join(dir, 'typo.json')}: /rateLimits/link/timeWindow: "15 minutez" is not a duration`)

  const { app, api } = await build(t, { tenantsDir: dir })
  t.match(app.tenantErrors, [{ path: '/rateLimits/link/timeWindow' }], 'the server refuses the file')
  t.equal((await api('/t/typo/v1/auth/by-link/link/', postJson({ email: 'a@b.test' }))).status, 404, 'and serves no half-working tenant')
})

t.test('every accepted duration works at request time', async (t) => {
  const windows: Array<[string | number, number]> = [
    ['1 minute', 60], ['15m', 900], ['30s', 30], ['2 hours', 7200], ['1 day', 86400], ['1.5 min', 90], ['10 MINUTES', 600], ['1 week', 604800], [45000, 45], ['90000', 90]
  ]
  const tenants = windows.map(([timeWindow], i) => byLink(`w${i}`, { rateLimits: { link: { max: 1, timeWindow } } }))
  for (const doc of tenants) t.same(parseTenant('x.json', JSON.stringify(doc)).errors, [], `${JSON.stringify((doc as any).rateLimits.link.timeWindow)} is accepted`)
  const { api } = await build(t, { tenants })
  for (const [i, [timeWindow, seconds]] of windows.entries()) {
    const link = () => api(`/t/w${i}/v1/auth/by-link/link/`, postJson({ email: `p${i}@x.test` }))
    t.equal((await link()).status, 200, `${JSON.stringify(timeWindow)}: first request served`)
    const over = await link()
    t.equal(over.status, 429, `${JSON.stringify(timeWindow)}: second request limited`)
    const retry = Number(over.headers.get('retry-after'))
    t.ok(retry > seconds - 5 && retry <= seconds, `${JSON.stringify(timeWindow)}: Retry-After ${retry} ≈ ${seconds}`)
  }
})

t.test('URLs, templates, addresses, names, hosts and locales are parsed at load', async (t) => {
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ dialects: { 'by-link': { linkUrl: 'https://x.test/login' } } }, '/dialects/by-link/linkUrl', /must contain \{token\}/],
    [{ dialects: { 'by-link': { linkUrl: 'https://x.test/{tokne}' } } }, '/dialects/by-link/linkUrl', /unknown placeholder \{tokne\}: the placeholders are `\{token\}`/],
    [{ dialects: { 'by-link': { linkUrl: 'htps://x.test/{token}' } } }, '/dialects/by-link/linkUrl', /must start with http:\/\/ or https:\/\//],
    [{ dialects: { 'by-link': { linkUrl: 'https://x.test/{token}' }, 'oauth-confirm': { confirmUrl: 'https://x.test/c/{confirmation}', errorUrl: 'login-error' } } }, '/dialects/oauth-confirm/errorUrl', /"login-error" is not a URL; expected an absolute http:\/\/ or https:\/\/ URL/],
    [{ email: { from: 'nobody' } }, '/email/from', /"nobody" has no valid address/],
    [{ email: { from: 'a@b.c', templates: { 'en-US': { subject: 'Hi', text: 'no link' } } } }, '/email/templates/en-US/text', /must contain \{link\}/],
    [{ email: { from: 'a@b.c', templates: { english: { subject: 'Hi', text: '{link}' } } } }, '/email/templates/english', /the key "english" is not a language tag/],
    [{ cors: { origins: ['https://acme.app/'] } }, '/cors/origins/0', /use https:\/\/acme\.app/],
    [{ hosts: ['acme.test:8080'] }, '/hosts/0', /not a host name \(no scheme, port or path here\)/],
    [{ locales: ['en_US'], defaultLocale: 'en_US' }, '/locales/0', /is not a language tag; expected a BCP 47 language tag/],
    [{ publicUrl: 'https://id.acme.app/' }, '/publicUrl', /must not end with a slash/],
    [{ clients: [{ id: 'c', redirectUris: ['https://a.test/cb#frag'] }] }, '/clients/0/redirectUris/0', /must not have a fragment/],
    [{ providers: { 'my github': { type: 'github', clientId: 'a', clientSecret: 'b' } } }, '/providers/my github', /the key "my github" is not a name/],
    [{ providers: { gh: { type: 'github', clientId: 'a', clientSecret: 'b', endpoints: { token: 'github.com/token' } } } }, '/providers/gh/endpoints/token', /is not a URL/]
  ]
  for (const [extra, where, message] of cases) {
    const errors = errorsOf(extra)
    t.match(errors, [{ path: where, message }], `${where}: ${JSON.stringify(errors)}`)
  }
  t.same(errorsOf({ clients: [{ id: 'c', redirectUris: ['com.acme.app:/oauth', 'http://127.0.0.1:1/cb'] }] }), [], 'app schemes and loopback redirect URIs are fine')
})

t.test('${VAR} values are checked after substitution', async (t) => {
  const doc = JSON.stringify(byLink('envy', { rateLimits: { link: { max: 1, timeWindow: '${WINDOW}' } } }))
  t.same(parseTenant('e.json', doc, { WINDOW: '5 minutes' }).errors, [])
  t.match(parseTenant('e.json', doc, { WINDOW: 'five minutes' }).errors, [{ path: '/rateLimits/link/timeWindow', message: /"five minutes" is not a duration/ }])
})

t.test('the tenant schema says grammars, not regexes', async (t) => {
  const patterns: string[] = []
  const grammars = new Set<string>()
  const walk = (s: any, at: string): void => {
    if (!s || typeof s !== 'object') return
    if (Array.isArray(s)) { s.forEach((x, i) => walk(x, `${at}/${i}`)); return }
    if (typeof s.pattern === 'string') patterns.push(at)
    if (typeof s.grammar === 'string') grammars.add(s.grammar)
    if (typeof s.keyGrammar === 'string') grammars.add(s.keyGrammar)
    for (const [k, v] of Object.entries(s)) walk(v, `${at}/${k}`)
  }
  walk(tenantSchema(), '')
  t.same(patterns, [], 'no raw pattern (its error would print the regex)')
  const known = new Set(grammarNames())
  t.same([...grammars].filter((g) => !known.has(g)), [], 'every grammar named is defined')
})
