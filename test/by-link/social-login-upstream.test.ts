// by-link social login as django-rest-social-auth answers it (rest_social_auth/views.py, tests/test_session.py,
// tests/test_token.py): no provider → 400 "Provider is not specified"; redirect_uri optional (tenant default, else
// Origin + "/"), still under the client's allow-list; the answer is the user serializer's fields, username included.
import t from 'tap'
import { build, postForm, postJson, tenantDoc } from '../helpers/build.ts'
import { startSocialPeer } from '../peers/social-peer.ts'

const FRONTEND = 'http://frontend.test/'
const DEFAULT = 'https://default.test/cb'
const OTHER = 'http://127.0.0.1:1/callback'
const social = await startSocialPeer({ clients: [{ clientId: 'app', clientSecret: 'app-secret', redirectUris: [FRONTEND, DEFAULT, OTHER, 'http://evil.test/'] }] })
t.teardown(() => social.close())
const providers = {
  github: { type: 'github', allowPrivateNetwork: true, clientId: 'app', clientSecret: 'app-secret', endpoints: { authorize: social.github.authorize, token: social.github.token, userinfo: social.github.user, emails: social.github.emails } }
}
const CLIENT = 'web-client'
const doc = (id: string, byLink: Record<string, unknown> = {}) => tenantDoc(id, {
  providers,
  clients: [{ id: CLIENT, name: 'web', redirectUris: [FRONTEND, DEFAULT] }, { id: 'open-client' }],
  dialects: { 'by-link': { linkUrl: 'https://frontend.test/link/{token}', ...byLink } }
})
const { api, app } = await build(t, { tenants: [doc('bo'), doc('bd', { redirectUri: DEFAULT }), doc('bx', { redirectUri: OTHER })] })
const code = (user: string, redirectUri: string) => social.codeFor('github', { userKey: user, clientId: 'app', redirectUri })
const login = (tenant: string, body: unknown, headers: Record<string, string> = {}) => api(`/t/${tenant}/v1/auth/social/login/`, postJson(body, headers))
const tokenCalls = () => social.requests.filter((r) => r.path === new URL(social.github.token).pathname).length

t.test('no provider at all: 400 with the JSON string "Provider is not specified" (test_no_provider_session)', async (t) => {
  for (const body of [{ code: 'x', client_key: CLIENT }, {}, { provider: '' }, { provider: null, code: ['not', 'a', 'string'] }]) {
    const r = await login('bo', body)
    t.same([r.status, r.headers.get('content-type'), await r.text()], [400, 'application/json; charset=utf-8', '"Provider is not specified"'], JSON.stringify(body))
  }
  const form = await api('/t/bo/v1/auth/social/login/', postForm({ code: 'x', client_key: CLIENT }))
  t.same([form.status, await form.json()], [400, 'Provider is not specified'], 'form body (the upstream test posts a form)')
  const none = await api('/t/bo/v1/auth/social/login/', { method: 'POST' })
  t.same([none.status, await none.json()], [400, 'Provider is not specified'], 'no body')
})

t.test('redirect_uri absent: the request\'s Origin + "/" (test_login_social_http_origin), under the client\'s allow-list', async (t) => {
  let r = await login('bo', { provider: 'github', code: code('alice', FRONTEND), client_key: CLIENT }, { origin: 'http://frontend.test' })
  t.equal(r.status, 200, 'the code bound to http://frontend.test/ is exchanged with that redirect_uri')
  t.match(await r.json(), { token: String, email: 'alice@example.test' })

  const before = tokenCalls()
  r = await login('bo', { provider: 'github', code: code('alice', 'http://evil.test/'), client_key: CLIENT }, { origin: 'http://evil.test' })
  t.same([r.status, await r.json()], [400, { redirect_uri: ['This redirect_uri is not allowed for this client.'] }], 'an Origin the client does not list is refused')
  t.equal(tokenCalls(), before, 'and the provider is not called')

  for (const origin of [undefined, 'null', 'file://x', 'not a url']) {
    r = await login('bo', { provider: 'github', code: 'x', client_key: CLIENT }, origin ? { origin } : {})
    t.same([r.status, await r.json()], [400, { redirect_uri: ['This field is required.'] }], `Origin ${origin}`)
  }
  t.equal(tokenCalls(), before)

  r = await login('bo', { provider: 'github', code: code('alice', FRONTEND), client_key: CLIENT, redirect_uri: FRONTEND }, { origin: 'http://evil.test' })
  t.equal(r.status, 200, 'a redirect_uri in the body wins over the Origin (test_login_manual_redirect)')
})

t.test('redirect_uri absent: the tenant\'s redirectUri wins over the Origin (test_login_absolute_redirect), same allow-list', async (t) => {
  let r = await login('bd', { provider: 'github', code: code('alice', DEFAULT), client_key: CLIENT }, { origin: 'http://frontend.test' })
  t.equal(r.status, 200)
  const before = tokenCalls()
  r = await login('bx', { provider: 'github', code: code('alice', OTHER), client_key: CLIENT })
  t.same([r.status, await r.json()], [400, { redirect_uri: ['This redirect_uri is not allowed for this client.'] }], 'a default the client does not list is refused too')
  t.equal(tokenCalls(), before)
  r = await login('bx', { provider: 'github', code: code('alice', OTHER), client_key: 'open-client' })
  t.equal(r.status, 200, 'a client without redirectUris leaves the check to the provider, as with a body redirect_uri')
})

t.test('the login answer is the user serializer\'s fields, username included, next to token (test_login_social_token_user)', async (t) => {
  const r = await api('/t/bo/v1/auth/social/login/github/', postJson({ code: code('bob', FRONTEND), client_key: CLIENT, redirect_uri: FRONTEND }))
  t.equal(r.status, 200)
  const body = await r.json() as any
  t.same(Object.keys(body).sort(), ['email', 'first_name', 'id', 'last_name', 'token', 'username'])
  t.equal(typeof body.username, 'string')
  const me = await api('/t/bo/v1/auth/me/', { headers: { authorization: `Token ${body.token}` } })
  t.same(await me.json(), { id: body.id, username: body.username, email: body.email, first_name: body.first_name, last_name: body.last_name })
})

t.test('a blocked account: the returning sign-in (the one-statement path) is refused as DRF answers an inactive user', async (t) => {
  const first = await login('bo', { provider: 'github', code: code('alice', FRONTEND), redirect_uri: FRONTEND, client_key: CLIENT })
  t.equal(first.status, 200)
  await app.db.db.updateTable('users').set({ disabled_at: new Date() }).where('tenant_id', '=', 'bo').where('email', '=', 'alice@example.test').execute()
  const r = await login('bo', { provider: 'github', code: code('alice', FRONTEND), redirect_uri: FRONTEND, client_key: CLIENT })
  t.same([r.status, await r.json()], [403, { detail: 'User inactive or deleted.' }])
})
