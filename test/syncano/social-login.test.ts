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

t.test('google-oauth2 and twitter (access token + secret); form bodies', async (t) => {
  const { api } = await build(t, { tenants: [syncanoTenant('acme', peers)] })
  const { accessToken } = await peers.oidc.tokensFor('alice')
  const g = await api(AUTH('google-oauth2'), postForm({ access_token: accessToken }, { 'x-api-key': PROD_KEY }))
  t.equal(g.status, 200)
  const gb = await g.json() as any
  t.same(gb, expectedUser(gb, gb.id, 'acme-prod', 'alice'))

  const pair = peers.twitter.accessTokenFor('carol')
  const tw = await api(AUTH('twitter'), postJson({ access_token: pair.accessToken, access_token_secret: pair.accessTokenSecret }, { 'x-api-key': PROD_KEY }))
  t.equal(tw.status, 200)
  const tb = await tw.json() as any
  t.same(tb, expectedUser(tb, tb.id, 'acme-prod', 'carol'))
  t.not(tb.id, gb.id)

  const wrongSecret = await api(AUTH('twitter'), postJson({ access_token: pair.accessToken, access_token_secret: 'not-the-secret' }, { 'x-api-key': PROD_KEY }))
  t.equal(wrongSecret.status, 401)
  t.same(await wrongSecret.json(), { detail: 'Invalid username or password.' })

  const noSecret = await api(AUTH('twitter'), postJson({ access_token: pair.accessToken }, { 'x-api-key': PROD_KEY }))
  t.equal(noSecret.status, 400)
  t.same(await noSecret.json(), { access_token_secret: ['This field is required.'] })

  const neither = await api(AUTH('twitter'), postJson({}, { 'x-api-key': PROD_KEY }))
  t.equal(neither.status, 400)
  t.same(await neither.json(), { access_token: ['This field is required.'], access_token_secret: ['This field is required.'] })
})

t.test('API keys: missing, wrong, and a key of another instance', async (t) => {
  const { api, app } = await build(t, { tenants: [syncanoTenant('acme', peers)] })
  const body = { access_token: peers.social.accessTokenFor('facebook', 'alice') }

  const none = await api(AUTH('facebook'), postJson(body))
  t.equal(none.status, 403)
  t.same(await none.json(), { detail: 'No API key provided.' })

  const wrong = await api(AUTH('facebook'), postJson(body, { 'x-api-key': PROD_KEY + 'x' }))
  t.equal(wrong.status, 403)
  t.same(await wrong.json(), { detail: 'Invalid API key.' })

  const otherInstance = await api(AUTH('facebook', 'acme-dev'), postJson(body, { 'x-api-key': PROD_KEY }))
  t.equal(otherInstance.status, 403, 'a key of acme-prod does not open acme-dev')
  t.same(await otherInstance.json(), { detail: 'Invalid API key.' })

  const reversed = await api(AUTH('facebook'), postJson(body, { 'x-api-key': DEV_KEY }))
  t.equal(reversed.status, 403)
  t.same(await reversed.json(), { detail: 'Invalid API key.' })

  const badKeyBadBody = await api(AUTH('facebook'), postJson({}, { 'x-api-key': 'nope-nope-nope' }))
  t.equal(badKeyBadBody.status, 403, 'authentication comes before body validation')
  t.same(await badKeyBadBody.json(), { detail: 'Invalid API key.' })
  t.equal(await countUsers(app.db.db, 'acme'), 0, 'nothing was written')
})

t.test('unknown instance and unknown backend are 404', async (t) => {
  const { api } = await build(t, { tenants: [syncanoTenant('acme', peers, { dialects: { syncano: { backends: ['facebook', 'twitter'] } } })] })
  const body = { access_token: peers.social.accessTokenFor('facebook', 'alice') }

  const instance = await api(AUTH('facebook', 'nope'), postJson(body, { 'x-api-key': PROD_KEY }))
  t.equal(instance.status, 404)
  t.same(await instance.json(), { detail: 'Not found.' })

  const backend = await api(AUTH('myspace'), postJson(body, { 'x-api-key': PROD_KEY }))
  t.equal(backend.status, 404)
  t.same(await backend.json(), { detail: 'Not found.' })

  const notListed = await api(AUTH('github'), postJson({ access_token: peers.social.accessTokenFor('github', 'alice') }, { 'x-api-key': PROD_KEY }))
  t.equal(notListed.status, 404, 'a configured provider left out of `backends` is not a backend')
  t.same(await notListed.json(), { detail: 'Not found.' })

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

t.test('body validation in Django REST framework style', async (t) => {
  const { api } = await build(t, { tenants: [syncanoTenant('acme', peers)] })
  const h = { 'x-api-key': PROD_KEY }
  const cases: Array<[string, RequestInit, number, unknown]> = [
    ['missing field', postJson({}, h), 400, { access_token: ['This field is required.'] }],
    ['empty JSON body', { method: 'POST', headers: { 'content-type': 'application/json', ...h }, body: '' }, 400, { access_token: ['This field is required.'] }],
    ['no body at all', { method: 'POST', headers: h }, 400, { access_token: ['This field is required.'] }],
    ['blank', postJson({ access_token: '' }, h), 400, { access_token: ['This field may not be blank.'] }],
    ['not a string', postJson({ access_token: { a: 1 } }, h), 400, { access_token: ['Not a valid string.'] }],
    ['NUL byte', postJson({ access_token: 'ab\u0000cd' }, h), 400, { access_token: ['Null characters are not allowed.'] }],
    ['too long', postJson({ access_token: 'x'.repeat(2049) }, h), 400, { access_token: ['Ensure this field has no more than 2048 characters.'] }],
    ['a list', postJson([1, 2], h), 400, { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] }],
    ['null', postJson({ access_token: null }, h), 400, { access_token: ['This field may not be null.'] }],
    ['too large', postJson({ access_token: 'x'.repeat(70 * 1024) }, h), 413, { detail: 'Request body is too large.' }],
    ['wrong method', { method: 'GET', headers: h }, 404, { detail: 'Not found.' }],
    ['unsupported media type', { method: 'POST', headers: { 'content-type': 'text/plain', ...h }, body: 'access_token=x' }, 415, { detail: 'Unsupported media type "text/plain" in request.' }]
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
  const res = await api(AUTH('facebook'), postJson({ access_token: peers.social.accessTokenFor('facebook', 'carol') }, { 'x-api-key': PROD_KEY }))
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
    api(AUTH('facebook'), postJson({ access_token: peers.social.accessTokenFor('facebook', 'bob') }, { 'x-api-key': PROD_KEY }))))
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
