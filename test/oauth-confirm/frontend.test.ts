// oauth-confirm driven exactly as the freesewing.org frontend drives it: it builds the provider URL itself from the
// state (src/config/oauth.js), follows the callback's redirect to /login/callback/<confirmation>/<validation>
// (src/pages/login/callback/_index.js) and posts both parts to /oauth/login (@freesewing/utils backend.providerLogin).
import t, { type Test } from 'tap'
import { callbackUrl, client, confirmTenant, count, ERROR_URL, jsonInit, publicUrl, startPeers, STATE, type Client, type Peers } from './helpers.ts'
import { build } from '../helpers/build.ts'

const peers = await startPeers()
t.teardown(() => peers.close())

const LOGIN = 'https://{language}.sewing.test/login/callback/{confirmation}/{validation}'
const SIGNUP = 'https://{language}.sewing.test/confirm/signup/{state}/{confirmation}/{validation}'
const LANDED = /^https:\/\/([a-z]+)\.sewing\.test\/(login\/callback|confirm\/signup\/([0-9a-f]{32}))\/([0-9a-f]{32})\/([0-9a-f]{32})$/
const frontendMode = { confirmUrl: LOGIN, signupUrl: SIGNUP, errorUrl: ERROR_URL, providerUrls: 'frontend' }

/** freesewing.org's src/config/oauth.js with GATSBY_BACKEND = the tenant's public URL and a trailing slash. */
function frontendProviderUrl (p: Peers, provider: 'github' | 'google', tenant = 'acme'): string {
  const backend = `${publicUrl(tenant)}/`
  if (provider === 'github') {
    return p.social.github.authorize + '?client_id=social-client' + '&redirect_uri=' + `${backend}oauth/callback/from/github` + '&scope=' + 'read:user user:email' + '&state='
  }
  return p.oidc.endpoints.authorize + '?response_type=code' + '&client_id=g-client' + '&redirect_uri=' + `${backend}oauth/callback/from/google` +
    '&scope=' + 'https://www.googleapis.com/auth/userinfo.profile' + ' ' + 'https://www.googleapis.com/auth/userinfo.email' + '&access_type=online' + '&state='
}

/** initOauth → window.location = oauthConfig[provider] + state → the provider's login page → our callback. */
async function frontendRoundTrip (c: Client, provider: 'github' | 'google', user: string, language = 'fr') {
  const init = await c.call(`${publicUrl('acme')}/oauth/init`, jsonInit({ provider, language }))
  t.equal(init.status, 200)
  const { state } = init.json()
  const peer = provider === 'google' ? peers.oidc : peers.social
  const { redirect } = await peer.authorize(frontendProviderUrl(peers, provider) + state, user)
  const res = await c.call(redirect)
  return { state, redirect, res, location: String(res.headers.location ?? '') }
}

/** The callback page: both parts or it goes back to /login/; then providerLogin({validation, confirmation}). */
async function callbackPage (c: Client, location: string) {
  const m = LANDED.exec(location)
  if (m === null) throw new Error(`redirected to ${location}`)
  const [, language, , signupState, confirmation, validation] = m
  const res = await c.call(`${publicUrl('acme')}/oauth/login`, jsonInit({ validation, confirmation }))
  return { language, signupState, confirmation, validation, res }
}

t.test('GitHub: the frontend-built URL signs up (signup target), then logs in (login target)', async (t) => {
  const c = client(await build(t, { tenants: [confirmTenant('acme', peers, frontendMode)] }))
  const { state, location } = await frontendRoundTrip(c, 'github', 'alice', 'fr')
  t.match(state, STATE)
  const first = await callbackPage(c, location)
  t.equal(first.language, 'fr', '{language} in the host, as createUrl puts it')
  t.equal(first.signupState, state, 'a new account goes to the signup target, with {state}')
  t.equal(first.res.status, 200)
  const body = first.res.json()
  t.same(Object.keys(body).sort(), ['account', 'people', 'signup', 'token'])
  t.equal(body.signup, true)
  t.same(body.people, {})
  t.match(body.account, {
    username: 'alice', email: 'alice@example.test', role: 'user', patron: 0, bio: '', status: 'active',
    settings: { language: 'fr', units: 'metric' }, consent: { profile: false, measurements: false, openData: true },
    social: { github: 'alice', twitter: '', instagram: '' }, newsletter: false,
    picture: 'http://127.0.0.1/gh/1001.png', pictureUris: { l: 'http://127.0.0.1/gh/1001.png', xs: 'http://127.0.0.1/gh/1001.png' }
  })
  t.equal(body.account.handle, body.account.id)
  t.type(body.token, 'string')

  const again = await frontendRoundTrip(c, 'github', 'alice', 'en')
  const second = await callbackPage(c, again.location)
  t.equal(second.signupState, undefined, 'an existing account goes to /login/callback/<confirmation>/<validation>')
  t.equal(second.language, 'en')
  t.equal(second.res.status, 200)
  t.match(second.res.json(), { signup: false, account: { id: body.account.id, settings: { language: 'fr' } } })
})

t.test('Google: no openid, no PKCE, no nonce; the profile from userinfo', async (t) => {
  const c = client(await build(t, { tenants: [confirmTenant('acme', peers, frontendMode)] }))
  const built = new URL(frontendProviderUrl(peers, 'google') + 'x')
  t.equal(built.searchParams.get('code_challenge'), null)
  t.equal(built.searchParams.get('nonce'), null)
  t.notOk(built.searchParams.get('scope')!.split(' ').includes('openid'))
  const { location } = await frontendRoundTrip(c, 'google', 'alice', 'fr')
  const { res } = await callbackPage(c, location)
  t.equal(res.status, 200)
  t.match(res.json(), { signup: true, account: { email: 'alice@example.test', emailVerified: true, provider: 'google', name: 'Alice Liddell' } })
})

t.test('the default mode refuses a frontend-built Google URL (its state expects a nonce the provider never saw)', async (t) => {
  const c = client(await build(t, { tenants: [confirmTenant('acme', peers, { confirmUrl: LOGIN, errorUrl: ERROR_URL })] }))
  const init = await c.call(`${publicUrl('acme')}/oauth/init`, jsonInit({ provider: 'google', language: 'fr' }))
  const { url } = init.json()
  t.match(new URL(url).searchParams.get('code_challenge'), /.+/, 'the default mode still returns a PKCE URL')
  const { location } = await frontendRoundTrip(c, 'google', 'alice')
  t.equal(location, `${ERROR_URL}?error=invalid_credentials`)
  t.equal(await count(c.built.app.db.db, 'users', 'acme'), 0)
})

t.test('frontend mode: the state is single use and bound to its provider', async (t) => {
  const c = client(await build(t, { tenants: [confirmTenant('acme', peers, frontendMode)] }))
  const { redirect, location } = await frontendRoundTrip(c, 'github', 'alice')
  t.match(location, LANDED)
  const replay = await c.call(redirect)
  t.equal(replay.headers.location, `${ERROR_URL}?error=invalid_state`, 'a state is spent by its first callback')

  const init = await c.call(`${publicUrl('acme')}/oauth/init`, jsonInit({ provider: 'github', language: 'fr' }))
  const { state } = init.json()
  const { redirect: gh } = await peers.social.authorize(frontendProviderUrl(peers, 'github') + state, 'alice')
  const elsewhere = await c.call(callbackUrl('acme', 'google') + new URL(gh).search)
  t.equal(elsewhere.headers.location, `${ERROR_URL}?error=invalid_state`, 'a github state at the google callback')
})

t.test('POST /oauth/login: 401 / 400 / 403 as Express sendStatus answers', async (t) => {
  const c = client(await build(t, { tenants: [confirmTenant('acme', peers, frontendMode)] }))
  const login = (body: unknown) => c.call(`${publicUrl('acme')}/oauth/login`, jsonInit(body))
  const plain = (t: Test, res: Awaited<ReturnType<typeof login>>, status: number, phrase: string) => {
    t.equal(res.status, status)
    t.equal(res.text, phrase)
    t.match(String(res.headers['content-type']), /^text\/plain; charset=utf-8/)
  }
  const { location } = await frontendRoundTrip(c, 'github', 'alice')
  const { confirmation, validation } = LANDED.exec(location)!.slice(4).reduce((o, v, i) => (i === 0 ? { ...o, confirmation: v } : { ...o, validation: v }), {} as { confirmation: string, validation: string })
  const wrong = validation.replace(/^./, (ch) => (ch === '0' ? '1' : '0'))
  plain(t, await login({ confirmation, validation: wrong }), 401, 'Unauthorized')
  plain(t, await login({ confirmation, validation }), 401, 'Unauthorized')  // spent by the wrong try
  plain(t, await login({ confirmation: 'f'.repeat(32), validation }), 401, 'Unauthorized')
  plain(t, await login({ confirmation: 'not-hex', validation }), 400, 'Bad Request')
  plain(t, await login({ validation }), 400, 'Bad Request')
  plain(t, await login({ confirmation: 7 }), 400, 'Bad Request')

  const missing = LANDED.exec((await frontendRoundTrip(c, 'github', 'alice')).location)!
  plain(t, await login({ confirmation: missing[4] }), 401, 'Unauthorized')

  const blocked = LANDED.exec((await frontendRoundTrip(c, 'github', 'alice')).location)!
  await c.built.app.db.db.updateTable('users').set({ disabled_at: new Date() }).where('tenant_id', '=', 'acme').execute()
  plain(t, await login({ confirmation: blocked[4], validation: blocked[5] }), 403, 'Forbidden')
  t.equal(await count(c.built.app.db.db, 'sessions', 'acme'), 0, 'no failure issued a token')
})

t.test('a template without {confirmation} is refused when the tenant is built', async (t) => {
  await t.rejects(build(t, { tenants: [confirmTenant('acme', peers, { ...frontendMode, signupUrl: 'https://app.test/confirm/signup/{state}/' })] }), /signupUrl[^\n]*must contain \{confirmation\}/)
})
