// twitter (OAuth 1.0a) against the signature-checking oauth1 peer: full flow and every refusal.
import t from 'tap'
import { createHmac } from 'node:crypto'
import OAuth from 'oauth-1.0a'
import { createProviderRegistry, type OAuth1Provider } from '../../plugins/providers/index.ts'
import { startOAuth1Peer } from '../peers/oauth1-peer.ts'

const CALLBACK = 'http://127.0.0.1:1/twitter/callback?flow=abc'
const peer = await startOAuth1Peer({ consumers: [{ key: 'ck', secret: 'cs' }] })
t.teardown(() => peer.close())

const registry = createProviderRegistry({
  twitter: { type: 'twitter', allowPrivateNetwork: true, consumerKey: 'ck', consumerSecret: 'cs', endpoints: peer.endpoints },
  'twitter-bad-secret': { type: 'twitter', allowPrivateNetwork: true, consumerKey: 'ck', consumerSecret: 'wrong', endpoints: peer.endpoints }
})
const tw = registry.get('twitter') as OAuth1Provider

async function approve (user: string) {
  const rt = await tw.requestToken({ callbackUrl: CALLBACK })
  if (!rt.ok) throw new Error(rt.detail)
  const auth = tw.authorizeUrl(rt.value.oauthToken)
  t.equal(new URL(auth).searchParams.get('oauth_token'), rt.value.oauthToken)
  const { oauthToken, oauthVerifier, redirect } = await peer.authorize(rt.value.oauthToken, user)
  return { rt: rt.value, oauthToken, oauthVerifier, redirect }
}

t.test('full flow: request token → authorize → access token → verify_credentials', async (t) => {
  const { rt, oauthToken, oauthVerifier, redirect } = await approve('alice')
  t.equal(rt.callbackConfirmed, true)
  t.ok(redirect.startsWith('http://127.0.0.1:1/twitter/callback?flow=abc&'), 'callback URL (with its query) was signed and kept')
  const at = await tw.accessToken({ oauthToken, oauthTokenSecret: rt.oauthTokenSecret, verifier: oauthVerifier })
  if (!at.ok) throw new Error(at.detail)
  t.equal(at.value.raw.screen_name, 'alice')
  const p = await tw.profileFromAccessToken(at.value.accessToken, at.value.accessTokenSecret)
  t.match(p, { ok: true, value: { providerType: 'twitter', subject: '2244994945', username: 'alice', email: 'alice@example.test', emailVerified: false, issuer: null } })
})

t.test('user without email comes through with email null', async (t) => {
  const pair = peer.accessTokenFor('carol', 'ck')
  t.match(await tw.profileFromAccessToken(pair.accessToken, pair.accessTokenSecret), { ok: true, value: { subject: '12', email: null, emailVerified: false } })
})

t.test('wrong verifier, wrong request-token secret, replayed request token → invalid_credentials', async (t) => {
  const a = await approve('alice')
  t.match(await tw.accessToken({ oauthToken: a.oauthToken, oauthTokenSecret: a.rt.oauthTokenSecret, verifier: 'wrong-verifier' }), { ok: false, error: 'invalid_credentials' })
  t.match(await tw.accessToken({ oauthToken: a.oauthToken, oauthTokenSecret: 'not-the-secret', verifier: a.oauthVerifier }), { ok: false, error: 'invalid_credentials' })
  t.equal((await tw.accessToken({ oauthToken: a.oauthToken, oauthTokenSecret: a.rt.oauthTokenSecret, verifier: a.oauthVerifier })).ok, true, 'control: right values pass')
  t.match(await tw.accessToken({ oauthToken: a.oauthToken, oauthTokenSecret: a.rt.oauthTokenSecret, verifier: a.oauthVerifier }), { ok: false, error: 'invalid_credentials' }, 'request token is single use')
})

t.test('wrong consumer secret and wrong access-token secret are refused', async (t) => {
  t.match(await (registry.get('twitter-bad-secret') as OAuth1Provider).requestToken({ callbackUrl: CALLBACK }), { ok: false, error: 'invalid_credentials' })
  const pair = peer.accessTokenFor('alice', 'ck')
  t.match(await tw.profileFromAccessToken(pair.accessToken, 'wrong-secret'), { ok: false, error: 'invalid_credentials' })
  t.match(await tw.profileFromAccessToken(pair.accessToken, pair.accessTokenSecret), { ok: true })
})

t.test('the peer checks signatures independently of the `oauth` package', async (t) => {
  const pair = peer.accessTokenFor('alice', 'ck')
  const signer = new OAuth({
    consumer: { key: 'ck', secret: 'cs' },
    signature_method: 'HMAC-SHA1',
    hash_function: (base, key) => createHmac('sha1', key).update(base).digest('base64')
  })
  const url = `${peer.endpoints.profile}?include_email=true`
  const call = async (tamper: (h: string) => string) => {
    const header = signer.toHeader(signer.authorize({ url, method: 'GET' }, { key: pair.accessToken, secret: pair.accessTokenSecret })).Authorization
    return (await fetch(url, { headers: { authorization: tamper(header) } })).status
  }
  t.equal(await call((h) => h), 200, 'oauth-1.0a signature accepted')
  t.equal(await call((h) => h.replace(/oauth_signature="([^"]+)"/, (_m, s: string) => `oauth_signature="${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}"`)), 401, 'tampered signature')
  t.equal(await call((h) => h.replace(/oauth_nonce="[^"]+"/, 'oauth_nonce="changed"')), 401, 'tampered signed parameter')
  t.equal(await call((h) => h.replace(/oauth_signature_method="[^"]+"/, 'oauth_signature_method="PLAINTEXT"')), 401, 'downgraded method')
})
