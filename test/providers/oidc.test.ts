// Generic `oidc` and `demo`-style providers against a real oidc-provider peer: code flow, PKCE, nonce, userinfo.
import t from 'tap'
import { randomBytes, createHash } from 'node:crypto'
import { createProviderRegistry, type OAuth2Provider } from '../../plugins/providers/index.ts'
import { startOidcPeer } from '../peers/oidc-peer.ts'

const REDIRECT = 'http://127.0.0.1:1/callback'
const client = { clientId: 'app-1', clientSecret: 'secret-1', redirectUris: [REDIRECT] }
const peer = await startOidcPeer({ clients: [client, { clientId: 'other-app', clientSecret: 'secret-2', redirectUris: [REDIRECT] }] })
t.teardown(() => peer.close())

const registry = createProviderRegistry({
  corp: { type: 'oidc', allowPrivateNetwork: true, clientId: 'app-1', clientSecret: 'secret-1', endpoints: { issuer: peer.issuer } }
})
const corp = registry.get('corp') as OAuth2Provider & { ready (): Promise<unknown> }

const verifier = () => randomBytes(32).toString('base64url')

async function login (p: OAuth2Provider, account: string, o: { nonce?: string, codeVerifier?: string } = {}) {
  const state = randomBytes(8).toString('hex')
  const url = p.authorizeUrl({ state, redirectUri: REDIRECT, codeVerifier: o.codeVerifier, nonce: o.nonce })
  const got = await peer.authorize(url, account)
  return { ...got, sentState: state, url }
}

t.test('authorizeUrl before discovery throws a coded error; ready() fetches discovery', async (t) => {
  t.throws(() => corp.authorizeUrl({ state: 's', redirectUri: REDIRECT }), { code: 'VST_ERR_PROVIDER_NOT_READY' })
  t.same(await registry.ready(), {})
  t.ok(corp.authorizeUrl({ state: 's', redirectUri: REDIRECT }).startsWith(peer.endpoints.authorize))
})

t.test('full code flow with PKCE and nonce gives the verified profile', async (t) => {
  const codeVerifier = verifier()
  const nonce = randomBytes(8).toString('hex')
  const { code, state, sentState, url } = await login(corp, 'alice', { codeVerifier, nonce })
  t.equal(state, sentState, 'state round-trips')
  const u = new URL(url)
  t.equal(u.searchParams.get('code_challenge'), createHash('sha256').update(codeVerifier).digest('base64url'))
  t.equal(u.searchParams.get('code_challenge_method'), 'S256')
  t.equal(u.searchParams.get('nonce'), nonce)

  const tokens = await corp.exchangeCode({ code, redirectUri: REDIRECT, codeVerifier })
  if (!tokens.ok) throw new Error(tokens.detail)
  t.ok(tokens.value.idToken, 'id_token returned')
  const profile = await corp.profileFromTokens(tokens.value, { nonce })
  if (!profile.ok) throw new Error(profile.detail)
  t.match(profile.value, {
    providerType: 'oidc',
    providerName: 'corp',
    subject: 'alice',
    issuer: peer.issuer,
    email: 'alice@example.test',
    emailVerified: true,
    givenName: 'Alice',
    familyName: 'Liddell',
    displayName: 'Alice Liddell',
    username: 'alice'
  })
})

t.test('PKCE: the wrong verifier is refused, and a code is single use', async (t) => {
  const codeVerifier = verifier()
  const { code } = await login(corp, 'alice', { codeVerifier })
  const wrong = await corp.exchangeCode({ code, redirectUri: REDIRECT, codeVerifier: verifier() })
  t.match(wrong, { ok: false, error: 'invalid_credentials' })

  const second = await login(corp, 'alice', { codeVerifier })
  const ok = await corp.exchangeCode({ code: second.code, redirectUri: REDIRECT, codeVerifier })
  t.equal(ok.ok, true)
  const replay = await corp.exchangeCode({ code: second.code, redirectUri: REDIRECT, codeVerifier })
  t.match(replay, { ok: false, error: 'invalid_credentials' })
})

t.test('nonce: different, missing, or replayed from an earlier login → invalid_credentials', async (t) => {
  const first = await login(corp, 'alice', { nonce: 'nonce-one' })
  const firstTokens = await corp.exchangeCode({ code: first.code, redirectUri: REDIRECT })
  if (!firstTokens.ok) throw new Error(firstTokens.detail)
  t.equal((await corp.profileFromTokens(firstTokens.value, { nonce: 'nonce-one' })).ok, true, 'control: right nonce passes')
  t.match(await corp.profileFromTokens(firstTokens.value, { nonce: 'nonce-two' }), { ok: false, error: 'invalid_credentials' }, 'replayed into a later login')

  const noNonce = await login(corp, 'alice')
  const tokens = await corp.exchangeCode({ code: noNonce.code, redirectUri: REDIRECT })
  if (!tokens.ok) throw new Error(tokens.detail)
  t.match(await corp.profileFromTokens(tokens.value, { nonce: 'expected' }), { ok: false, error: 'invalid_credentials' }, 'missing nonce')
  t.match(await corp.profileFromTokens({ ...tokens.value, idToken: undefined }, { nonce: 'expected' }), { ok: false, error: 'invalid_credentials' }, 'no id_token at all')
})

t.test('a token issued to another client is refused (aud)', async (t) => {
  const foreign = await peer.tokensFor('alice', { clientId: 'other-app' })
  const r = await corp.profileFromTokens({ accessToken: foreign.accessToken, idToken: foreign.idToken, raw: {} })
  t.match(r, { ok: false, error: 'invalid_credentials' })
  t.match((r as { detail: string }).detail, /aud/)
})

t.test('unverified and missing emails keep that fact', async (t) => {
  for (const [account, email, verified] of [['bob', 'bob@example.test', false], ['carol', null, false]] as const) {
    const { code } = await login(corp, account)
    const tokens = await corp.exchangeCode({ code, redirectUri: REDIRECT })
    if (!tokens.ok) throw new Error(tokens.detail)
    const p = await corp.profileFromTokens(tokens.value)
    if (!p.ok) throw new Error(p.detail)
    t.equal(p.value.subject, account)
    t.equal(p.value.email, email, `${account} email`)
    t.equal(p.value.emailVerified, verified, `${account} emailVerified`)
  }
})

t.test('code a client app obtained itself (its own PKCE) is exchanged; bad code refused', async (t) => {
  const codeVerifier = verifier()
  const url = new URL(peer.endpoints.authorize)
  url.search = new URLSearchParams({
    response_type: 'code', client_id: 'app-1', redirect_uri: REDIRECT, scope: 'openid email', state: 'app-state',
    code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'), code_challenge_method: 'S256'
  }).toString()
  const { code } = await peer.authorize(url.toString(), 'alice')
  const tokens = await corp.exchangeCode({ code, redirectUri: REDIRECT, codeVerifier })
  if (!tokens.ok) throw new Error(tokens.detail)
  const p = await corp.profileFromTokens(tokens.value)
  t.equal(p.ok && p.value.subject, 'alice')
  t.match(await corp.exchangeCode({ code: 'not-a-code', redirectUri: REDIRECT }), { ok: false, error: 'invalid_credentials' })
})

t.test('profileFromAccessToken uses userinfo; a bogus token is invalid_credentials', async (t) => {
  const { accessToken } = await peer.tokensFor('bob')
  const p = await corp.profileFromAccessToken(accessToken)
  if (!p.ok) throw new Error(p.detail)
  t.match(p.value, { subject: 'bob', email: 'bob@example.test', emailVerified: false, issuer: peer.issuer })
  t.match(await corp.profileFromAccessToken('bogus-token'), { ok: false, error: 'invalid_credentials' })
})

t.test('failures never carry secrets or tokens in detail', async (t) => {
  const r = await corp.exchangeCode({ code: 'secret-looking-code-123', redirectUri: REDIRECT, codeVerifier: 'v'.repeat(43) })
  t.equal(r.ok, false)
  const detail = (r as { detail: string }).detail
  t.notMatch(detail, /secret-1|secret-looking-code-123/)
})

t.test('id_token without profile claims: userinfo fills them in (email and its flag together)', async (t) => {
  const lean = await startOidcPeer({ clients: [client], idTokenClaims: false })
  t.teardown(() => lean.close())
  const reg = createProviderRegistry({ lean: { type: 'oidc', allowPrivateNetwork: true, clientId: 'app-1', clientSecret: 'secret-1', endpoints: { discovery: lean.endpoints.discovery } } })
  const p = reg.get('lean') as OAuth2Provider
  const tokens = await lean.tokensFor('alice')
  const payload = JSON.parse(Buffer.from(tokens.idToken!.split('.')[1], 'base64url').toString())
  t.notOk('email' in payload, 'peer really left email out of the id_token')
  const prof = await p.profileFromTokens({ accessToken: tokens.accessToken, idToken: tokens.idToken, raw: {} })
  if (!prof.ok) throw new Error(prof.detail)
  t.match(prof.value, { subject: 'alice', email: 'alice@example.test', emailVerified: true, displayName: 'Alice Liddell' })
})

t.test('demo type pointed at a peer issuer needs no discovery for authorizeUrl', async (t) => {
  const reg = createProviderRegistry({ demo: { type: 'demo', allowPrivateNetwork: true, clientId: 'app-1', clientSecret: 'secret-1', endpoints: { issuer: peer.issuer } } })
  const demo = reg.get('demo') as OAuth2Provider
  const { code } = await peer.authorize(demo.authorizeUrl({ state: 'x', redirectUri: REDIRECT }), 'alice')
  const tokens = await demo.exchangeCode({ code, redirectUri: REDIRECT })
  if (!tokens.ok) throw new Error(tokens.detail)
  const p = await demo.profileFromTokens(tokens.value)
  t.match(p, { ok: true, value: { providerType: 'demo', subject: 'alice', emailVerified: true } })
})
