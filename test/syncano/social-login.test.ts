// syncano: POST /v1.1/instances/:instance/user/auth/:backend/ over HTTP against the local provider peers.
import t from 'tap'
import { build, postForm, postJson } from '../helpers/build.ts'
import { countUsers, DEV_KEY, expectedUser, PROD_KEY, PROD_KEY_2, startPeers, syncanoTenant, TIMESTAMP, USER_KEY } from './helpers.ts'

const peers = await startPeers()
t.teardown(() => peers.close())

const AUTH = (backend: string, instance = 'acme-prod') => `/t/acme/v1.1/instances/${instance}/user/auth/${backend}/`

t.test('a new user, then the same user returning', async (t) => {
  const { api, app } = await build(t, { tenants: [syncanoTenant('acme', peers)] })
  const token = peers.social.accessTokenFor('facebook', 'alice')

  const first = await api(AUTH('facebook'), postJson({ access_token: token }, { 'x-api-key': PROD_KEY }))
  t.equal(first.status, 200)
  const a = await first.json() as any
  t.match(a, { username: /^user_\d{17}_0$/, user_key: USER_KEY, profile: { created_at: TIMESTAMP, updated_at: TIMESTAMP } })
  t.same(a, expectedUser(a, a.id, 'acme-prod', a.username), 'the seed\'s user object')
  t.type(a.id, 'number')
  t.equal(await countUsers(app.db.db, 'acme'), 1)

  const second = await api(AUTH('facebook'), postJson({ access_token: peers.social.accessTokenFor('facebook', 'alice') }, { 'x-api-key': PROD_KEY_2 }))
  t.equal(second.status, 200, 'any of the instance keys works')
  const b = await second.json() as any
  t.match(b, { user_key: USER_KEY })
  t.same(b, expectedUser(b, a.id, 'acme-prod', a.username), 'same id and username')
  t.not(b.user_key, a.user_key, 'each login issues its own user key')
  t.equal(await countUsers(app.db.db, 'acme'), 1, 'no second account')

  for (const key of [a.user_key, b.user_key]) {
    const me = await api('/t/acme/v1.1/instances/acme-prod/user/', { headers: { 'x-api-key': PROD_KEY, 'x-user-key': key } })
    t.equal(me.status, 200, 'both keys stay valid until reset_key')
  }
})

t.test('the provider\'s username is kept; links use the instance from the path', async (t) => {
  const { api } = await build(t, { tenants: [syncanoTenant('acme', peers)] })
  const res = await api(AUTH('github', 'acme-dev'), postJson({ access_token: peers.social.accessTokenFor('github', 'bob') }, { 'x-api-key': DEV_KEY }))
  t.equal(res.status, 200)
  const body = await res.json() as any
  t.match(body, { user_key: USER_KEY, profile: { created_at: TIMESTAMP, updated_at: TIMESTAMP } })
  t.same(body, expectedUser(body, body.id, 'acme-dev', 'bob'))
})

t.test('google-oauth2 (form body) and twitter: "<token>:<secret>" in access_token, or the separate secret', async (t) => {
  const { api, app } = await build(t, { tenants: [syncanoTenant('acme', peers)] })
  const { accessToken } = await peers.oidc.tokensFor('alice')
  const g = await api(AUTH('google-oauth2'), postForm({ access_token: accessToken }, { 'x-api-key': PROD_KEY }))
  t.equal(g.status, 200)
  const gb = await g.json() as any
  t.same(gb, expectedUser(gb, gb.id, 'acme-prod', 'alice'))

  // The platform's one field (apps/core/social_helpers.py splits at the first colon; syncano-android sends it).
  const pair = peers.twitter.accessTokenFor('carol')
  const joined = await api(AUTH('twitter'), postJson({ access_token: `${pair.accessToken}:${pair.accessTokenSecret}` }, { 'x-api-key': PROD_KEY }))
  t.equal(joined.status, 200, 'access_token "<token>:<secret>"')
  const tb = await joined.json() as any
  t.same(tb, expectedUser(tb, tb.id, 'acme-prod', 'carol'))
  t.not(tb.id, gb.id)
  const row = await app.db.db.selectFrom('users').select(['email']).where('tenant_id', '=', 'acme').where('id', '=', String(tb.id)).executeTakeFirstOrThrow()
  t.equal(row.email, null, 'twitter gave no email: the login goes through (the platform makes one up), none is stored')

  const separate = await api(AUTH('twitter'), postJson({ access_token: pair.accessToken, access_token_secret: pair.accessTokenSecret }, { 'x-api-key': PROD_KEY }))
  t.equal(separate.status, 200, 'the separate access_token_secret still works')
  t.equal((await separate.json() as any).id, tb.id, 'the same user')

  const wrongSecret = await api(AUTH('twitter'), postJson({ access_token: `${pair.accessToken}:not-the-secret` }, { 'x-api-key': PROD_KEY }))
  t.equal(wrongSecret.status, 401, 'a pair Twitter refuses')
  t.same(await wrongSecret.json(), { detail: 'Invalid username or password.' })

  for (const [name, body] of [
    ['no secret at all', { access_token: pair.accessToken }],
    ['an empty secret', { access_token: `${pair.accessToken}:` }],
    ['an empty token', { access_token: `:${pair.accessTokenSecret}` }],
    ['no fields', {}]
  ] as Array<[string, Record<string, string>]>) {
    const res = await api(AUTH('twitter'), postJson(body, { 'x-api-key': PROD_KEY }))
    t.equal(res.status, 401, name)
    t.same(await res.json(), { detail: 'Invalid authorization token.' }, name)
  }
})

t.test('API keys: missing, wrong, and a key of another instance', async (t) => {
  const { api, app } = await build(t, { tenants: [syncanoTenant('acme', peers)] })
  const body = { access_token: peers.social.accessTokenFor('facebook', 'alice') }

  const none = await api(AUTH('facebook'), postJson(body))
  t.equal(none.status, 403)
  t.same(await none.json(), { detail: 'You do not have permission to perform this action.' }, 'DRF PermissionDenied: the request is anonymous')

  const wrong = await api(AUTH('facebook'), postJson(body, { 'x-api-key': PROD_KEY + 'x' }))
  t.equal(wrong.status, 403)
  t.same(await wrong.json(), { detail: 'No such API Key.' })

  const otherInstance = await api(AUTH('facebook', 'acme-dev'), postJson(body, { 'x-api-key': PROD_KEY }))
  t.equal(otherInstance.status, 403, 'a key of acme-prod does not open acme-dev')
  t.same(await otherInstance.json(), { detail: 'No such API Key.' })

  const reversed = await api(AUTH('facebook'), postJson(body, { 'x-api-key': DEV_KEY }))
  t.equal(reversed.status, 403)
  t.same(await reversed.json(), { detail: 'No such API Key.' })

  const badKeyBadBody = await api(AUTH('facebook'), { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'nope-nope-nope' }, body: '{"broken' })
  t.equal(badKeyBadBody.status, 403, 'a key in the head is checked before the body is read')
  t.same(await badKeyBadBody.json(), { detail: 'No such API Key.' })
  t.equal(await countUsers(app.db.db, 'acme'), 0, 'nothing was written')
})

t.test('unknown instance 404, unsupported backend 400, in the platform\'s order', async (t) => {
  const { api } = await build(t, { tenants: [syncanoTenant('acme', peers, { dialects: { syncano: { backends: ['facebook', 'twitter'] } } })] })
  const body = { access_token: peers.social.accessTokenFor('facebook', 'alice') }

  const instance = await api(AUTH('facebook', 'nope'), postJson(body, { 'x-api-key': PROD_KEY }))
  t.equal(instance.status, 404)
  t.same(await instance.json(), { detail: 'Instance was not found.' })

  const instanceFirst = await api(AUTH('facebook', 'nope'), postJson(body))
  t.equal(instanceFirst.status, 404, 'the instance is looked up before any key')

  const upper = await api(AUTH('facebook', 'ACME-Prod'), postJson(body, { 'x-api-key': PROD_KEY }))
  t.equal(upper.status, 200, 'instance names are case-insensitive, as the platform lowercases them')
  t.equal((await upper.json() as any).links.self.startsWith('/v1.1/instances/acme-prod/'), true, 'links name the instance as configured')

  const backend = await api(AUTH('myspace'), postJson(body, { 'x-api-key': PROD_KEY }))
  t.equal(backend.status, 400)
  t.same(await backend.json(), { detail: 'Unsupported social backend.' })

  const notListed = await api(AUTH('github'), postJson({ access_token: peers.social.accessTokenFor('github', 'alice') }, { 'x-api-key': PROD_KEY }))
  t.equal(notListed.status, 400, 'a configured provider left out of `backends` is not a backend')
  t.same(await notListed.json(), { detail: 'Unsupported social backend.' })

  const tokenFirst = await api(AUTH('myspace'), postJson({}, { 'x-api-key': PROD_KEY }))
  t.equal(tokenFirst.status, 401, 'the body is checked before the backend (SocialAuthView)')
  t.same(await tokenFirst.json(), { detail: 'Invalid authorization token.' })

  const badKey = await api(AUTH('myspace'), postJson(body, { 'x-api-key': 'wrong-key-123' }))
  t.equal(badKey.status, 403, 'the key is checked before the backend')

  const elsewhere = await api('/t/acme/v1.1/instances/acme-prod/nothing/', { headers: { 'x-api-key': PROD_KEY } })
  t.equal(elsewhere.status, 404)
  t.same(await elsewhere.json(), { detail: 'Not found.' }, 'unknown paths under /v1.1 answer in the dialect\'s envelope')
})

t.test('a token the provider rejects is 401; a provider that is down is 503', async (t) => {
  const { api, app } = await build(t, { tenants: [syncanoTenant('acme', peers)] })
  const bogus = await api(AUTH('facebook'), postJson({ access_token: 'EAABnot-a-real-token' }, { 'x-api-key': PROD_KEY }))
  t.equal(bogus.status, 401)
  t.same(await bogus.json(), { detail: 'Invalid username or password.' })

  const foreign = await api(AUTH('facebook'), postJson({ access_token: peers.social.accessTokenFor('github', 'alice') }, { 'x-api-key': PROD_KEY }))
  t.equal(foreign.status, 401, 'a GitHub token is not a Facebook token')
  t.same(await foreign.json(), { detail: 'Invalid username or password.' })

  const down = await api(AUTH('facebook-down'), postJson({ access_token: 'EAABwhatever' }, { 'x-api-key': PROD_KEY }))
  t.equal(down.status, 503)
  t.same(await down.json(), { detail: 'Service temporarily unavailable, try again later.' })
  t.equal(await countUsers(app.db.db, 'acme'), 0)
})

t.test('any body without a usable access_token is 401 Invalid authorization token. (SocialAuthView)', async (t) => {
  const { api } = await build(t, { tenants: [syncanoTenant('acme', peers)] })
  const h = { 'x-api-key': PROD_KEY }
  const badToken = { detail: 'Invalid authorization token.' }
  const cases: Array<[string, RequestInit, number, unknown]> = [
    ['missing field', postJson({}, h), 401, badToken],
    ['empty JSON body', { method: 'POST', headers: { 'content-type': 'application/json', ...h }, body: '' }, 401, badToken],
    ['no body at all', { method: 'POST', headers: h }, 401, badToken],
    ['blank', postJson({ access_token: '' }, h), 401, badToken],
    ['only spaces', postJson({ access_token: '   ' }, h), 401, badToken],
    ['not a string', postJson({ access_token: { a: 1 } }, h), 401, badToken],
    ['a boolean', postJson({ access_token: true }, h), 401, badToken],
    ['NUL byte', postJson({ access_token: 'ab\u0000cd' }, h), 401, badToken],
    ['too long', postJson({ access_token: 'x'.repeat(2049) }, h), 401, badToken],
    ['a list', postJson([1, 2], h), 401, badToken],
    ['null', postJson({ access_token: null }, h), 401, badToken],
    ['too large', postJson({ access_token: 'x'.repeat(70 * 1024) }, h), 413, { detail: 'Request body is too large.' }],
    ['unsupported media type', { method: 'POST', headers: { 'content-type': 'application/xml', ...h }, body: '<a/>' }, 415, { detail: 'Unsupported media type "application/xml" in request.' }],
    ['text/plain that is not JSON', { method: 'POST', headers: { 'content-type': 'text/plain', ...h }, body: 'access_token=x' }, 400, { detail: 'JSON parse error - the body is not valid JSON.' }]
  ]
  for (const [name, init, status, body] of cases) {
    const res = await api(AUTH('facebook'), init)
    t.equal(res.status, status, name)
    t.same(await res.json(), body, name)
  }
  const broken = await api(AUTH('facebook'), { method: 'POST', headers: { 'content-type': 'application/json', ...h }, body: '{"access_token": ' })
  t.equal(broken.status, 400)
  const b = await broken.json() as any
  t.same(Object.keys(b), ['detail'])
  t.match(b.detail, /^JSON parse error - /)

  for (const method of ['GET', 'PUT', 'PATCH', 'DELETE']) {
    const res = await api(AUTH('facebook'), { method, headers: h })
    t.equal(res.status, 405, method)
    t.equal(res.headers.get('allow'), 'POST', `${method}: Allow`)
    t.same(await res.json(), { detail: `Method "${method}" not allowed.` }, method)
  }
  const anonymous = await api(AUTH('facebook'), { method: 'GET' })
  t.equal(anonymous.status, 403, 'authentication comes before the method check, as in a DRF view')
})

t.test('a provider that gives no email: 400 Invalid social scope, missing email., nothing written', async (t) => {
  const { api, app } = await build(t, { tenants: [syncanoTenant('acme', peers)] })
  const h = { 'x-api-key': PROD_KEY }
  const { accessToken: googleCarol } = await peers.oidc.tokensFor('carol')
  for (const [backend, token] of [['facebook', peers.social.accessTokenFor('facebook', 'carol')], ['github', peers.social.accessTokenFor('github', 'carol')], ['google-oauth2', googleCarol]]) {
    const res = await api(AUTH(backend), postJson({ access_token: token }, h))
    t.equal(res.status, 400, backend)
    t.same(await res.json(), { detail: 'Invalid social scope, missing email.' }, backend)
  }
  t.equal(await countUsers(app.db.db, 'acme'), 0, 'no email-less user was created')
  const sessions = await app.db.db.selectFrom('sessions').select('id').where('tenant_id', '=', 'acme').execute()
  t.equal(sessions.length, 0, 'no user key issued')

  const { accessToken: linkedinCarol } = await peers.oidc.tokensFor('carol')
  const linkedin = await api(AUTH('linkedin'), postJson({ access_token: linkedinCarol }, h))
  t.equal(linkedin.status, 200, 'linkedin, like twitter, needs no email (the platform makes one up)')
})

t.test('email in use: refused with nothing written', async (t) => {
  const { api, app } = await build(t, { tenants: [syncanoTenant('acme', peers)] })
  // alice's Facebook account creates the user with alice@example.test; her GitHub identity asserts the same address.
  t.equal((await api(AUTH('facebook'), postJson({ access_token: peers.social.accessTokenFor('facebook', 'alice') }, { 'x-api-key': PROD_KEY }))).status, 200)
  const before = await app.db.db.selectFrom('sessions').select('id').where('tenant_id', '=', 'acme').execute()
  const res = await api(AUTH('github'), postJson({ access_token: peers.social.accessTokenFor('github', 'alice') }, { 'x-api-key': PROD_KEY }))
  t.equal(res.status, 400)
  t.same(await res.json(), { detail: 'A user with this email address already exists.' })
  t.equal(await countUsers(app.db.db, 'acme'), 1)
  const identities = await app.db.db.selectFrom('identities').select('provider_type').where('tenant_id', '=', 'acme').execute()
  t.same(identities.map((i) => i.provider_type), ['facebook'], 'no identity attached')
  const after = await app.db.db.selectFrom('sessions').select('id').where('tenant_id', '=', 'acme').execute()
  t.equal(after.length, before.length, 'no user key issued')
})

t.test('user keys are stored hashed', async (t) => {
  const { api, app } = await build(t, { tenants: [syncanoTenant('acme', peers)] })
  const res = await api(AUTH('facebook'), postJson({ access_token: peers.social.accessTokenFor('facebook', 'alice') }, { 'x-api-key': PROD_KEY }))
  const { user_key: key } = await res.json() as any
  const rows = await app.db.db.selectFrom('sessions').selectAll().where('tenant_id', '=', 'acme').execute()
  t.equal(rows.length, 1)
  t.equal(rows[0].kind, 'user_key')
  t.equal(rows[0].client_id, 'acme-prod', 'bound to the instance')
  t.not(rows[0].token_hash, key)
  t.notOk(JSON.stringify(rows).includes(key), 'the key appears nowhere in plain text')
})

t.test('two concurrent first logins of one identity make one user', async (t) => {
  const { api, app } = await build(t, { tenants: [syncanoTenant('acme', peers)] })
  const results = await Promise.all([0, 1, 2, 3].map(() =>
    api(AUTH('facebook'), postJson({ access_token: peers.social.accessTokenFor('facebook', 'alice') }, { 'x-api-key': PROD_KEY }))))
  t.same(results.map((r) => r.status), [200, 200, 200, 200])
  const bodies = await Promise.all(results.map((r) => r.json() as Promise<any>))
  t.equal(new Set(bodies.map((b) => b.id)).size, 1, 'one id')
  t.equal(new Set(bodies.map((b) => b.username)).size, 1, 'one username')
  t.equal(await countUsers(app.db.db, 'acme'), 1)
})

t.test('rateLimits.login throttles per client address, before any key check', async (t) => {
  const { api } = await build(t, { tenants: [syncanoTenant('acme', peers, { rateLimits: { login: { max: 2, timeWindow: '1 minute' } } })] })
  t.equal((await api(AUTH('facebook'), postJson({ access_token: 'EAABbogus' }, { 'x-api-key': PROD_KEY }))).status, 401)
  t.equal((await api(AUTH('facebook'), postJson({ access_token: 'EAABbogus' }, { 'x-api-key': 'guess-0001' }))).status, 403)
  const third = await api(AUTH('facebook'), postJson({ access_token: peers.social.accessTokenFor('facebook', 'alice') }, { 'x-api-key': PROD_KEY }))
  t.equal(third.status, 429)
  t.match(third.headers.get('retry-after'), /^\d+$/)
  const body = await third.json() as any
  t.match(body, { detail: /^Request was throttled\. Expected available in \d+ seconds?\.$/ })
  t.same(Object.keys(body), ['detail'])
})

t.test('a blocked account: the returning sign-in (its one statement, in the transaction) is refused, 403, no user key issued', async (t) => {
  const { api, app } = await build(t, { tenants: [syncanoTenant('acme', peers)] })
  const first = await api(AUTH('facebook'), postJson({ access_token: peers.social.accessTokenFor('facebook', 'alice') }, { 'x-api-key': PROD_KEY }))
  t.equal(first.status, 200)
  const db = app.db.db
  await db.updateTable('users').set({ disabled_at: new Date() }).where('tenant_id', '=', 'acme').execute()
  const sessions = async () => (await db.selectFrom('sessions').select('id').where('tenant_id', '=', 'acme').execute()).length
  const before = await sessions()
  const r = await api(AUTH('facebook'), postJson({ access_token: peers.social.accessTokenFor('facebook', 'alice') }, { 'x-api-key': PROD_KEY }))
  t.same([r.status, await r.json()], [403, { detail: 'User inactive or deleted.' }])
  t.equal(await sessions(), before, 'no user key')
  t.equal(await countUsers(db, 'acme'), 1)
})
