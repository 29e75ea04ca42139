// oauth-confirm: the browser round trip init → peer login page → callback → frontend redirect → login, over HTTP.
import t from 'tap'
import { openTokenRow } from '../../plugins/identity/tokens.ts'
import { verifySignedSession } from '../../plugins/identity/index.ts'
import { build, postJson } from '../helpers/build.ts'
import { requestBodyOf } from '../helpers/openapi.ts'
import {
  buildWith, callbackUrl, client, CONFIRM, confirmTenant, count, ERROR_URL, jsonInit, publicUrl, roundTrip, signIn, startPeers, STATE
} from './helpers.ts'

const peers = await startPeers()
t.teardown(() => peers.close())

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

t.test('full round trip with GitHub: sign-up, then log-in', async (t) => {
  const c = await buildWith(t, [confirmTenant('acme', peers)])
  const { state, url, redirect, res, location } = await roundTrip(c, peers, 'github', 'alice', 'fr')
  t.match(state, STATE)
  const authorize = new URL(url)
  t.equal(authorize.origin + authorize.pathname, peers.social.github.authorize, 'the URL is the provider\'s authorize endpoint')
  t.equal(authorize.searchParams.get('state'), state)
  t.equal(authorize.searchParams.get('redirect_uri'), callbackUrl('acme', 'github'), 'Vestibule\'s own callback URL')
  t.equal(authorize.searchParams.get('code_challenge_method'), 'S256')
  t.match(authorize.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/)
  t.ok(redirect.startsWith(callbackUrl('acme', 'github') + '?'), 'the peer sent the browser to our callback')

  t.equal(res.status, 302)
  t.equal(res.text, '')
  t.match(location, CONFIRM, 'redirect to confirmUrl with a confirmation')
  const confirmation = CONFIRM.exec(location)![1]

  const login = await c.login(confirmation)
  t.equal(login.status, 200)
  const body = login.json()
  t.match(body, { account: { id: UUID, createdAt: ISO }, token: /^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/ })
  t.same(Object.keys(body).sort(), ['account', 'people', 'signup', 'token'], 'freesewing\'s answer')
  t.match(body, { people: {}, signup: true })
  t.match(body, {
    account: {
      id: body.account.id,
      username: 'alice',
      email: 'alice@example.test',
      emailVerified: true,
      language: 'fr',
      name: 'Alice Liddell',
      givenName: 'Alice',
      familyName: 'Liddell',
      picture: 'http://127.0.0.1/gh/1001.png',
      provider: 'github',
      isNew: true,
      createdAt: body.account.createdAt
    },
    token: body.token
  })
  const session = await verifySignedSession(c.built.app.db.db, 'acme', ['oauth-confirm'], body.token, { issuer: publicUrl('acme') })
  t.equal(session?.user.uuid, body.account.id, 'the token is a live session of that account')

  // Log-in: same account, language chosen at sign-up kept even though this init says en.
  const again = await signIn(c, peers, 'github', 'alice', 'en')
  t.same({ ...again.body.account, time: null, updatedAt: null }, { ...body.account, isNew: false, time: null, updatedAt: null })
  t.equal(again.body.signup, false)
  t.not(again.body.token, body.token)
  t.equal(await count(c.built.app.db.db, 'users', 'acme'), 1)
})

t.test('Google (OIDC): nonce in the URL and checked in the id_token; language codes', async (t) => {
  const c = await buildWith(t, [confirmTenant('acme', peers)])
  const { url } = await c.init('google', 'FR-fr')
  const u = new URL(url)
  t.match(u.searchParams.get('nonce'), /^[A-Za-z0-9_-]{22}$/)
  t.equal(u.searchParams.get('code_challenge_method'), 'S256')
  const { body } = await signIn(c, peers, 'google', 'alice', 'fr-FR')
  t.match(body.account, { username: 'alice', email: 'alice@example.test', emailVerified: true, language: 'fr-FR', provider: 'google', isNew: true })

  const { body: carol } = await signIn(c, peers, 'google', 'carol', 'EN')
  t.match(carol.account, { email: null, emailVerified: false, language: 'en', isNew: true }, 'configured spelling is stored; no email is fine')

  const github = new URL((await c.init('github', 'en-US')).url)
  t.equal(github.searchParams.get('nonce'), null, 'no nonce for GitHub')
})

t.test('unknown provider or language, OAuth1 provider, bad bodies → bare 400', async (t) => {
  const c = await buildWith(t, [confirmTenant('acme', peers)])
  const bad: Array<[string, { method: string, headers: Record<string, string>, body: string }]> = [
    ['unknown provider', jsonInit({ provider: 'myspace', language: 'fr' })],
    ['unknown language', jsonInit({ provider: 'github', language: 'de' })],
    ['an OAuth 1.0a provider', jsonInit({ provider: 'twitter', language: 'fr' })],
    ['missing language', jsonInit({ provider: 'github' })],
    ['NUL byte', jsonInit({ provider: 'git\u0000hub', language: 'fr' })],
    ['malformed JSON', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"provider":' }],
    ['text/plain', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'provider=github' }],
    ['not an object', jsonInit(['github', 'fr'])]
  ]
  for (const [name, init] of bad) {
    const res = await c.call(`${publicUrl('acme')}/oauth/init`, init)
    t.equal(res.status, 400, name)
    t.equal(res.text, '', `${name}: empty body`)
  }
  t.equal(await count(c.built.app.db.db, 'one_time_tokens', 'acme'), 0, 'no state stored')

  const form = await c.call(`${publicUrl('acme')}/oauth/init`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'provider=github&language=fr' })
  t.equal(form.status, 200, 'form bodies work too')
  t.match(form.json(), { state: STATE })
})

t.test('the state is stored hashed, bound to provider, language and PKCE verifier', async (t) => {
  const c = await buildWith(t, [confirmTenant('acme', peers)])
  const { state } = await c.init('google', 'fr')
  const rows = await c.built.app.db.db.selectFrom('one_time_tokens').selectAll().where('tenant_id', '=', 'acme').execute()
  t.equal(rows.length, 1)
  t.not(rows[0].token_hash, state)
  t.notOk(JSON.stringify(rows).includes(state), 'the state appears nowhere in plain text')
  t.match(rows[0].data, { sealed: /^vst1\./ }, 'the data is sealed at rest')
  t.match(openTokenRow(rows[0]).data, { provider: 'google', language: 'fr', codeVerifier: /^[A-Za-z0-9_-]{43}$/, nonce: /^[A-Za-z0-9_-]{22}$/ })
  const ttl = (new Date(rows[0].expires_at).getTime() - new Date(rows[0].created_at).getTime()) / 1000
  t.equal(Math.round(ttl), 600, 'stateTtlSeconds default')
})

t.test('state reused → refused, and nothing more is issued', async (t) => {
  const c = await buildWith(t, [confirmTenant('acme', peers)])
  const first = await roundTrip(c, peers, 'github', 'alice')
  t.match(first.location, CONFIRM)
  const tokens = await count(c.built.app.db.db, 'one_time_tokens', 'acme')
  const replay = await c.call(first.redirect)
  t.equal(replay.status, 302)
  t.equal(replay.headers.location, `${ERROR_URL}?error=invalid_state`)
  // A fresh code with the used state must not work either.
  const code = peers.social.codeFor('github', { userKey: 'bob', clientId: 'social-client', redirectUri: callbackUrl('acme', 'github') })
  const fresh = await c.call(`${callbackUrl('acme', 'github')}?code=${code}&state=${first.state}`)
  t.equal(fresh.headers.location, `${ERROR_URL}?error=invalid_state`)
  t.equal(await count(c.built.app.db.db, 'one_time_tokens', 'acme'), tokens, 'no new confirmation')
  t.equal(await count(c.built.app.db.db, 'users', 'acme'), 1, 'bob was not created')
})

t.test('concurrent callbacks with one state: exactly one confirmation', async (t) => {
  const c = await buildWith(t, [confirmTenant('acme', peers)])
  const { state } = await c.init('github', 'fr')
  const codes = [0, 1, 2, 3].map(() => peers.social.codeFor('github', { userKey: 'alice', clientId: 'social-client', redirectUri: callbackUrl('acme', 'github') }))
  const results = await Promise.all(codes.map((code) => c.call(`${callbackUrl('acme', 'github')}?code=${code}&state=${state}`)))
  const locations = results.map((r) => String(r.headers.location))
  t.equal(locations.filter((l) => CONFIRM.test(l)).length, 1)
  t.equal(locations.filter((l) => l === `${ERROR_URL}?error=invalid_state`).length, 3)
})

t.test('a state issued for another provider is refused', async (t) => {
  const c = await buildWith(t, [confirmTenant('acme', peers)])
  const { state, url } = await c.init('github', 'fr')
  const { code } = await peers.social.authorize(url, 'alice')
  // Same state at the Facebook and Google callbacks: refused, and the state is spent.
  const other = await c.call(`${callbackUrl('acme', 'facebook')}?code=${code}&state=${state}`)
  t.equal(other.status, 302)
  t.equal(other.headers.location, `${ERROR_URL}?error=invalid_state`)
  const back = await c.call(`${callbackUrl('acme', 'github')}?code=${code}&state=${state}`)
  t.equal(back.headers.location, `${ERROR_URL}?error=invalid_state`, 'a state is single use even when refused')
  t.equal(await count(c.built.app.db.db, 'users', 'acme'), 0)
})

t.test('a state issued by another tenant is refused', async (t) => {
  const c = await buildWith(t, [confirmTenant('acme', peers), confirmTenant('beta', peers)])
  const { state, url } = await c.init('github', 'fr', 'acme')
  const { code } = await peers.social.authorize(url, 'alice')
  const res = await c.call(`${callbackUrl('beta', 'github')}?code=${code}&state=${state}`)
  t.equal(res.status, 302)
  t.equal(res.headers.location, `${ERROR_URL}?error=invalid_state`)
  t.equal(await count(c.built.app.db.db, 'users', 'beta'), 0)
  t.equal(await count(c.built.app.db.db, 'users', 'acme'), 0)
})

t.test('an expired state is refused', async (t) => {
  const c = await buildWith(t, [confirmTenant('acme', peers)])
  const { state, url } = await c.init('github', 'fr')
  const { code } = await peers.social.authorize(url, 'alice')
  // Time passes: the state's expiry is moved into the past rather than waiting stateTtlSeconds.
  await c.built.app.db.db.updateTable('one_time_tokens').set({ expires_at: new Date(Date.now() - 1000) }).where('tenant_id', '=', 'acme').execute()
  const res = await c.call(`${callbackUrl('acme', 'github')}?code=${code}&state=${state}`)
  t.equal(res.headers.location, `${ERROR_URL}?error=invalid_state`)
  t.equal(await count(c.built.app.db.db, 'users', 'acme'), 0)
})

t.test('callback failures redirect only to errorUrl, with a code', async (t) => {
  const c = await buildWith(t, [confirmTenant('acme', peers)])
  const cb = callbackUrl('acme', 'github')
  const expectError = async (name: string, url: string, error: string) => {
    const res = await c.call(url)
    t.equal(res.status, 302, name)
    t.equal(res.headers.location, `${ERROR_URL}?error=${error}`, name)
  }
  await expectError('no state', `${cb}?code=abc`, 'invalid_request')
  await expectError('unknown state', `${cb}?code=abc&state=${'0'.repeat(24)}`, 'invalid_state')
  await expectError('NUL in the query', `${cb}?code=a%00b&state=x`, 'invalid_request')
  await expectError('the user refused', `${cb}?error=access_denied&state=${(await c.init('github', 'fr')).state}`, 'access_denied')
  await expectError('no code', `${cb}?state=${(await c.init('github', 'fr')).state}`, 'invalid_request')
  await expectError('a code the provider refuses', `${cb}?code=bogus&state=${(await c.init('github', 'fr')).state}`, 'invalid_credentials')
  // A code minted for another PKCE challenge (an injected code) fails at the exchange.
  const injected = peers.social.codeFor('github', { userKey: 'bob', clientId: 'social-client', redirectUri: cb, codeChallenge: 'x'.repeat(43) })
  await expectError('an injected code', `${cb}?code=${injected}&state=${(await c.init('github', 'fr')).state}`, 'invalid_credentials')
  await expectError('provider down', `${callbackUrl('acme', 'github-down')}?code=abc&state=${(await c.init('github-down', 'fr')).state}`, 'provider_unavailable')
  await expectError('unknown provider in the path', `${callbackUrl('acme', 'nope')}?code=abc&state=${(await c.init('github', 'fr')).state}`, 'invalid_state')
  t.equal(await count(c.built.app.db.db, 'users', 'acme'), 0)

  // Parameters that look like redirect targets are ignored: the destination is only ever configured.
  const { state, url } = await c.init('github', 'fr')
  const { code } = await peers.social.authorize(url, 'alice')
  const res = await c.call(`${cb}?code=${code}&state=${state}&redirect_uri=https://evil.test/&next=https://evil.test/&confirmUrl=https://evil.test/{confirmation}`)
  t.match(res.headers.location, CONFIRM)
})

t.test('email in use: error redirect, nothing written', async (t) => {
  const c = await buildWith(t, [confirmTenant('acme', peers)])
  await signIn(c, peers, 'github', 'alice')
  const before = await count(c.built.app.db.db, 'one_time_tokens', 'acme')
  // Facebook's alice asserts the same address (unverified): linking is `reject` by default.
  const { res } = await roundTrip(c, peers, 'facebook', 'alice')
  t.equal(res.headers.location, `${ERROR_URL}?error=email_in_use`)
  t.equal(await count(c.built.app.db.db, 'users', 'acme'), 1)
  t.equal(await count(c.built.app.db.db, 'identities', 'acme'), 1)
  t.equal(await count(c.built.app.db.db, 'one_time_tokens', 'acme'), before + 1, 'only the spent state: no confirmation')
})

t.test('verified-email linking: the same person through two providers is one account', async (t) => {
  const c = await buildWith(t, [confirmTenant('acme', peers, undefined, { linking: 'verified-email' })])
  const gh = await signIn(c, peers, 'github', 'alice')
  const g = await signIn(c, peers, 'google', 'alice', 'en')
  t.equal(g.body.account.id, gh.body.account.id, 'Google\'s verified alice@example.test links to the GitHub account')
  t.equal(g.body.account.isNew, false)
  t.equal(await count(c.built.app.db.db, 'identities', 'acme'), 2)
})

t.test('without errorUrl failures are a bare 400 (503 when the provider is down)', async (t) => {
  const c = await buildWith(t, [confirmTenant('acme', peers, { confirmUrl: 'https://app.acme.test/login/callback/{confirmation}' })])
  const res = await c.call(`${callbackUrl('acme', 'github')}?code=abc&state=${'0'.repeat(24)}`)
  t.equal(res.status, 400)
  t.equal(res.text, '')
  t.equal(res.headers.location, undefined)
  const down = await c.call(`${callbackUrl('acme', 'github-down')}?code=abc&state=${(await c.init('github-down', 'fr')).state}`)
  t.equal(down.status, 503)
  t.equal(down.text, '')
  const ok = await roundTrip(c, peers, 'github', 'alice')
  t.match(ok.location, CONFIRM)
})

t.test('confirmations: single use, a replay revokes the token, expiry, races', async (t) => {
  const c = await buildWith(t, [confirmTenant('acme', peers)])
  const db = c.built.app.db.db
  const { confirmation, body } = await signIn(c, peers, 'github', 'alice')
  t.ok(await verifySignedSession(db, 'acme', ['oauth-confirm'], body.token, { issuer: publicUrl('acme') }), 'token live')
  const replay = await c.login(confirmation)
  t.equal(replay.status, 401)
  t.equal(replay.text, 'Unauthorized')
  t.equal(await verifySignedSession(db, 'acme', ['oauth-confirm'], body.token, { issuer: publicUrl('acme') }), undefined, 'the replay revoked the token the confirmation issued')

  t.equal((await c.login('0'.repeat(32))).status, 401, 'unknown')
  for (const [name, init] of [
    ['malformed', jsonInit({ confirmation: '0'.repeat(24) })],
    ['missing', jsonInit({})],
    ['NUL', jsonInit({ confirmation: 'ab\u0000' })],
    ['malformed JSON', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }]
  ] as const) {
    const res = await c.call(`${publicUrl('acme')}/oauth/login`, init)
    t.equal(res.status, 400, name)
    t.equal(res.text, 'Bad Request', name)
  }

  const { location } = await roundTrip(c, peers, 'github', 'alice')
  const expired = CONFIRM.exec(location)![1]
  await db.updateTable('one_time_tokens').set({ expires_at: new Date(Date.now() - 1000) }).where('tenant_id', '=', 'acme').where('consumed_at', 'is', null).execute()
  t.equal((await c.login(expired)).status, 401, 'expired')

  const race = CONFIRM.exec((await roundTrip(c, peers, 'github', 'alice')).location)![1]
  const results = await Promise.all([0, 1, 2, 3].map(() => c.login(race)))
  t.equal(results.filter((r) => r.status === 200).length, 1, 'exactly one login wins')
})

t.test('a confirmation of one tenant does not log in at another', async (t) => {
  const c = await buildWith(t, [confirmTenant('acme', peers), confirmTenant('beta', peers)])
  const { location } = await roundTrip(c, peers, 'github', 'alice', 'fr', 'acme')
  const confirmation = CONFIRM.exec(location)![1]
  const res = await c.login(confirmation, 'beta')
  t.equal(res.status, 401)
  t.equal((await c.login(confirmation, 'acme')).status, 200, 'control: still good at home')
})

t.test('served under /t/<id>: the callback URL follows the tenant\'s public URL', async (t) => {
  const built = await build(t, { tenants: [confirmTenant('gamma', peers, undefined, { hosts: [], publicUrl: undefined })] })
  const cb = `${built.url}/t/gamma/oauth/callback/from/github`
  peers.social.clients[0].redirectUris.push(cb)
  t.teardown(() => { peers.social.clients[0].redirectUris.splice(peers.social.clients[0].redirectUris.indexOf(cb), 1) })
  const init = await built.api('/t/gamma/oauth/init', postJson({ provider: 'github', language: 'en' }))
  const { url } = await init.json() as any
  t.equal(new URL(url).searchParams.get('redirect_uri'), cb)
  const { redirect } = await peers.social.authorize(url, 'carol')
  const res = await fetch(redirect, { redirect: 'manual' })
  t.equal(res.status, 302)
  const m = CONFIRM.exec(res.headers.get('location') ?? '')
  t.ok(m)
  const login = await built.api('/t/gamma/oauth/login', postJson({ confirmation: m![1] }))
  t.equal(login.status, 200)
  t.match(await login.json(), { account: { username: 'carol', email: null, language: 'en', isNew: true } })
  t.same(client(built).built.url, built.url)
})

t.test('OpenAPI: operations and bare 400s', async (t) => {
  const c = await buildWith(t, [confirmTenant('acme', peers)])
  const doc = (await c.call(`${publicUrl('acme')}/openapi.json`)).json()
  const init = doc.paths['/oauth/init'].post
  t.equal(init.operationId, 'oauthConfirmInit')
  t.same(init.tags, ['oauth-confirm'])
  t.same(Object.keys(requestBodyOf(doc, init).content).sort(), ['application/json', 'application/x-www-form-urlencoded'])
  t.same(init.responses['400'], { description: 'Unknown provider or language, or a malformed body (empty body).' }, '400 with no content')
  // Named schemas are published as components.
  const schemaOf = (s: any) => s.$ref ? doc.components.schemas[s.$ref.split('/').pop()] : s
  t.same(Object.keys(schemaOf(init.responses['200'].content['application/json'].schema).properties), ['state', 'url'])
  const cb = doc.paths['/oauth/callback/from/{provider}'].get
  t.equal(cb.operationId, 'oauthConfirmCallback')
  t.same(Object.keys(cb.responses).sort(), ['302', '400', '503'])
  const login = doc.paths['/oauth/login'].post
  t.equal(login.operationId, 'oauthConfirmLogin')
  t.same(Object.keys(schemaOf(login.responses['200'].content['application/json'].schema).properties), ['account', 'people', 'token', 'signup'])
  t.match(login.responses['401'], { description: /Unauthorized/ })
})

t.test('rateLimits.login throttles the three steps per client address', async (t) => {
  const c = await buildWith(t, [confirmTenant('acme', peers, undefined, { rateLimits: { login: { max: 2, timeWindow: '1 minute' } } })])
  t.equal((await c.call(`${publicUrl('acme')}/oauth/init`, jsonInit({ provider: 'github', language: 'fr' }))).status, 200)
  t.equal((await c.call(`${publicUrl('acme')}/oauth/init`, jsonInit({ provider: 'github', language: 'fr' }))).status, 200)
  const third = await c.call(`${publicUrl('acme')}/oauth/init`, jsonInit({ provider: 'github', language: 'fr' }))
  t.equal(third.status, 429)
  t.equal(third.text, '')
  t.match(third.headers['retry-after'], /^\d+$/)
  const cb = await c.call(`${callbackUrl('acme', 'github')}?code=x&state=y`)
  t.equal(cb.headers.location, `${ERROR_URL}?error=rate_limited`, 'the callback says so through errorUrl')
  t.equal((await c.login('0'.repeat(24))).status, 429)
  t.equal(await count(c.built.app.db.db, 'one_time_tokens', 'acme'), 2, 'no state stored once throttled')
})
