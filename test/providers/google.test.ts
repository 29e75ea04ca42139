// google (and id_token checks in general): Google-shaped oidc peer flow, forged/foreign id_tokens, shared JWKS cache.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { createProviderRegistry, type OAuth2Provider } from '../../plugins/providers/index.ts'
import { startOidcPeer } from '../peers/oidc-peer.ts'
import { startJwksPeer } from '../peers/jwks-peer.ts'

const REDIRECT = 'http://127.0.0.1:1/google/callback'
// Google expects client_secret_post; the peer is told to accept only that.
const peer = await startOidcPeer({ clients: [{ clientId: 'g-client', clientSecret: 'g-secret', redirectUris: [REDIRECT], tokenEndpointAuthMethod: 'client_secret_post' }] })
const idp = await startJwksPeer()
t.teardown(async () => { await peer.close(); await idp.close() })

const { issuer, authorize, token, userinfo, jwks, tokeninfo } = peer.endpoints
const google = createProviderRegistry({
  'google-oauth2': { type: 'google', allowPrivateNetwork: true, clientId: 'g-client', clientSecret: 'g-secret', endpoints: { issuer, authorize, token, userinfo, jwks, introspection: tokeninfo } }
}).get('google-oauth2') as OAuth2Provider

t.test('Google-shaped code flow: PKCE, nonce, client_secret_post → verified profile', async (t) => {
  const codeVerifier = randomBytes(32).toString('base64url')
  const nonce = randomBytes(8).toString('hex')
  const url = google.authorizeUrl({ state: 'st', redirectUri: REDIRECT, codeVerifier, nonce })
  t.ok(url.startsWith(authorize))
  t.equal(new URL(url).searchParams.get('scope'), 'openid email profile')
  const { code } = await peer.authorize(url, 'alice')
  const tokens = await google.exchangeCode({ code, redirectUri: REDIRECT, codeVerifier })
  if (!tokens.ok) throw new Error(tokens.detail)
  const p = await google.profileFromTokens(tokens.value, { nonce })
  t.match(p, { ok: true, value: { providerType: 'google', providerName: 'google-oauth2', subject: 'alice', issuer, email: 'alice@example.test', emailVerified: true } })
  t.match(await google.profileFromTokens(tokens.value, { nonce: 'other' }), { ok: false, error: 'invalid_credentials' })
})

t.test('profileFromAccessToken is userinfo (once tokeninfo says the token is ours)', async (t) => {
  const { accessToken } = await peer.tokensFor('carol')
  t.match(await google.profileFromAccessToken(accessToken), { ok: true, value: { subject: 'carol', email: null, emailVerified: false } })
})

t.test('an issuer other than the configured one is refused', async (t) => {
  // Real Google issuer configured, tokens from the peer: signature fine, iss wrong.
  const strict = createProviderRegistry({ g: { type: 'google', allowPrivateNetwork: true, clientId: 'g-client', clientSecret: 'g-secret', endpoints: { authorize, token, userinfo, jwks } } }).get('g') as OAuth2Provider
  const tokens = await peer.tokensFor('alice')
  const r = await strict.profileFromTokens({ accessToken: tokens.accessToken, idToken: tokens.idToken, raw: {} })
  t.match(r, { ok: false, error: 'invalid_credentials' })
  t.match((r as { detail: string }).detail, /iss/)
})

t.test('forged and foreign id_tokens', async (t) => {
  const g = createProviderRegistry({
    g: { type: 'google', allowPrivateNetwork: true, clientId: 'aud-1', clientSecret: 's', endpoints: { issuer: idp.issuer, jwks: idp.jwksUrl, userinfo: idp.userinfoUrl } }
  }).get('g') as OAuth2Provider
  const base = { sub: 'u-1', aud: 'aud-1', email: 'u1@example.test', email_verified: true, name: 'U One', nonce: 'n-1' }
  const check = async (idToken: string, nonce?: string) => g.profileFromTokens({ accessToken: 'at', idToken, raw: {} }, { nonce })

  t.match(await check(await idp.sign(base), 'n-1'), { ok: true, value: { subject: 'u-1', issuer: idp.issuer, emailVerified: true } }, 'control: a good token passes')
  t.match(await check(await idp.sign(base, { key: 'rogue' })), { ok: false, error: 'invalid_credentials' }, 'same kid, unpublished key')
  t.match(await check(await idp.sign(base, { key: 'rogue', kid: 'not-in-jwks' })), { ok: false, error: 'invalid_credentials' }, 'unknown kid')
  t.match(await check(await idp.sign({ ...base, aud: 'someone-else' })), { ok: false, error: 'invalid_credentials' }, 'wrong audience')
  t.match(await check(await idp.sign({ ...base, aud: ['aud-1', 'other'], azp: 'other' })), { ok: false, error: 'invalid_credentials' }, 'azp names another client')
  t.match(await check(await idp.sign({ ...base, iss: 'https://accounts.google.com.evil' })), { ok: false, error: 'invalid_credentials' }, 'wrong issuer')
  const past = Math.floor(Date.now() / 1000) - 7200
  t.match(await check(await idp.sign({ ...base, iat: past, exp: past + 600 })), { ok: false, error: 'invalid_credentials' }, 'expired')
  t.match(await check(await idp.sign(base), 'n-2'), { ok: false, error: 'invalid_credentials' }, 'wrong nonce')
  t.match(await check(await idp.sign({ ...base, nonce: undefined }), 'n-1'), { ok: false, error: 'invalid_credentials' }, 'missing nonce')
  const [h, p] = (await idp.sign(base)).split('.')
  t.match(await check(`${h}.${p}.`), { ok: false, error: 'invalid_credentials' }, 'signature stripped')
  t.match(await check('garbage'), { ok: false, error: 'invalid_credentials' }, 'not a JWT')

  // userinfo is consulted only for missing claims, and must be about the same subject.
  idp.userinfo = { sub: 'someone-else', email: 'x@example.test', email_verified: true }
  t.match(await check(await idp.sign({ sub: 'u-1', aud: 'aud-1' })), { ok: false, error: 'invalid_credentials' }, 'userinfo for another sub')
  idp.userinfo = { sub: 'u-1', email: 'u1@example.test', email_verified: false, name: 'From Userinfo' }
  t.match(await check(await idp.sign({ sub: 'u-1', aud: 'aud-1', email_verified: true })), { ok: true, value: { email: 'u1@example.test', emailVerified: false, displayName: 'From Userinfo' } }, 'email and its flag come from the same source')
})

t.test('the JWKS is fetched once per URL and shared by every provider using it', async (t) => {
  const fresh = await startJwksPeer()
  t.teardown(() => fresh.close())
  const cfg = { type: 'google' as const, allowPrivateNetwork: true, clientId: 'shared', clientSecret: 's', endpoints: { issuer: fresh.issuer, jwks: fresh.jwksUrl } }
  const providers = Array.from({ length: 20 }, (_, i) => createProviderRegistry({ [`tenant-${i}`]: cfg }).get(`tenant-${i}`) as OAuth2Provider)
  const idToken = await fresh.sign({ sub: 's', aud: 'shared', email: 'a@b.test', name: 'N' })
  for (const p of providers) t.equal((await p.profileFromTokens({ accessToken: 'x', idToken, raw: {} })).ok, true)
  t.equal(fresh.jwksHits, 1)
})
