// The hosted Social Login round trip through an OAuth 1.0a provider (Twitter-shaped peer that checks
// HMAC-SHA1 signatures): start → the peer's authorize page → callback with oauth_verifier → token_url,
// then auth_info; the request token is single use and bound to its tenant.
import t from 'tap'
import { build, cookiesFrom, postForm, tenantDoc } from '../helpers/build.ts'
import { startOAuth1Peer } from '../peers/oauth1-peer.ts'

const TOKEN_URL = 'https://tw-app.test/token'
const API_KEY = 'engage-api-key-twitter-0123456789'

t.test('twitter: start, authorize, callback, token, auth_info', async (t) => {
  const peer = await startOAuth1Peer({ consumers: [{ key: 'tw-consumer', secret: 'tw-consumer-secret' }] })
  t.teardown(() => peer.close())
  const tenant = (id: string) => tenantDoc(id, {
    providers: { twitter: { type: 'twitter', allowPrivateNetwork: true, consumerKey: 'tw-consumer', consumerSecret: 'tw-consumer-secret', endpoints: peer.endpoints } },
    clients: [{ id: 'tw-client-0123456789abcdef0123', features: ['login_client'], apiKey: API_KEY }],
    dialects: { capture: { tokenUrls: [TOKEN_URL] } }
  })
  const { api, url } = await build(t, { tenants: [tenant('tw'), tenant('tw2')] })

  const start = await api(`/t/tw/social/twitter/start?token_url=${encodeURIComponent(TOKEN_URL)}`, { redirect: 'manual' })
  t.equal(start.status, 302)
  const authorizeUrl = new URL(start.headers.get('location')!)
  t.equal(authorizeUrl.origin + authorizeUrl.pathname, peer.endpoints.authorize)
  const requestToken = authorizeUrl.searchParams.get('oauth_token')!
  t.ok(requestToken, 'sent to the provider with a request token')

  const approved = await peer.authorize(requestToken, 'alice')
  const callback = new URL(approved.redirect)
  t.equal(callback.origin + callback.pathname, `${url}/t/tw/social/twitter/callback`, 'the provider returns to our callback')

  // The same request token presented at another tenant is not that tenant's.
  const foreign = await api(`/t/tw2/social/twitter/callback${callback.search}`, { redirect: 'manual', headers: { cookie: cookiesFrom(start) } })
  t.equal(foreign.status, 400)
  t.equal(foreign.headers.get('location'), null)

  const browser = { cookie: cookiesFrom(start) } // the browser that opened start comes back with its binding
  const back = await api(`/t/tw/social/twitter/callback${callback.search}`, { redirect: 'manual', headers: browser })
  t.equal(back.status, 302)
  const landing = new URL(back.headers.get('location')!)
  t.equal(landing.origin + landing.pathname, TOKEN_URL)
  const token = landing.searchParams.get('token')!
  t.match(token, /^[a-z0-9]{40}$/)

  const replay = await api(`/t/tw/social/twitter/callback${callback.search}`, { redirect: 'manual', headers: browser })
  t.equal(replay.status, 400, 'the request token is single use')

  const info = await api('/t/tw/api/v2/auth_info', postForm({ apiKey: API_KEY, token }))
  const body = await info.json() as any
  t.equal(body.stat, 'ok')
  t.match(body.profile, { providerName: 'Twitter', preferredUsername: 'alice', displayName: 'Alice Liddell', email: 'alice@example.test' })
  t.notOk(body.profile.verifiedEmail, 'Twitter does not assert a verified email')
})
