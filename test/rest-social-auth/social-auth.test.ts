// rest-social-auth over HTTP against the OAuth1 (signature-checking) and Facebook/GitHub-shaped peers.
import t from 'tap'
import { build, postForm, postJson, tenantDoc } from '../helpers/build.ts'
import { startHangingPeer } from '../peers/hanging-peer.ts'
import { startOAuth1Peer } from '../peers/oauth1-peer.ts'
import { startSocialPeer } from '../peers/social-peer.ts'
import { createProviderRegistry, type OAuth1Provider } from '../../plugins/providers/index.ts'
import { requestBodyOf } from '../helpers/openapi.ts'

const REDIRECT = 'http://127.0.0.1:1/callback'
const CALLBACK = 'http://127.0.0.1:1/twitter/callback'
const social = await startSocialPeer({ clients: [{ clientId: 'app', clientSecret: 'app-secret', redirectUris: [REDIRECT] }] })
const oauth1 = await startOAuth1Peer({ consumers: [{ key: 'ck', secret: 'cs' }] })
const hanging = await startHangingPeer()
t.teardown(async () => { await social.close(); await oauth1.close(); await hanging.close() })

const providers = {
  twitter: { type: 'twitter', allowPrivateNetwork: true, consumerKey: 'ck', consumerSecret: 'cs', endpoints: oauth1.endpoints },
  facebook: { type: 'facebook', allowPrivateNetwork: true, clientId: 'app', clientSecret: 'app-secret', endpoints: { authorize: social.facebook.authorize, token: social.facebook.token, userinfo: social.facebook.me } },
  github: { type: 'github', allowPrivateNetwork: true, clientId: 'app', clientSecret: 'app-secret', endpoints: { authorize: social.github.authorize, token: social.github.token, userinfo: social.github.user, emails: social.github.emails } },
  slow: { type: 'github', allowPrivateNetwork: true, clientId: 'app', clientSecret: 'app-secret', timeoutMs: 300, endpoints: { token: hanging.url + '/token', userinfo: hanging.url + '/user', emails: hanging.url + '/emails' } }
}
// The tenant has an OAuth1 provider, so it lists its OAuth1 callbacks (the loader refuses it otherwise).
const doc = (id: string, extra: Record<string, unknown> = {}) => tenantDoc(id, { providers, dialects: { 'rest-social-auth': { oauth1CallbackUrls: [CALLBACK] } }, ...extra })
const { api, app } = await build(t, { tenants: [doc('rsa'), doc('tw'), doc('other')] })
const db = app.db.db

const post = (body: unknown, tenant = 'rsa') => api(`/t/${tenant}/social-auth`, postJson(body))
const ghCode = (user: string) => social.codeFor('github', { userKey: user, clientId: 'app', redirectUri: REDIRECT })
const fbCode = (user: string) => social.codeFor('facebook', { userKey: user, clientId: 'app', redirectUri: REDIRECT })
const tokenHeader = (token: string) => ({ authorization: `Token ${token}` })
async function counts () {
  const users = await db.selectFrom('users').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
  const identities = await db.selectFrom('identities').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
  const sessions = await db.selectFrom('sessions').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
  return { users: Number(users.n), identities: Number(identities.n), sessions: Number(sessions.n) }
}
async function step1 (tenant = 'tw') {
  const r = await post({ provider: 'twitter', redirect_uri: CALLBACK }, tenant)
  const body = await r.json() as any
  return { status: r.status, body }
}

t.test('OAuth2 with a verified email: registers (is_new true), then logs in (is_new false); GET /user shows the user\'s own referral code', async (t) => {
  const first = await post({ provider: 'github', code: ghCode('alice'), redirect_uri: REDIRECT })
  t.equal(first.status, 200)
  const a = await first.json() as any
  t.match(a, { token: /^[A-Za-z0-9_-]{43}$/, is_new: true })
  t.same(Object.keys(a).sort(), ['is_new', 'token'])

  const again = await post({ provider: 'github', code: ghCode('alice'), redirect_uri: REDIRECT })
  t.equal(again.status, 200)
  const b = await again.json() as any
  t.match(b, { token: /^[A-Za-z0-9_-]{43}$/, is_new: false })
  t.not(b.token, a.token)

  const me = await api('/t/rsa/user', { headers: tokenHeader(b.token) })
  t.equal(me.status, 200)
  t.match(await me.json(), { id: Number, email: 'alice@example.test', email_verified: true, first_name: 'Alice', last_name: 'Liddell', referral_code: /^[0-9A-F]{16}$/ })
})

t.test('form bodies are accepted too', async (t) => {
  const r = await api('/t/rsa/social-auth', postForm({ provider: 'facebook', code: fbCode('alice'), redirect_uri: REDIRECT }))
  // facebook alice has the same address as github alice, and facebook never asserts verification: email in use
  t.equal(r.status, 400)
  t.same(await r.json(), { email: 'email_already_in_use' })
})

t.test('email already owned by another account: email_already_in_use and nothing written', async (t) => {
  const before = await counts()
  const r = await post({ provider: 'facebook', code: fbCode('alice'), redirect_uri: REDIRECT })
  t.equal(r.status, 400)
  t.same(await r.json(), { email: 'email_already_in_use' })
  t.same(await counts(), before, 'no user, identity or token written')
})

t.test('no email: no_email_provided, then success when the client supplies one', async (t) => {
  const before = await counts()
  const r = await post({ provider: 'github', code: ghCode('carol'), redirect_uri: REDIRECT })
  t.equal(r.status, 400)
  t.same(await r.json(), { email: 'no_email_provided' })
  t.same(await counts(), before, 'nothing written')

  const taken = await post({ provider: 'github', code: ghCode('carol'), redirect_uri: REDIRECT, email: 'ALICE@example.test' })
  t.equal(taken.status, 400)
  t.same(await taken.json(), { email: 'email_already_in_use' }, 'a supplied address that another account owns')

  const ok = await post({ provider: 'github', code: ghCode('carol'), redirect_uri: REDIRECT, email: 'carol@example.test' })
  t.equal(ok.status, 200)
  const body = await ok.json() as any
  t.match(body, { token: String, is_new: true })
  const me = await (await api('/t/rsa/user', { headers: tokenHeader(body.token) })).json()
  t.match(me, { email: 'carol@example.test', email_verified: false }, 'a typed-in address is never verified')
})

t.test('invalid provider, OAuth1-only provider fields on OAuth2, invalid code', async (t) => {
  let r = await post({ provider: 'myspace', code: 'x', redirect_uri: REDIRECT })
  t.equal(r.status, 400)
  t.same(await r.json(), { provider: ['Invalid provider'] })
  r = await post({ provider: 'github', code: 'bogus', redirect_uri: REDIRECT })
  t.equal(r.status, 400)
  t.same(await r.json(), { non_field_errors: 'invalid_credentials' })
  r = await post({ provider: 'github', code: ghCode('alice'), redirect_uri: 'http://127.0.0.1:1/elsewhere' })
  t.equal(r.status, 400)
  t.same(await r.json(), { non_field_errors: 'invalid_credentials' }, 'a code is bound to its redirect_uri')
  const code = ghCode('alice')
  t.equal((await post({ provider: 'github', code, redirect_uri: REDIRECT })).status, 200)
  r = await post({ provider: 'github', code, redirect_uri: REDIRECT })
  t.equal(r.status, 200, 'a used code within the hour: the cached provider answer (answer-cache.test.ts)')
})

t.test('provider unavailable (timeout) is 503, not invalid credentials', async (t) => {
  const r = await post({ provider: 'slow', code: 'abc', redirect_uri: REDIRECT })
  t.equal(r.status, 503)
  t.same(await r.json(), { detail: 'The authentication provider is unavailable. Try again later.' })
})

t.test('OAuth1 two-step against the signature-checking peer', async (t) => {
  const s1 = await step1()
  t.equal(s1.status, 200)
  t.match(s1.body, { oauth_token: String, oauth_token_secret: String, oauth_callback_confirmed: 'true' })
  t.same(Object.keys(s1.body).sort(), ['oauth_callback_confirmed', 'oauth_token', 'oauth_token_secret'])
  const { oauthToken, oauthVerifier, redirect } = await oauth1.authorize(s1.body.oauth_token, 'alice')
  t.ok(redirect.startsWith(CALLBACK + '?'), 'the client redirect_uri is the OAuth1 callback')
  const step2 = { provider: 'twitter', oauth_token: oauthToken, oauth_token_secret: s1.body.oauth_token_secret, oauth_verifier: oauthVerifier }

  const wrongSecret = await post({ ...step2, oauth_token_secret: 'not-it' }, 'tw')
  t.same([wrongSecret.status, await wrongSecret.json()], [400, { non_field_errors: 'invalid_credentials' }], 'wrong secret refused')
  const wrongTenant = await post(step2, 'other')
  t.same([wrongTenant.status, await wrongTenant.json()], [400, { non_field_errors: 'invalid_credentials' }], 'another tenant\'s request token refused')

  const r = await post(step2, 'tw')
  t.equal(r.status, 200, 'neither refusal burned the request token')
  const body = await r.json() as any
  t.match(body, { token: String, is_new: true })
})

t.test('OAuth1 step 2: replay and a request token this tenant never issued → invalid_credentials', async (t) => {
  const s1 = await step1()
  const a = await oauth1.authorize(s1.body.oauth_token, 'bob')
  const step2 = { provider: 'twitter', oauth_token: a.oauthToken, oauth_token_secret: s1.body.oauth_token_secret, oauth_verifier: a.oauthVerifier }
  const [x, y] = await Promise.all([post(step2, 'tw'), post(step2, 'tw')])
  t.ok([x.status, y.status].includes(200), 'of two parallel uses one signs in (the other may be refused or served from the answer cache)')
  const replay = await post(step2, 'tw')
  t.match([replay.status, await replay.json()], [200, { is_new: false }], 'a retry within the hour: the cached access token')

  // A request token obtained directly from the provider, not through step 1 of this tenant.
  const tw = createProviderRegistry({ twitter: providers.twitter as any }).get('twitter') as OAuth1Provider
  const rt = await tw.requestToken({ callbackUrl: CALLBACK })
  if (!rt.ok) throw new Error(rt.detail)
  const direct = await oauth1.authorize(rt.value.oauthToken, 'bob')
  const r = await post({ provider: 'twitter', oauth_token: direct.oauthToken, oauth_token_secret: rt.value.oauthTokenSecret, oauth_verifier: direct.oauthVerifier }, 'tw')
  t.same([r.status, await r.json()], [400, { non_field_errors: 'invalid_credentials' }])

  const s1b = await step1()
  const wrongProvider = await post({ provider: 'github', oauth_token: s1b.body.oauth_token, oauth_token_secret: s1b.body.oauth_token_secret, oauth_verifier: 'v' }, 'tw')
  t.same([wrongProvider.status, await wrongProvider.json()], [400, { code: ['This field is required.'], redirect_uri: ['This field is required.'] }], 'OAuth1 fields sent to an OAuth2 provider')
})

t.test('OAuth1 user without email: no_email_provided, then a fresh two-step with email succeeds', async (t) => {
  const s1 = await step1()
  const a = await oauth1.authorize(s1.body.oauth_token, 'carol')
  const r = await post({ provider: 'twitter', oauth_token: a.oauthToken, oauth_token_secret: s1.body.oauth_token_secret, oauth_verifier: a.oauthVerifier }, 'tw')
  t.same([r.status, await r.json()], [400, { email: 'no_email_provided' }])
  const s2 = await step1()
  const b = await oauth1.authorize(s2.body.oauth_token, 'carol')
  const ok = await api('/t/tw/social-auth', postForm({ provider: 'twitter', oauth_token: b.oauthToken, oauth_token_secret: s2.body.oauth_token_secret, oauth_verifier: b.oauthVerifier, email: 'carol.tw@example.test' }))
  t.equal(ok.status, 200)
  const body = await ok.json() as any
  t.match(body, { token: String, is_new: true })
  t.match(await (await api('/t/tw/user', { headers: tokenHeader(body.token) })).json(), { email: 'carol.tw@example.test', email_verified: false, referral_code: /^[0-9A-F]{16}$/ })
})

t.test('OAuth1 step 1 refuses a non-URL redirect_uri and an allow-list miss', async (t) => {
  let r = await post({ provider: 'twitter', redirect_uri: 'javascript:alert(1)' }, 'tw')
  t.same([r.status, await r.json()], [400, { redirect_uri: ['Enter a valid URL.'] }])
  r = await post({ provider: 'twitter' }, 'tw')
  t.equal(r.status, 200, 'only the provider: the configured callback')
  r = await post({ provider: 'twitter', redirect_uri: 'https://evil.example/cb' }, 'tw')
  t.same([r.status, await r.json()], [400, { redirect_uri: ['This redirect_uri is not allowed.'] }])
  r = await post({ provider: 'twitter', redirect_uri: CALLBACK }, 'tw')
  t.equal(r.status, 200)
})

t.test('malformed input: DRF field errors, never a 500', async (t) => {
  const cases: Array<[unknown, number, unknown]> = [
    [{ provider: 'github' }, 400, { code: ['This field is required.'], redirect_uri: ['This field is required.'] }],
    [{ provider: 'github', code: '', redirect_uri: REDIRECT }, 400, { code: ['This field is required.'] }],
    [{ provider: 'twitter', oauth_token: 'x' }, 400, { oauth_token_secret: ['This field is required.'], oauth_verifier: ['This field is required.'] }],
    [{ provider: 'github', code: 'a\u0000b', redirect_uri: REDIRECT }, 400, { code: ['Null characters are not allowed.'] }],
    [{ provider: { x: 1 }, code: ['a', 'b'] }, 400, { provider: ['Not a valid string.'], code: ['Not a valid string.'] }],
    [{ provider: 'github', code: 'x'.repeat(3000), redirect_uri: REDIRECT }, 400, { code: ['Ensure this field has no more than 2048 characters.'] }],
    [{ provider: 'github', code: 'x', redirect_uri: REDIRECT, email: 'not-an-email' }, 400, { email: ['Enter a valid email address.'] }],
    [[1, 2], 400, { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] }]
  ]
  for (const [body, status, expected] of cases) {
    const r = await post(body)
    t.equal(r.status, status, JSON.stringify(body).slice(0, 80))
    t.same(await r.json(), expected)
  }
  let r = await api('/t/rsa/social-auth', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '' })
  t.same([r.status, await r.text()], [400, ''], 'empty JSON body: no provider, a bare 400')
  r = await api('/t/rsa/social-auth', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"provider":' })
  t.same([r.status, await r.json()], [400, { detail: 'JSON parse error - the body is not valid JSON.' }])
  r = await api('/t/rsa/social-auth', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'provider=github' })
  t.same([r.status, await r.json()], [415, { detail: 'Unsupported media type "text/plain" in request.' }])
  r = await api('/t/rsa/social-auth', postForm({ provider: 'github', code: 'a\u0000b', redirect_uri: REDIRECT }))
  t.same([r.status, await r.json()], [400, { code: ['Null characters are not allowed.'] }], 'NUL in a form body')
  r = await api('/t/rsa/social-auth', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ provider: 'x'.repeat(70 * 1024) }) })
  t.same([r.status, await r.json()], [413, { detail: 'Request body is too large.' }])
})

t.test('GET/PATCH /user and POST /logout with Authorization: Token', async (t) => {
  const r = await post({ provider: 'github', code: ghCode('bob'), redirect_uri: REDIRECT })
  const { token } = await r.json() as any
  const h = tokenHeader(token)

  let res = await api('/t/rsa/user', { method: 'PATCH', headers: { ...h, 'content-type': 'application/json' }, body: JSON.stringify({ referral_code: 'LATE1', first_name: 'Bob', last_name: 'Builder' }) })
  t.equal(res.status, 200)
  const patched = await res.json() as any
  t.match(patched, { email: 'bob@example.test', email_verified: false, first_name: 'Bob', last_name: 'Builder', referral_code: /^[0-9A-F]{16}$/ })
  t.not(patched.referral_code, 'LATE1', 'referral_code is read-only (baseapp: the user\'s own code)')

  res = await api('/t/rsa/user', { method: 'PATCH', headers: { ...h, 'content-type': 'application/json' }, body: JSON.stringify({ email: 'alice@EXAMPLE.test' }) })
  t.same([res.status, await res.json()], [400, { email: ['user with this email already exists.'] }])
  res = await api('/t/rsa/user', { method: 'PATCH', headers: { ...h, 'content-type': 'application/x-www-form-urlencoded' }, body: 'email=bob.new%40example.test&first_name=' })
  t.equal(res.status, 200)
  t.match(await res.json(), { email: 'bob.new@example.test', email_verified: false, first_name: '' })

  res = await api('/t/rsa/user')
  t.same([res.status, res.headers.get('www-authenticate'), await res.json()], [401, 'Token', { detail: 'Authentication credentials were not provided.' }])
  res = await api('/t/rsa/user', { headers: { authorization: `Bearer ${token}` } })
  t.same([res.status, await res.json()], [401, { detail: 'Authentication credentials were not provided.' }], 'another scheme')
  res = await api('/t/rsa/user', { headers: { authorization: 'Token' } })
  t.same([res.status, await res.json()], [401, { detail: 'Invalid token header. No credentials provided.' }])
  res = await api('/t/rsa/user', { headers: { authorization: 'Token nope' } })
  t.same([res.status, res.headers.get('www-authenticate'), await res.json()], [401, 'Token', { detail: 'Invalid token.' }])
  res = await api('/t/other/user', { headers: h })
  t.same([res.status, await res.json()], [401, { detail: 'Invalid token.' }], 'a token is bound to its tenant')
  res = await api('/t/rsa/user', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{bad' })
  t.same([res.status, await res.json()], [401, { detail: 'Authentication credentials were not provided.' }], 'authentication before the body is read')

  res = await api('/t/rsa/logout', { method: 'POST', headers: h })
  t.same([res.status, await res.json()], [200, { detail: 'Successfully logged out.' }])
  res = await api('/t/rsa/user', { headers: h })
  t.same([res.status, res.headers.get('www-authenticate'), await res.json()], [401, 'Token', { detail: 'Invalid token.' }], 'token revoked by logout')
  res = await api('/t/rsa/logout', { method: 'POST', headers: h })
  t.same([res.status, await res.json()], [401, { detail: 'Invalid token.' }])
})

t.test('concurrent first logins of one identity create one user', async (t) => {
  const before = await counts()
  const codes = [fbCode('carol'), fbCode('carol'), fbCode('carol')]
  const res = await Promise.all(codes.map((code) => post({ provider: 'facebook', code, redirect_uri: REDIRECT, email: 'carol.fb@example.test' })))
  const bodies = await Promise.all(res.map((r) => r.json() as Promise<any>))
  t.same(res.map((r) => r.status), [200, 200, 200])
  t.same(bodies.map((b) => b.is_new).sort(), [false, false, true])
  const after = await counts()
  t.equal(after.users - before.users, 1)
  t.equal(after.identities - before.identities, 1)
})

t.test('every route is in the tenant OpenAPI document with its schemas', async (t) => {
  const doc = await (await api('/t/rsa/openapi.json')).json() as any
  t.same(Object.keys(doc.paths).sort(), ['/logout', '/social-auth', '/user'])
  const sa = doc.paths['/social-auth'].post
  t.equal(sa.operationId, 'restSocialAuthSocialAuth')
  t.same(sa.tags, ['rest-social-auth'])
  t.same(Object.keys(requestBodyOf(doc, sa).content).sort(), ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'])
  t.same(Object.keys(requestBodyOf(doc, sa).content['application/json'].schema.properties), ['provider', 'code', 'redirect_uri', 'oauth_token', 'oauth_token_secret', 'oauth_verifier', 'email', 'referral_code'])
  t.ok(sa.responses['400'] && sa.responses['503'] && sa.responses['415'])
  t.equal(doc.paths['/user'].get.operationId, 'restSocialAuthGetUser')
  t.same(doc.paths['/user'].get.security, [{ TokenAuth: [] }])
  t.equal(doc.paths['/user'].patch.operationId, 'restSocialAuthUpdateUser')
  t.ok(doc.paths['/user'].patch.responses['401'])
  t.equal(doc.paths['/logout'].post.operationId, 'restSocialAuthLogout')
  t.match(doc.components.securitySchemes.TokenAuth, { type: 'apiKey', in: 'header', name: 'Authorization', description: /^The word `Token`, a space, then the token a login returned: `Authorization: Token <token>`/ })
  t.match(doc.components.securitySchemes.TokenAuth.description, 'auth: () => `Token ${token}`', 'the description shows the generated clients\' auth line')
})

t.test('no provider at all is a bare 400 with an empty body, before any field check (baseapp views.py respond_error)', async (t) => {
  for (const body of [{}, { provider: '' }, { provider: null }, { code: 'x', email: 'not-an-email' }]) {
    const r = await post(body)
    t.same([r.status, await r.text(), r.headers.get('content-type')], [400, '', null], JSON.stringify(body))
  }
  let r = await api('/t/rsa/social-auth', postForm({ code: 'x' }))
  t.same([r.status, await r.text()], [400, ''], 'form body')
  r = await api('/t/rsa/social-auth', { method: 'POST' })
  t.same([r.status, await r.text()], [400, ''], 'no body')
  r = await post({ provider: '  ' })
  t.same([r.status, await r.json()], [400, { provider: ['Invalid provider'] }], 'blank but present: upstream finds no such backend')
})

t.test('a blocked account: the returning sign-in (the one-statement path) is refused as DRF answers an inactive user, nothing issued', async (t) => {
  const first = await post({ provider: 'github', code: ghCode('alice'), redirect_uri: REDIRECT }, 'other')
  t.equal(first.status, 200)
  await db.updateTable('users').set({ disabled_at: new Date() }).where('tenant_id', '=', 'other').where('email', '=', 'alice@example.test').execute()
  const before = await counts()
  const r = await post({ provider: 'github', code: ghCode('alice'), redirect_uri: REDIRECT }, 'other')
  t.same([r.status, await r.json()], [403, { detail: 'User inactive or deleted.' }])
  t.same(await counts(), before, 'no session, no account')
  const events = await db.selectFrom('audit_events').select(['type', 'data']).where('tenant_id', '=', 'other').orderBy('id', 'desc').limit(1).execute()
  t.same(events, [{ type: 'login-failed', data: { method: 'social', reason: 'blocked' } }])
})
