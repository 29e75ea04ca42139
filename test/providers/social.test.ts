// facebook, github and linkedin providers against the social and oidc peers: flows and email semantics.
import t from 'tap'
import { randomBytes, createHash } from 'node:crypto'
import { createProviderRegistry, type OAuth2Provider } from '../../plugins/providers/index.ts'
import { startSocialPeer } from '../peers/social-peer.ts'
import { startOidcPeer } from '../peers/oidc-peer.ts'

const REDIRECT = 'http://127.0.0.1:1/social/callback'
const social = await startSocialPeer({ clients: [{ clientId: 'app', clientSecret: 'app-secret', redirectUris: [REDIRECT, 'http://127.0.0.1:1/other'] }] })
const linkedinPeer = await startOidcPeer({
  clients: [{ clientId: 'li-app', clientSecret: 'li-secret', redirectUris: [REDIRECT], tokenEndpointAuthMethod: 'client_secret_post' }],
  routes: { userinfo: '/v2/userinfo' }
})
t.teardown(async () => { await social.close(); await linkedinPeer.close() })

const registry = createProviderRegistry({
  facebook: { type: 'facebook', allowPrivateNetwork: true, clientId: 'app', clientSecret: 'app-secret', endpoints: { authorize: social.facebook.authorize, token: social.facebook.token, userinfo: social.facebook.me } },
  github: { type: 'github', allowPrivateNetwork: true, clientId: 'app', clientSecret: 'app-secret', endpoints: { authorize: social.github.authorize, token: social.github.token, userinfo: social.github.user, emails: social.github.emails } },
  'github-wrong-secret': { type: 'github', allowPrivateNetwork: true, clientId: 'app', clientSecret: 'nope', endpoints: { token: social.github.token } },
  linkedin: { type: 'linkedin', allowPrivateNetwork: true, clientId: 'li-app', clientSecret: 'li-secret', endpoints: { authorize: linkedinPeer.endpoints.authorize, token: linkedinPeer.endpoints.token, userinfo: `${linkedinPeer.issuer}/v2/userinfo`, introspection: linkedinPeer.endpoints.introspection } }
})
const fb = registry.get('facebook') as OAuth2Provider
const gh = registry.get('github') as OAuth2Provider

async function flow (p: OAuth2Provider, user: string, codeVerifier?: string) {
  const url = p.authorizeUrl({ state: 'st-' + user, redirectUri: REDIRECT, codeVerifier })
  const { code, state } = await (p.type === 'linkedin' ? linkedinPeer : social).authorize(url, user)
  t.equal(state, 'st-' + user)
  const tokens = await p.exchangeCode({ code, redirectUri: REDIRECT, codeVerifier })
  if (!tokens.ok) throw new Error(tokens.detail)
  return { tokens: tokens.value, profile: await p.profileFromTokens(tokens.value), code }
}

t.test('facebook: flow → profile; id is the subject; email never marked verified', async (t) => {
  const { profile, code, tokens } = await flow(fb, 'alice')
  t.match(profile, { ok: true, value: { providerType: 'facebook', subject: '1001', issuer: null, email: 'alice@example.test', emailVerified: false, givenName: 'Alice', familyName: 'Liddell', displayName: 'Alice Liddell' } })
  t.match(profile.ok && profile.value.photo, /1001\.jpg$/)
  t.match(await fb.exchangeCode({ code, redirectUri: REDIRECT }), { ok: false, error: 'invalid_credentials' }, 'code is single use')
  const meCall = social.requests.filter((r) => r.path === '/facebook/me').at(-1)
  t.equal(meCall?.authorization, `Bearer ${tokens.accessToken}`, 'token goes in a header')
})

t.test('facebook: unconfirmed address is absent, no email is null', async (t) => {
  t.match((await flow(fb, 'bob')).profile, { ok: true, value: { subject: '1002', email: null, emailVerified: false } })
  t.match((await flow(fb, 'carol')).profile, { ok: true, value: { subject: '1003', email: null, emailVerified: false } })
})

t.test('facebook: raw access token (syncano) and a bogus one', async (t) => {
  t.match(await fb.profileFromAccessToken(social.accessTokenFor('facebook', 'alice')), { ok: true, value: { subject: '1001' } })
  t.match(await fb.profileFromAccessToken('EAABbogus'), { ok: false, error: 'invalid_credentials' })
  t.match(await fb.profileFromAccessToken(social.accessTokenFor('github', 'alice')), { ok: false, error: 'invalid_credentials' }, 'a token from another site')
})

t.test('facebook: code bound to redirect_uri', async (t) => {
  const code = social.codeFor('facebook', { userKey: 'alice', redirectUri: 'http://127.0.0.1:1/other' })
  t.match(await fb.exchangeCode({ code, redirectUri: REDIRECT }), { ok: false, error: 'invalid_credentials' })
})

t.test('github: only the primary verified address counts', async (t) => {
  t.match((await flow(gh, 'alice')).profile, { ok: true, value: { providerType: 'github', subject: '1001', username: 'alice', email: 'alice@example.test', emailVerified: true } })
  // bob's primary is unverified; his verified secondary must not be picked instead.
  t.match((await flow(gh, 'bob')).profile, { ok: true, value: { subject: '1002', email: 'bob@example.test', emailVerified: false } })
  t.match((await flow(gh, 'carol')).profile, { ok: true, value: { subject: '1003', email: null, emailVerified: false } })
})

t.test('github: PKCE verifier checked, bad code (200 + error) refused, wrong secret refused', async (t) => {
  const codeVerifier = randomBytes(32).toString('base64url')
  const url = new URL(gh.authorizeUrl({ state: 's', redirectUri: REDIRECT, codeVerifier, nonce: 'ignored' }))
  t.equal(url.searchParams.get('code_challenge'), createHash('sha256').update(codeVerifier).digest('base64url'))
  t.equal(url.searchParams.get('nonce'), null, 'github has no nonce')
  const { code } = await social.authorize(url.toString(), 'alice')
  t.match(await gh.exchangeCode({ code, redirectUri: REDIRECT, codeVerifier: 'wrong'.repeat(10) }), { ok: false, error: 'invalid_credentials' })
  t.match(await gh.exchangeCode({ code: 'bogus', redirectUri: REDIRECT }), { ok: false, error: 'invalid_credentials' })
  const other = social.codeFor('github', { userKey: 'alice', redirectUri: REDIRECT })
  t.match(await (registry.get('github-wrong-secret') as OAuth2Provider).exchangeCode({ code: other, redirectUri: REDIRECT }), { ok: false, error: 'invalid_credentials' })
})

t.test('github: raw token; revoked token → invalid_credentials', async (t) => {
  const token = social.accessTokenFor('github', 'bob')
  t.match(await gh.profileFromAccessToken(token), { ok: true, value: { subject: '1002' } })
  social.revoke('bob')
  t.match(await gh.profileFromAccessToken(token), { ok: false, error: 'invalid_credentials' })
})

t.test('linkedin: OIDC userinfo at /v2/userinfo with email_verified', async (t) => {
  const li = registry.get('linkedin') as OAuth2Provider
  t.match((await flow(li, 'alice')).profile, { ok: true, value: { providerType: 'linkedin', subject: 'alice', email: 'alice@example.test', emailVerified: true } })
  t.match((await flow(li, 'bob')).profile, { ok: true, value: { subject: 'bob', email: 'bob@example.test', emailVerified: false } })
  const { accessToken } = await linkedinPeer.tokensFor('carol', { clientId: 'li-app' })
  t.match(await li.profileFromAccessToken(accessToken), { ok: true, value: { subject: 'carol', email: null, emailVerified: false } })
  t.match(await li.profileFromAccessToken('bogus'), { ok: false, error: 'invalid_credentials' })
})
