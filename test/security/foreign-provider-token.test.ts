// A provider access token issued to ANOTHER client of the same provider never signs into this tenant:
// every provider type that accepts a raw access token (syncano's user/auth/:backend/) checks the token
// was issued to the tenant's own client, against the peers' real introspection, tokeninfo, check-a-token
// and debug_token endpoints. The victim's own app (our client) keeps working.
import t, { type Test } from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { startDemoIdp } from '../../plugins/providers/demo-idp.ts'
import { createProviderRegistry, type OAuth2Provider } from '../../plugins/providers/index.ts'
import { build, postJson, tenantDoc } from '../helpers/build.ts'
import { Browser } from '../peers/browser.ts'
import { startJwksPeer } from '../peers/jwks-peer.ts'
import { startOAuth1Peer } from '../peers/oauth1-peer.ts'
import { startOidcPeer } from '../peers/oidc-peer.ts'
import { SOCIAL_PEER_USERS, startSocialPeer } from '../peers/social-peer.ts'

const CB = 'http://127.0.0.1:1/cb'
const post = 'client_secret_post' as const
const google = await startOidcPeer({ clients: [
  { clientId: 'g-ours', clientSecret: 'g-ours-secret', redirectUris: [CB], tokenEndpointAuthMethod: post },
  { clientId: 'g-android', clientSecret: 'g-android-secret', redirectUris: [CB], tokenEndpointAuthMethod: post },
  { clientId: 'g-other', clientSecret: 'g-other-secret', redirectUris: [CB], tokenEndpointAuthMethod: post }
] })
const corp = await startOidcPeer({ clients: [
  { clientId: 'corp-ours', clientSecret: 'corp-ours-secret', redirectUris: [CB] },
  { clientId: 'corp-other', clientSecret: 'corp-other-secret', redirectUris: [CB] }
] })
const linkedin = await startOidcPeer({ routes: { userinfo: '/v2/userinfo' }, clients: [
  { clientId: 'li-ours', clientSecret: 'li-ours-secret', redirectUris: [CB], tokenEndpointAuthMethod: post },
  { clientId: 'li-other', clientSecret: 'li-other-secret', redirectUris: [CB], tokenEndpointAuthMethod: post }
] })
const jwtIdp = await startJwksPeer()
jwtIdp.userinfo = { sub: 'jwt-alice', email: 'jwt-alice@example.test', email_verified: true, name: 'Alice JWT' }
const socialClients = [
  { clientId: 'social-ours', clientSecret: 'social-ours-secret', redirectUris: [CB] },
  { clientId: 'social-other', clientSecret: 'social-other-secret', redirectUris: [CB] }
]
// Facebook addresses count as unverified, so each Facebook victim has an address of their own (Syncano refuses a
// new account without one, and an unverified address another account holds does not link).
const USERS = {
  ...SOCIAL_PEER_USERS,
  fiona: { id: '2001', login: 'fiona', name: 'Fiona Gallagher', firstName: 'Fiona', lastName: 'Gallagher', emails: [{ email: 'fiona@example.test', primary: true, verified: true }] },
  gus: { id: '2002', login: 'gus', name: 'Gus Pike', firstName: 'Gus', lastName: 'Pike', emails: [{ email: 'gus@example.test', primary: true, verified: true }] }
}
const social = await startSocialPeer({ clients: socialClients, users: USERS })
// A Graph that lets a foreign token through /me despite the appsecret_proof: only debug_token stands.
const laxGraph = await startSocialPeer({ clients: socialClients, users: USERS, checkAppsecretProof: false })
const twitter = await startOAuth1Peer({ consumers: [{ key: 'tw-ours', secret: 'tw-ours-secret' }, { key: 'tw-other', secret: 'tw-other-secret' }] })
const demo = await startDemoIdp({ port: 0, clients: [
  { clientId: 'demo-ours', clientSecret: 'demo-ours-secret', redirectUris: [CB] },
  { clientId: 'demo-other', clientSecret: 'demo-other-secret', redirectUris: [CB] }
] })
t.teardown(async () => {
  for (const p of [google, corp, linkedin, jwtIdp, social, laxGraph, twitter, demo]) await p.close()
})

const local = { allowPrivateNetwork: true }
const providers = {
  'google-oauth2': { type: 'google', ...local, clientId: 'g-ours', clientSecret: 'g-ours-secret', endpoints: { ...pick(google.endpoints, 'issuer', 'authorize', 'token', 'userinfo', 'jwks'), introspection: google.endpoints.tokeninfo } },
  // Discovery lists the introspection endpoint: RFC 7662 with the tenant's client credentials.
  corp: { type: 'oidc', ...local, clientId: 'corp-ours', clientSecret: 'corp-ours-secret', endpoints: { issuer: corp.issuer } },
  // The demo type against a real oidc-provider: its default introspection route.
  'corp-demo': { type: 'demo', ...local, clientId: 'corp-ours', clientSecret: 'corp-ours-secret', endpoints: { issuer: corp.issuer } },
  demo: { type: 'demo', ...local, clientId: 'demo-ours', clientSecret: 'demo-ours-secret', endpoints: { issuer: demo.issuer } },
  // No introspection anywhere: JWT access tokens are checked by signature and client, opaque ones refused.
  'corp-jwt': { type: 'oidc', ...local, clientId: 'corp-ours', clientSecret: 's', endpoints: { issuer: jwtIdp.issuer, authorize: `${jwtIdp.issuer}/auth`, token: `${jwtIdp.issuer}/token`, jwks: jwtIdp.jwksUrl, userinfo: jwtIdp.userinfoUrl } },
  linkedin: { type: 'linkedin', ...local, clientId: 'li-ours', clientSecret: 'li-ours-secret', endpoints: { authorize: linkedin.endpoints.authorize, token: linkedin.endpoints.token, userinfo: `${linkedin.issuer}/v2/userinfo`, introspection: linkedin.endpoints.introspection } },
  github: { type: 'github', ...local, clientId: 'social-ours', clientSecret: 'social-ours-secret', endpoints: { authorize: social.github.authorize, token: social.github.token, userinfo: social.github.user, emails: social.github.emails } },
  facebook: { type: 'facebook', ...local, clientId: 'social-ours', clientSecret: 'social-ours-secret', endpoints: { authorize: social.facebook.authorize, token: social.facebook.token, userinfo: social.facebook.me } },
  'facebook-lax': { type: 'facebook', ...local, clientId: 'social-ours', clientSecret: 'social-ours-secret', endpoints: { authorize: laxGraph.facebook.authorize, token: laxGraph.facebook.token, userinfo: laxGraph.facebook.me } },
  twitter: { type: 'twitter', ...local, consumerKey: 'tw-ours', consumerSecret: 'tw-ours-secret', endpoints: twitter.endpoints }
}

const KEY = 'foreign-token-api-key-0123456789'
// verified-email linking: alice's verified logins through several providers are one account. Facebook and
// Twitter never assert a verified email, so those cases use carol (no email) to stay clear of email-in-use.
const { api } = await build(t, {
  tenants: [tenantDoc('victim', { linking: 'verified-email', providers, instances: [{ name: 'app', apiKeys: [KEY] }], dialects: { syncano: {} } })]
})
const REFUSED = { detail: 'Invalid username or password.' }

async function signIn (backend: string, body: Record<string, string>): Promise<{ status: number, body: any }> {
  const res = await api(`/t/victim/v1.1/instances/app/user/auth/${backend}/`, postJson(body, { 'x-api-key': KEY }))
  return { status: res.status, body: await res.json() }
}

/** The victim signs in through our own app; a token the victim gave another app of the same provider is then refused. */
async function takeover (t: Test, backend: string, ours: Record<string, string>, foreign: Record<string, string>) {
  const own = await signIn(backend, ours)
  t.equal(own.status, 200, `${backend}: a token issued to our client signs in`)
  const attack = await signIn(backend, foreign)
  t.equal(attack.status, 401, `${backend}: a token issued to another client is refused`)
  t.same(attack.body, REFUSED, 'with the dialect\'s invalid-credentials answer')
  t.notOk(attack.body.user_key, 'and no user key for the victim\'s account')
  const again = await signIn(backend, ours)
  t.equal(again.status, 200, 'our own client still works')
  t.equal(again.body.id, own.body.id, 'as the same account')
}

const at = (accessToken: string) => ({ access_token: accessToken })

t.test('google: tokeninfo aud/azp must be our client id', async (t) => {
  await takeover(t, 'google-oauth2', at((await google.tokensFor('alice', { clientId: 'g-ours' })).accessToken), at((await google.tokensFor('alice', { clientId: 'g-other' })).accessToken))
})

t.test('generic OIDC: RFC 7662 introspection (from discovery), active and client_id ours', async (t) => {
  await takeover(t, 'corp', at((await corp.tokensFor('alice', { clientId: 'corp-ours' })).accessToken), at((await corp.tokensFor('alice', { clientId: 'corp-other' })).accessToken))
})

t.test('demo type: introspection at the default route, against oidc-provider and against the demo IdP', async (t) => {
  await takeover(t, 'corp-demo', at((await corp.tokensFor('bob', { clientId: 'corp-ours' })).accessToken), at((await corp.tokensFor('bob', { clientId: 'corp-other' })).accessToken))
  await takeover(t, 'demo', at(await demoToken('demo-ours', 'demo-ours-secret')), at(await demoToken('demo-other', 'demo-other-secret')))
})

t.test('generic OIDC without introspection: a JWT access token\'s signature and client decide; opaque tokens are refused', async (t) => {
  await takeover(t, 'corp-jwt', at(await jwtIdp.sign({ sub: 'jwt-alice', client_id: 'corp-ours', aud: 'https://api.example.test' })), at(await jwtIdp.sign({ sub: 'jwt-alice', client_id: 'corp-other', aud: 'https://api.example.test' })))
  t.same(await signIn('corp-jwt', at('opaque-' + randomBytes(16).toString('hex'))), { status: 401, body: REFUSED }, 'fail closed: an opaque token could be anyone\'s')
})

t.test('linkedin: introspectToken client_id must be ours', async (t) => {
  await takeover(t, 'linkedin', at((await linkedin.tokensFor('alice', { clientId: 'li-ours' })).accessToken), at((await linkedin.tokensFor('alice', { clientId: 'li-other' })).accessToken))
})

t.test('github: POST /applications/{client_id}/token answers 404 for another app\'s token', async (t) => {
  await takeover(t, 'github', at(social.accessTokenFor('github', 'alice', 'social-ours')), at(social.accessTokenFor('github', 'alice', 'social-other')))
  const checks = social.requests.filter((r) => r.path === '/github/applications/social-ours/token')
  t.ok(checks.length >= 3, 'the check-a-token endpoint was asked for every raw token')
  t.ok(checks.every((r) => r.authorization === 'Basic ' + Buffer.from('social-ours:social-ours-secret').toString('base64')), 'with Basic client_id:client_secret')
})

t.test('facebook: appsecret_proof, and debug_token app_id must be our app', async (t) => {
  await takeover(t, 'facebook', at(social.accessTokenFor('facebook', 'fiona', 'social-ours')), at(social.accessTokenFor('facebook', 'fiona', 'social-other')))
  // Where the proof does not stop it, debug_token does.
  await takeover(t, 'facebook-lax', at(laxGraph.accessTokenFor('facebook', 'gus', 'social-ours')), at(laxGraph.accessTokenFor('facebook', 'gus', 'social-other')))
  t.ok(laxGraph.requests.some((r) => r.path === '/facebook/debug_token'), 'debug_token was asked')
})

t.test('twitter (OAuth 1.0a): the provider refuses a pair issued to another consumer, since we sign with ours', async (t) => {
  const pair = (consumer: string) => { const p = twitter.accessTokenFor('carol', consumer); return { access_token: p.accessToken, access_token_secret: p.accessTokenSecret } }
  await takeover(t, 'twitter', pair('tw-ours'), pair('tw-other'))
})

t.test('provider level: what counts as ours', async (t) => {
  const reg = (extra: Record<string, unknown>) => createProviderRegistry({ p: { ...providers['google-oauth2'], ...extra } as never }).get('p') as OAuth2Provider
  const android = (await google.tokensFor('carol', { clientId: 'g-android' })).accessToken
  t.match(await reg({}).profileFromAccessToken(android), { ok: false, error: 'invalid_credentials', detail: /tokeninfo: azp is another client/ }, 'another client of ours is foreign until listed')
  t.match(await reg({ acceptedClientIds: ['g-android'] }).profileFromAccessToken(android), { ok: true, value: { subject: 'carol' } }, 'acceptedClientIds lists the tenant\'s own other clients')
  t.match(await reg({ accessTokenCheck: 'refuse' }).profileFromAccessToken((await google.tokensFor('carol', { clientId: 'g-ours' })).accessToken), { ok: false, error: 'invalid_credentials' }, 'accessTokenCheck: refuse')
  t.match(await reg({}).profileFromAccessToken('not-a-token'), { ok: false, error: 'invalid_credentials' }, 'an unknown token')

  const jwt = createProviderRegistry({ p: providers['corp-jwt'] as never }).get('p') as OAuth2Provider
  const check = (claims: Record<string, unknown>, opts?: { key?: 'rogue' }) => jwtIdp.sign({ sub: 'jwt-alice', ...claims }, opts).then((tok) => jwt.profileFromAccessToken(tok))
  t.match(await check({ client_id: 'corp-ours' }), { ok: true, value: { subject: 'jwt-alice', issuer: jwtIdp.issuer } }, 'client_id ours')
  t.match(await check({ aud: 'corp-ours' }), { ok: true }, 'no client_id or azp: aud ours')
  t.match(await check({ azp: 'corp-other', aud: 'corp-ours' }), { ok: false, error: 'invalid_credentials', detail: /azp is another client/ }, 'azp decides over aud')
  t.match(await check({ client_id: 'corp-other', azp: 'corp-ours' }), { ok: false, error: 'invalid_credentials', detail: /client_id is another client/ }, 'client_id decides over azp')
  t.match(await check({ scope: 'openid' }), { ok: false, error: 'invalid_credentials', detail: /no client_id, azp or aud/ }, 'no claim says whose')
  t.match(await check({ client_id: 'corp-ours' }, { key: 'rogue' }), { ok: false, error: 'invalid_credentials' }, 'forged signature')
  t.match(await check({ client_id: 'corp-ours', iss: 'https://elsewhere.test' }), { ok: false, error: 'invalid_credentials' }, 'another issuer')
  const past = Math.floor(Date.now() / 1000) - 7200
  t.match(await check({ client_id: 'corp-ours', iat: past, exp: past + 600 }), { ok: false, error: 'invalid_credentials' }, 'expired')
  t.match(await check({ client_id: 'corp-ours', sub: 'someone-else' }), { ok: false, error: 'invalid_credentials', detail: /sub differs/ }, 'userinfo about another subject')
  const introspectionOnly = createProviderRegistry({ p: { ...providers['corp-jwt'], accessTokenCheck: 'introspection' } as never }).get('p') as OAuth2Provider
  t.match(await introspectionOnly.profileFromAccessToken(await jwtIdp.sign({ sub: 'jwt-alice', client_id: 'corp-ours' })), { ok: false, error: 'invalid_credentials', detail: /no introspection endpoint/ }, 'accessTokenCheck: introspection with none known refuses')
})

t.test('dialects that take a code instead: a code issued to another client fails the code exchange', async (t) => {
  // rest-social-auth, by-link and oauth-confirm exchange codes with the tenant's own client credentials;
  // the provider binds codes to the client they were issued to. Shown here through the provider layer.
  const gh = createProviderRegistry({ gh: providers.github as never }).get('gh') as OAuth2Provider
  const code = social.codeFor('github', { userKey: 'alice', clientId: 'social-other', redirectUri: CB })
  t.match(await gh.exchangeCode({ code, redirectUri: CB }), { ok: false, error: 'invalid_credentials' })
  const g = createProviderRegistry({ g: providers['google-oauth2'] as never }).get('g') as OAuth2Provider
  const url = new URL(google.endpoints.authorize)
  const verifier = randomBytes(32).toString('base64url')
  url.search = new URLSearchParams({ response_type: 'code', client_id: 'g-other', redirect_uri: CB, scope: 'openid email', state: 's', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' }).toString()
  const { code: otherCode } = await google.authorize(url.toString(), 'alice')
  t.match(await g.exchangeCode({ code: otherCode, redirectUri: CB, codeVerifier: verifier }), { ok: false, error: 'invalid_credentials' })
})

/** A code flow at the demo IdP for `clientId`, as that client's app would run it; returns the access token. */
async function demoToken (clientId: string, clientSecret: string): Promise<string> {
  const verifier = randomBytes(32).toString('base64url')
  const url = new URL(`${demo.issuer}/auth`)
  url.search = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: CB, scope: 'openid email profile', state: 's', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' }).toString()
  const { params } = await new Browser().follow(url.toString(), CB, (fields) => ({ ...fields, account: 'demo-ada' }))
  const res = await fetch(`${demo.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + Buffer.from(`${clientId}:${clientSecret}`).toString('base64') },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: params.get('code') ?? '', redirect_uri: CB, code_verifier: verifier }).toString()
  })
  const body = await res.json() as { access_token?: string }
  if (typeof body.access_token !== 'string') throw new Error(`demo IdP token endpoint answered ${res.status}`)
  return body.access_token
}

function pick<T extends Record<string, string>> (o: T, ...keys: Array<keyof T>): Partial<T> {
  return Object.fromEntries(keys.map((k) => [k, o[k]])) as Partial<T>
}
