// by-link over HTTP: magic links read from real mail (local SMTP peer), social login against the GitHub/Facebook peer.
import t from 'tap'
import http from 'node:http'
import { sql } from 'kysely'
import { build, postForm, postJson, tenantDoc, TEST_REDIS_URL } from '../helpers/build.ts'
import { startSmtpPeer } from '../peers/smtp-peer.ts'
import { startSocialPeer } from '../peers/social-peer.ts'
import { hashToken } from '../../plugins/crypto.ts'
import { requestBodyOf } from '../helpers/openapi.ts'

const REDIRECT = 'http://127.0.0.1:1/callback'
const LINK = 'https://frontend.app/auth/link/{token}'
const smtp = await startSmtpPeer()
const social = await startSocialPeer({ clients: [{ clientId: 'app', clientSecret: 'app-secret', redirectUris: [REDIRECT, 'http://127.0.0.1:1/other'] }] })
t.teardown(async () => { await smtp.close(); await social.close() })

const providers = {
  facebook: { type: 'facebook', allowPrivateNetwork: true, clientId: 'app', clientSecret: 'app-secret', endpoints: { authorize: social.facebook.authorize, token: social.facebook.token, userinfo: social.facebook.me } },
  github: { type: 'github', allowPrivateNetwork: true, clientId: 'app', clientSecret: 'app-secret', endpoints: { authorize: social.github.authorize, token: social.github.token, userinfo: social.github.user, emails: social.github.emails } }
}
const CLIENT = 'web-client-key-0123456789'
const doc = (id: string, byLink: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => tenantDoc(id, {
  locales: ['en-US', 'fr-FR'],
  providers,
  clients: [{ id: CLIENT, name: 'web', redirectUris: [REDIRECT] }, { id: 'any-redirect-client' }],
  dialects: { 'by-link': { linkUrl: LINK, ...byLink }, 'rest-social-auth': {} },
  rateLimits: { link: { max: 1000, timeWindow: '1 minute' } },
  email: { from: `Acme ${id} <no-reply@${id}.test>` },
  ...extra
})
const { api, app, url } = await build(t, {
  smtpUrl: smtp.url,
  tenants: [
    doc('bl'), doc('bl2'), doc('dbg', { debugLinks: true }),
    doc('tpl', {}, { email: { from: 'Tpl <no-reply@tpl.test>', templates: { 'en-US': { subject: 'Sign in to {tenant}', text: 'Go: {link}\n' } } } }),
    doc('rl', {}, { rateLimits: { link: { max: 3, timeWindow: '1 minute' } } })
  ]
})
const db = app.db.db

const linkReq = (email: string, tenant = 'bl', headers: Record<string, string> = {}) => api(`/t/${tenant}/v1/auth/by-link/link/`, postJson({ email }, headers))
const login = (token: string, tenant = 'bl', clientKey = CLIENT) => api(`/t/${tenant}/v1/auth/by-link/login/`, postJson({ token, client_key: clientKey }))
const ghCode = (user: string) => social.codeFor('github', { userKey: user, clientId: 'app', redirectUri: REDIRECT })
const fbCode = (user: string) => social.codeFor('facebook', { userKey: user, clientId: 'app', redirectUri: REDIRECT })

/** Asks for a link and reads it from the delivered mail. */
async function mailedToken (email: string, tenant = 'bl', headers: Record<string, string> = {}) {
  const r = await linkReq(email, tenant, headers)
  if (r.status !== 200) throw new Error(`link/ answered ${r.status}: ${await r.text()}`)
  const mail = await smtp.waitForMail(email, { timeoutMs: 10_000 })
  const m = /https:\/\/frontend\.app\/auth\/link\/([A-Za-z0-9_-]+)/.exec(mail.text)
  if (!m) throw new Error('no link in mail: ' + mail.text)
  return { token: m[1], mail, body: await r.json() as any }
}

/** POST from a chosen loopback source address, so rate limits see another client IP. */
function postFrom (localAddress: string, path: string, body: unknown): Promise<{ status: number, json: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url + path, { method: 'POST', localAddress, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c) => { text += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }))
    })
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
}

t.test('magic link: mail over SMTP, login creates the user, me/ and a second login find the same user', async (t) => {
  const { token, mail, body } = await mailedToken('New.User@example.test')
  t.same(body, { email: 'New.User@example.test' })
  t.same(mail.envelopeTo, ['New.User@example.test'], 'mailed to the address asked for')
  t.equal(mail.fromAddress, 'no-reply@bl.test')
  t.equal(mail.subject, 'Your login link for Acme bl')
  t.equal(mail.text.trim(), `Hello,\n\nUse this link to log in to Acme bl:\n\nhttps://frontend.app/auth/link/${token}\n\nThe link works once and expires in 10 minutes. If you did not ask for it, you can ignore this message.`)

  const r = await login(token)
  t.equal(r.status, 200)
  const user = await r.json() as any
  t.match(user, { token: /^[A-Za-z0-9_-]{43}$/, id: Number, email: 'New.User@example.test', first_name: '', last_name: '' })
  t.same(Object.keys(user).sort(), ['email', 'first_name', 'id', 'last_name', 'token', 'username'], 'the user serializer\'s fields next to token')
  t.equal(user.username, '')
  const row = await db.selectFrom('users').select('referral_code').where('id', '=', String(user.id)).executeTakeFirstOrThrow()
  t.match(row.referral_code, /^[0-9A-F]{16}$/, 'an account made by the one-statement magic-link login has its referral code too')

  const me = await api('/t/bl/v1/auth/me/', { headers: { authorization: `Token ${user.token}` } })
  t.same([me.status, await me.json()], [200, { id: user.id, username: '', email: 'New.User@example.test', first_name: '', last_name: '' }], 'the address mailed is the address that logs in')

  const second = await mailedToken('new.user@EXAMPLE.test')
  const r2 = await login(second.token)
  t.equal(r2.status, 200)
  t.equal((await r2.json() as any).id, user.id, 'the same account whatever the case of the address')
})

t.test('a token is single use: reuse → 400, and of parallel uses exactly one succeeds', async (t) => {
  const { token } = await mailedToken('once@example.test')
  t.equal((await login(token)).status, 200)
  const again = await login(token)
  t.same([again.status, await again.json()], [400, { token: ['Invalid or expired token.'] }])

  const second = await mailedToken('once@example.test')
  const results = await Promise.all(Array.from({ length: 8 }, () => login(second.token)))
  t.same(results.map((r) => r.status).sort(), [200, 400, 400, 400, 400, 400, 400, 400])
})

t.test('expired token → 400', async (t) => {
  const { token } = await mailedToken('late@example.test')
  await db.updateTable('one_time_tokens').set({ expires_at: sql`now() - interval '1 second'` }).where('token_hash', '=', hashToken(token)).execute()
  const r = await login(token)
  t.same([r.status, await r.json()], [400, { token: ['Invalid or expired token.'] }])
})

t.test('a token from another tenant → 400; wrong or missing client_key → 400 without burning the link', async (t) => {
  const { token } = await mailedToken('cross@example.test')
  let r = await login(token, 'bl2')
  t.same([r.status, await r.json()], [400, { token: ['Invalid or expired token.'] }], 'other tenant')
  r = await login(token, 'bl', 'not-a-client')
  t.same([r.status, await r.json()], [400, { client_key: ['Invalid client key.'] }])
  r = await login(token, 'bl2', CLIENT)
  t.equal(r.status, 400, 'still refused by the other tenant')
  r = await login(token)
  t.equal(r.status, 200, 'still valid for its own tenant and a right key')
  r = await api('/t/bl/v1/auth/by-link/login/', postJson({}))
  t.same([r.status, await r.json()], [400, { token: ['This field is required.'], client_key: ['This field is required.'] }])
})

t.test('link/ answers the same for known and unknown addresses, and writes token + mail together', async (t) => {
  const count = async () => Promise.all([
    db.selectFrom('one_time_tokens').select((eb) => eb.fn.countAll<string>().as('n')).where('tenant_id', '=', 'bl').executeTakeFirstOrThrow(),
    db.selectFrom('email_outbox').select((eb) => eb.fn.countAll<string>().as('n')).where('tenant_id', '=', 'bl').executeTakeFirstOrThrow()
  ]).then(([a, b]) => [Number(a.n), Number(b.n)])
  const before = await count()
  const unknown = await linkReq('nobody@example.test')
  const known = await linkReq('New.User@example.test')
  t.equal(unknown.status, 200)
  t.equal(known.status, 200)
  t.same(await unknown.json(), { email: 'nobody@example.test' })
  t.same(await known.json(), { email: 'New.User@example.test' })
  const after = await count()
  t.same([after[0] - before[0], after[1] - before[1]], [2, 2], 'one token and one outbox row per request')
  await smtp.waitForMail('nobody@example.test', { timeoutMs: 10_000 })
  await smtp.waitForMail('New.User@example.test', { timeoutMs: 10_000 })
})

t.test('locale: French from Accept-Language; tenant templates win', async (t) => {
  const fr = await mailedToken('fr@example.test', 'bl', { 'accept-language': 'fr-CA,fr;q=0.9,en;q=0.5' })
  t.equal(fr.mail.subject, 'Votre lien de connexion à Acme bl')
  t.match(fr.mail.text, /^Bonjour,/)
  const tpl = await mailedToken('tpl@example.test', 'tpl')
  t.equal(tpl.mail.subject, 'Sign in to Tpl')
  t.equal(tpl.mail.text.trim(), `Go: https://frontend.app/auth/link/${tpl.token}`)
})

t.test('_debug_auth_link only when the tenant turns debugLinks on', async (t) => {
  const { token, body } = await mailedToken('dbg@example.test', 'dbg')
  t.same(body, { email: 'dbg@example.test', _debug_auth_link: `https://frontend.app/auth/link/${token}` })
  const plain = await mailedToken('plain@example.test', 'bl')
  t.same(plain.body, { email: 'plain@example.test' }, 'absent by default')
})

t.test('rate limit on link/: per IP and per address, 429 in the DRF envelope', async (t) => {
  for (const e of ['a@rl.test', 'b@rl.test', 'c@rl.test']) t.equal((await linkReq(e, 'rl')).status, 200)
  const r = await linkReq('d@rl.test', 'rl')
  t.equal(r.status, 429, 'fourth request from one IP')
  t.match(String(r.headers.get('retry-after')), /^\d+$/)
  t.match(await r.json(), { detail: /^Request was throttled\. Expected available in \d+ seconds?\.$/ })
  t.same(Object.keys(await (await linkReq('d@rl.test', 'rl')).json() as object), ['detail'])

  const other = await postFrom('127.0.0.2', '/t/rl/v1/auth/by-link/link/', { email: 'fresh@rl.test' })
  t.same([other.status, other.json], [200, { email: 'fresh@rl.test' }], 'another IP is not throttled')
  const sameAddress = await postFrom('127.0.0.2', '/t/rl/v1/auth/by-link/link/', { email: 'A@rl.test' })
  t.equal(sameAddress.status, 200)
  const sameAddress2 = await postFrom('127.0.0.2', '/t/rl/v1/auth/by-link/link/', { email: 'a@rl.test' })
  t.equal(sameAddress2.status, 200)
  const flood = await postFrom('127.0.0.3', '/t/rl/v1/auth/by-link/link/', { email: 'a@rl.test' })
  t.equal(flood.status, 429, 'one address asked for from many IPs is throttled too')
  t.equal((await linkReq('x@rl.test', 'bl')).status, 200, 'limits are per tenant')
})

t.test('rate limit with the Redis store', async (t) => {
  const id = `rlr-${process.pid}-${Date.now().toString(36)}`
  const { api } = await build(t, { redisUrl: TEST_REDIS_URL, runWorkers: false, tenants: [doc(id, {}, { rateLimits: { link: { max: 2, timeWindow: '1 minute' } } })] })
  const send = (e: string) => api(`/t/${id}/v1/auth/by-link/link/`, postJson({ email: e }))
  t.equal((await send('a@rlr.test')).status, 200)
  t.equal((await send('b@rlr.test')).status, 200)
  const r = await send('c@rlr.test')
  t.equal(r.status, 429)
  t.match(await r.json(), { detail: /^Request was throttled/ })
})

t.test('pre-hijack: an unverified address typed into another account is taken by the person who proves it', async (t) => {
  // The attacker signs up through rest-social-auth with a provider account without email and types the victim's address.
  const a = await api('/t/bl2/social-auth', postJson({ provider: 'github', code: ghCode('carol'), redirect_uri: REDIRECT, email: 'victim@example.test' }))
  t.equal(a.status, 200)
  const attacker = await a.json() as any
  const attackerUser = await (await api('/t/bl2/user', { headers: { authorization: `Token ${attacker.token}` } })).json() as any
  t.match(attackerUser, { email: 'victim@example.test', email_verified: false })

  const { token } = await mailedToken('victim@example.test', 'bl2')
  const r = await login(token, 'bl2')
  t.equal(r.status, 200)
  const victim = await r.json() as any
  t.not(victim.id, attackerUser.id, 'the victim is not handed the attacker\'s account')
  t.equal(victim.email, 'victim@example.test')

  const again = await api('/t/bl2/social-auth', postJson({ provider: 'github', code: ghCode('carol'), redirect_uri: REDIRECT }))
  const attackerAgain = await again.json() as any
  t.same([again.status, attackerAgain.is_new], [200, false])
  const view = await (await api('/t/bl2/user', { headers: { authorization: `Token ${attackerAgain.token}` } })).json() as any
  t.same([view.id, view.email], [attackerUser.id, null], 'the attacker keeps only an account without the address')

  const second = await mailedToken('victim@example.test', 'bl2')
  t.equal((await (await login(second.token, 'bl2')).json() as any).id, victim.id, 'the proven account is the address\'s account from now on')
  const victimView = await (await api('/t/bl2/user', { headers: { authorization: `Token ${victim.token}` } })).json() as any
  t.match(victimView, { id: victim.id, email: 'victim@example.test', email_verified: true })
})

t.test('social login: body and URL variants, form or JSON', async (t) => {
  let r = await api('/t/bl/v1/auth/social/login/', postJson({ provider: 'github', code: ghCode('alice'), client_key: CLIENT, redirect_uri: REDIRECT }))
  t.equal(r.status, 200)
  const a = await r.json() as any
  t.match(a, { token: /^[A-Za-z0-9_-]{43}$/, id: Number, email: 'alice@example.test', first_name: 'Alice', last_name: 'Liddell' })
  r = await api('/t/bl/v1/auth/social/login/github/', postForm({ code: ghCode('alice'), client_key: CLIENT, redirect_uri: REDIRECT }))
  t.equal(r.status, 200)
  const b = await r.json() as any
  t.equal(b.id, a.id)
  t.not(b.token, a.token)
  r = await api('/t/bl/v1/auth/social/login/github', postJson({ code: ghCode('alice'), client_key: CLIENT, redirect_uri: REDIRECT }))
  t.equal(r.status, 200, 'trailing slash optional')

  const link = await mailedToken('alice@example.test')
  t.equal((await (await login(link.token)).json() as any).id, a.id, 'a magic link for a provider-verified address logs into that account')
})

t.test('social login errors', async (t) => {
  const body = (extra: Record<string, unknown>) => ({ provider: 'github', code: ghCode('alice'), client_key: CLIENT, redirect_uri: REDIRECT, ...extra })
  const cases: Array<[string, unknown, number, unknown]> = [
    ['/v1/auth/social/login/', body({ provider: 'myspace' }), 400, { provider: ['Invalid provider'] }],
    ['/v1/auth/social/login/myspace/', { code: 'x', client_key: CLIENT, redirect_uri: REDIRECT }, 404, { detail: 'Not found.' }], // upstream test_unknown_provider_session
    ['/v1/auth/social/login/', body({ client_key: 'nope' }), 400, { client_key: ['Invalid client key.'] }],
    ['/v1/auth/social/login/', body({ redirect_uri: 'http://127.0.0.1:1/other' }), 400, { redirect_uri: ['This redirect_uri is not allowed for this client.'] }],
    ['/v1/auth/social/login/', body({ code: 'bogus' }), 400, { non_field_errors: ['Invalid credentials.'] }],
    ['/v1/auth/social/login/', body({ code: ghCode('carol') }), 400, { non_field_errors: ['The provider did not give an email address.'] }],
    ['/v1/auth/social/login/', body({ provider: 'facebook', code: fbCode('alice') }), 400, { non_field_errors: ['This email address is already used by another account.'] }],
    ['/v1/auth/social/login/', {}, 400, 'Provider is not specified'], // upstream test_no_provider_session
    ['/v1/auth/social/login/', { provider: 'github' }, 400, { code: ['This field is required.'], client_key: ['This field is required.'] }],
    ['/v1/auth/social/login/github/', { code: 'a\u0000b', client_key: CLIENT, redirect_uri: REDIRECT }, 400, { code: ['Null characters are not allowed.'] }]
  ]
  for (const [path, b, status, expected] of cases) {
    const r = await api('/t/bl' + path, postJson(b))
    t.same([r.status, await r.json()], [status, expected], `${path} ${JSON.stringify(b).slice(0, 60)}`)
  }
  const ok = await api('/t/bl/v1/auth/social/login/', postJson({ provider: 'github', code: social.codeFor('github', { userKey: 'alice', clientId: 'app', redirectUri: 'http://127.0.0.1:1/other' }), client_key: 'any-redirect-client', redirect_uri: 'http://127.0.0.1:1/other' }))
  t.equal(ok.status, 200, 'a client without redirectUris leaves the check to the provider')
  // Upstream SocialTokenUserAuthView's TokenAuthentication runs before the view: a stale token is refused, none is fine.
  const stale = await api('/t/bl/v1/auth/social/login/', postJson(body({}), { authorization: 'Token revoked-or-unknown' }))
  t.same([stale.status, stale.headers.get('www-authenticate'), await stale.json()], [401, 'Token', { detail: 'Invalid token.' }])
  const stalePath = await api('/t/bl/v1/auth/social/login/github/', postJson({ code: ghCode('alice'), client_key: CLIENT, redirect_uri: REDIRECT }, { authorization: 'Token revoked-or-unknown' }))
  t.same([stalePath.status, await stalePath.json()], [401, { detail: 'Invalid token.' }])
  const live = await (await api('/t/bl/v1/auth/social/login/', postJson(body({})))).json() as any
  const withLive = await api('/t/bl/v1/auth/social/login/', postJson(body({}), { authorization: `Token ${live.token}` }))
  t.equal(withLive.status, 200, 'a valid token does not stand in the way')
})

t.test('me/ and logout/ with Authorization: Token', async (t) => {
  const { token } = await mailedToken('logout@example.test')
  const { token: auth } = await (await login(token)).json() as any
  const h = { authorization: `Token ${auth}` }
  let r = await api('/t/bl/v1/auth/me/')
  t.same([r.status, r.headers.get('www-authenticate'), await r.json()], [401, 'Token', { detail: 'Authentication credentials were not provided.' }])
  r = await api('/t/bl2/v1/auth/me/', { headers: h })
  t.same([r.status, await r.json()], [401, { detail: 'Invalid token.' }], 'bound to its tenant')
  r = await api('/t/bl/v1/auth/me', { headers: h })
  t.equal(r.status, 200)
  r = await api('/t/bl/v1/auth/logout/', { method: 'POST', headers: h })
  t.same([r.status, await r.json()], [200, { detail: 'Successfully logged out.' }])
  r = await api('/t/bl/v1/auth/me/', { headers: h })
  t.same([r.status, r.headers.get('www-authenticate'), await r.json()], [401, 'Token', { detail: 'Invalid token.' }], 'Token after logout → 401')
  r = await api('/t/bl/v1/auth/logout/', { method: 'POST', headers: h })
  t.same([r.status, await r.json()], [401, { detail: 'Invalid token.' }])
})

t.test('malformed input on link/ and login/: DRF errors, never a 500', async (t) => {
  const cases: Array<[RequestInit, number, unknown]> = [
    [postJson({}), 400, { email: ['This field is required.'] }],
    [postJson({ email: 'not-an-email' }), 400, { email: ['Enter a valid email address.'] }],
    [postJson({ email: 'a@b.test\r\nBcc: x@y.test' }), 400, { email: ['Enter a valid email address.'] }],
    [postJson({ email: 'a\u0000@b.test' }), 400, { email: ['Enter a valid email address.', 'Null characters are not allowed.'] }],
    [postJson({ email: ['a@b.test', 'c@d.test'] }), 400, { email: ['Not a valid string.'] }],
    [postJson({ email: `${'a'.repeat(250)}@b.test` }), 400, { email: ['Enter a valid email address.', 'Ensure this field has no more than 254 characters.'] }],
    [postJson('a@b.test'), 400, { non_field_errors: ['Invalid data. Expected a dictionary, but got str.'] }],
    [{ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email"' }, 400, { detail: 'JSON parse error - the body is not valid JSON.' }],
    [{ method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'email=a@b.test' }, 415, { detail: 'Unsupported media type "text/plain" in request.' }],
    [{ method: 'POST', headers: { 'content-type': 'application/json' }, body: '' }, 400, { email: ['This field is required.'] }]
  ]
  for (const [init, status, expected] of cases) {
    const r = await api('/t/bl/v1/auth/by-link/link/', init)
    t.same([r.status, await r.json()], [status, expected], String(init.body).slice(0, 60))
  }
  const form = await api('/t/bl/v1/auth/by-link/link/', postForm({ email: 'form@example.test' }))
  t.same([form.status, await form.json()], [200, { email: 'form@example.test' }], 'form body')
  await smtp.waitForMail('form@example.test', { timeoutMs: 10_000 })
  const r = await api('/t/bl/v1/auth/by-link/login/', postForm({ token: 'x\u0000', client_key: CLIENT }))
  t.same([r.status, await r.json()], [400, { token: ['Null characters are not allowed.'] }])
})

t.test('concurrent first logins of one address with two links create one user', async (t) => {
  const a = await mailedToken('race@example.test')
  const b = await mailedToken('race@example.test')
  const [x, y] = await Promise.all([login(a.token), login(b.token)])
  t.same([x.status, y.status], [200, 200])
  t.equal((await x.json() as any).id, (await y.json() as any).id)
})

t.test('every route is in the tenant OpenAPI document with its schemas', async (t) => {
  const d = await (await api('/t/bl/openapi.json')).json() as any
  const ops: Record<string, string> = {}
  for (const [p, item] of Object.entries<any>(d.paths)) for (const [m, op] of Object.entries<any>(item)) ops[`${m.toUpperCase()} ${p}`] = op.operationId
  t.match(ops, {
    'POST /v1/auth/by-link/link/': 'byLinkSendLink',
    'POST /v1/auth/by-link/login/': 'byLinkLogin',
    'POST /v1/auth/social/login/': 'byLinkSocialLogin',
    'POST /v1/auth/social/login/{provider}/': 'byLinkSocialLoginWithProvider',
    'GET /v1/auth/me/': 'byLinkMe',
    'POST /v1/auth/logout/': 'byLinkLogout'
  })
  const link = d.paths['/v1/auth/by-link/link/'].post
  t.same(link.tags, ['by-link'])
  t.same(Object.keys(requestBodyOf(d, link).content).sort(), ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'])
  t.same(Object.keys(link.responses).sort(), ['200', '400', '413', '415', '429'])
  t.same(Object.keys(d.paths['/v1/auth/social/login/'].post.responses).sort(), ['200', '400', '401', '404', '413', '415', '503'])
  t.same(d.paths['/v1/auth/me/'].get.security, [{ TokenAuth: [] }])
  t.ok(d.paths['/v1/auth/me/'].get.responses['401'])
})
