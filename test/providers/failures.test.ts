// Provider failures are values: hangs and timeouts, 5xx, garbage and refused connections → unavailable.
import t from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createProviderRegistry, type OAuth1Provider, type OAuth2Provider } from '../../plugins/providers/index.ts'
import { startHangingPeer } from '../peers/hanging-peer.ts'

const TIMEOUT = 400
const BOUND = TIMEOUT + 2000
const hang = await startHangingPeer()
const stall = await startHangingPeer({ mode: 'headers-then-stall' })
// Answers every request with the status and body named in the path: /status/503/body/<text>.
const scripted = createServer((req, res) => {
  const m = /^\/status\/(\d+)\/body\/(.*)$/.exec(req.url ?? '')
  res.writeHead(m ? Number(m[1]) : 404, { 'content-type': 'application/json' })
  res.end(m ? decodeURIComponent(m[2]) : '')
})
await new Promise<void>((resolve) => scripted.listen(0, '127.0.0.1', resolve))
const S = `http://127.0.0.1:${(scripted.address() as AddressInfo).port}`
// A port nothing listens on: bind, read the port, close.
const closed = createServer()
await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
const DEAD = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`
await new Promise<void>((resolve) => closed.close(() => resolve()))
t.teardown(async () => {
  await hang.close()
  await stall.close()
  await new Promise<void>((resolve) => scripted.close(() => resolve()))
})

const gh = (token: string, userinfo = `${S}/status/200/body/${encodeURIComponent('{"id":1}')}`, emails = `${S}/status/200/body/[]`) =>
  createProviderRegistry({ g: { type: 'github', allowPrivateNetwork: true, clientId: 'c', clientSecret: 's', timeoutMs: TIMEOUT, endpoints: { token, userinfo, emails } } }).get('g') as OAuth2Provider

async function timed<T> (fn: () => Promise<T>): Promise<[T, number]> {
  const start = Date.now()
  const v = await fn()
  return [v, Date.now() - start]
}

t.test('a token endpoint that never answers → unavailable within the timeout', async (t) => {
  const [r, ms] = await timed(() => gh(`${hang.url}/token`).exchangeCode({ code: 'c', redirectUri: 'http://127.0.0.1:1/cb' }))
  t.match(r, { ok: false, error: 'unavailable' })
  t.ok(ms < BOUND, `took ${ms} ms`)
  t.ok(hang.hits > 0, 'the request reached the peer')
})

t.test('an API that sends headers then stalls the body → unavailable within the timeout', async (t) => {
  const [r, ms] = await timed(() => gh(`${S}/x`, `${stall.url}/user`).profileFromAccessToken('tok'))
  t.match(r, { ok: false, error: 'unavailable' })
  t.ok(ms < BOUND, `took ${ms} ms`)
})

t.test('registry defaultTimeoutMs applies when the provider has none', async (t) => {
  const p = createProviderRegistry({ f: { type: 'facebook', allowPrivateNetwork: true, clientId: 'c', clientSecret: 's', endpoints: { userinfo: `${hang.url}/me` } } }, { defaultTimeoutMs: 300 }).get('f') as OAuth2Provider
  const [r, ms] = await timed(() => p.profileFromAccessToken('tok'))
  t.match(r, { ok: false, error: 'unavailable' })
  t.ok(ms < 300 + 2000, `took ${ms} ms`)
})

t.test('OIDC discovery and JWKS that hang → unavailable', async (t) => {
  const disc = createProviderRegistry({ o: { type: 'oidc', allowPrivateNetwork: true, clientId: 'c', clientSecret: 's', timeoutMs: TIMEOUT, endpoints: { discovery: `${hang.url}/.well-known/openid-configuration` } } })
  const [r, ms] = await timed(() => (disc.get('o') as OAuth2Provider).exchangeCode({ code: 'c', redirectUri: 'http://127.0.0.1:1/cb' }))
  t.match(r, { ok: false, error: 'unavailable' })
  t.ok(ms < BOUND, `took ${ms} ms`)
  t.match(await disc.ready(), { o: { ok: false, error: 'unavailable' } })

  const jw = createProviderRegistry({ g: { type: 'google', allowPrivateNetwork: true, clientId: 'c', clientSecret: 's', timeoutMs: TIMEOUT, endpoints: { issuer: 'http://issuer.test', jwks: `${hang.url}/jwks` } } }).get('g') as OAuth2Provider
  // A syntactically valid RS256 JWT; the key lookup is what hangs.
  const jwt = `${Buffer.from('{"alg":"RS256","kid":"k"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.c2ln`
  const [r2, ms2] = await timed(() => jw.profileFromTokens({ accessToken: 'a', idToken: jwt, raw: {} }))
  t.match(r2, { ok: false, error: 'unavailable' })
  t.ok(ms2 < BOUND, `took ${ms2} ms`)
})

t.test('twitter request_token that hangs → unavailable', async (t) => {
  const tw = createProviderRegistry({ t: { type: 'twitter', allowPrivateNetwork: true, consumerKey: 'k', consumerSecret: 's', timeoutMs: TIMEOUT, endpoints: { requestToken: `${hang.url}/oauth/request_token` } } }).get('t') as OAuth1Provider
  const [r, ms] = await timed(() => tw.requestToken({ callbackUrl: 'http://127.0.0.1:1/cb' }))
  t.match(r, { ok: false, error: 'unavailable' })
  t.ok(ms < BOUND, `took ${ms} ms`)
})

t.test('5xx, 429, garbage bodies and refused connections → unavailable; 4xx → invalid_credentials', async (t) => {
  const cases: Array<[string, string]> = [
    [`${S}/status/503/body/${encodeURIComponent('{"error":"temporarily_unavailable"}')}`, 'unavailable'],
    [`${S}/status/500/body/oops`, 'unavailable'],
    [`${S}/status/429/body/{}`, 'unavailable'],
    [`${S}/status/200/body/${encodeURIComponent('<html>not json</html>')}`, 'unavailable'],
    [`${S}/status/200/body/${encodeURIComponent('{"token_type":"bearer"}')}`, 'unavailable'],
    [`${DEAD}/token`, 'unavailable'],
    [`${S}/status/400/body/${encodeURIComponent('{"error":"invalid_grant"}')}`, 'invalid_credentials'],
    [`${S}/status/401/body/${encodeURIComponent('{"error":"invalid_client"}')}`, 'invalid_credentials'],
    [`${S}/status/200/body/${encodeURIComponent('{"error":"bad_verification_code"}')}`, 'invalid_credentials']
  ]
  for (const [url, error] of cases) {
    const r = await gh(url).exchangeCode({ code: 'c', redirectUri: 'http://127.0.0.1:1/cb' })
    t.match(r, { ok: false, error }, url.replace(S, ''))
  }
})

t.test('failure details never echo the body, code or token', async (t) => {
  const r = await gh(`${S}/status/400/body/${encodeURIComponent('{"error":"leaky secret value here"}')}`).exchangeCode({ code: 'the-code', redirectUri: 'http://127.0.0.1:1/cb' })
  t.equal(r.ok, false)
  t.notMatch((r as { detail: string }).detail, /leaky|the-code|secret/)
})
