// Twitter/X OAuth 1.0a: the `oauth` package signs (HMAC-SHA1); requests go through the shared undici Agent.
import OAuthPkg from 'oauth'
import type { NormalizedProfile, OAuth1Provider, ProviderResult } from './types.ts'
import type { OAuth1ProviderConfig } from './schema.ts'
import { invalid, send, sendJson, str, unavailable, type HttpReply } from './http.ts'

export const TWITTER_DEFAULTS = {
  requestToken: 'https://api.twitter.com/oauth/request_token',
  authorize: 'https://api.twitter.com/oauth/authenticate',
  accessToken: 'https://api.twitter.com/oauth/access_token',
  profile: 'https://api.twitter.com/1.1/account/verify_credentials.json'
}

// The oauth package's signer, used without its own http client (which has no timeout and no shared pool).
interface Signer {
  _prepareParameters (token: string | null, tokenSecret: string | null, method: string, url: string, extra: Record<string, string>): Array<[string, string]>
  _buildAuthorizationHeaders (ordered: Array<[string, string]>): string
}

export function createTwitterProvider ({ name, config, timeoutMs }: { name: string, config: OAuth1ProviderConfig, timeoutMs: number }) {
  const ep = { ...TWITTER_DEFAULTS, ...config.endpoints }
  const profileUrl = new URL(ep.profile)
  profileUrl.searchParams.set('include_email', 'true')
  profileUrl.searchParams.set('skip_status', 'true')
  const allowPrivateNetwork = config.allowPrivateNetwork === true
  const signer = new OAuthPkg.OAuth(ep.requestToken, ep.accessToken, config.consumerKey, config.consumerSecret, '1.0', null, 'HMAC-SHA1') as unknown as Signer

  function authorization (method: string, url: string, token: string | null, tokenSecret: string | null, extra: Record<string, string> = {}): string {
    return signer._buildAuthorizationHeaders(signer._prepareParameters(token, tokenSecret, method, url, extra))
  }

  async function formPost (url: string, what: string, token: string | null, tokenSecret: string | null, extra: Record<string, string>): Promise<ProviderResult<Record<string, string>>> {
    const sent = await send({ method: 'POST', url, what, timeoutMs, allowPrivateNetwork, headers: { authorization: authorization('POST', url, token, tokenSecret, extra) } })
    if (!sent.ok) return sent
    return parseForm(sent.value, what)
  }

  async function profile (accessToken: string, accessTokenSecret: string): Promise<ProviderResult<NormalizedProfile>> {
    const url = profileUrl.toString()
    const got = await sendJson({ url, what: 'verify_credentials', timeoutMs, allowPrivateNetwork, headers: { authorization: authorization('GET', url, accessToken, accessTokenSecret) } })
    if (!got.ok) return got
    const b = got.value.body
    const id = str(b.id_str) ?? (typeof b.id === 'number' ? String(b.id) : null)
    if (id === null) return unavailable('verify_credentials: no id_str in response')
    const email = str(b.email)
    return {
      ok: true,
      value: {
        providerType: 'twitter',
        providerName: name,
        subject: id,
        issuer: null,
        email,
        // Twitter says it returns only verified addresses, but nothing in the payload asserts it and the
        // app permission can change what comes back; we treat it as unverified so it never auto-links.
        emailVerified: false,
        givenName: null,
        familyName: null,
        displayName: str(b.name),
        username: str(b.screen_name),
        photo: str(b.profile_image_url_https),
        raw: b
      }
    }
  }

  return {
    protocol: 'oauth1',
    name,
    type: 'twitter',
    async requestToken ({ callbackUrl }) {
      const r = await formPost(ep.requestToken, 'request_token', null, null, { oauth_callback: callbackUrl })
      if (!r.ok) return r
      const { oauth_token: oauthToken, oauth_token_secret: oauthTokenSecret } = r.value
      if (!oauthToken || !oauthTokenSecret) return unavailable('request_token: no token in response')
      return { ok: true, value: { oauthToken, oauthTokenSecret, callbackConfirmed: r.value.oauth_callback_confirmed === 'true' } }
    },
    authorizeUrl (oauthToken) {
      const u = new URL(ep.authorize)
      u.searchParams.set('oauth_token', oauthToken)
      return u.toString()
    },
    async accessToken ({ oauthToken, oauthTokenSecret, verifier }) {
      const r = await formPost(ep.accessToken, 'access_token', oauthToken, oauthTokenSecret, { oauth_verifier: verifier })
      if (!r.ok) return r
      const { oauth_token: accessToken, oauth_token_secret: accessTokenSecret, ...rest } = r.value
      if (!accessToken || !accessTokenSecret) return unavailable('access_token: no token in response')
      return { ok: true, value: { accessToken, accessTokenSecret, raw: rest } }
    },
    // No audience check is needed: every call is signed with our consumer key and secret, and the provider
    // refuses a token pair that was issued to another consumer (401), whoever presents it.
    profileFromAccessToken: profile
  } satisfies OAuth1Provider
}

function parseForm (reply: HttpReply, what: string): ProviderResult<Record<string, string>> {
  const { status, text } = reply
  if (status === 408 || status === 429 || status >= 500) return unavailable(`${what}: HTTP ${status}`)
  if (status >= 400) return invalid(`${what}: HTTP ${status}`)
  if (status !== 200) return unavailable(`${what}: unexpected HTTP ${status}`)
  const out = Object.fromEntries(new URLSearchParams(text))
  return { ok: true, value: out }
}
