// Facebook Login: OAuth2 code flow plus the Graph API `/me`; raw access tokens also go through
// `debug_token`, whose `app_id` must be this app.
import { createHmac } from 'node:crypto'
import type { NormalizedProfile, OAuth2Provider, ProviderResult } from './types.ts'
import type { OAuth2ProviderConfig } from './schema.ts'
import { invalid, sendJson, str, unavailable } from './http.ts'
import { bearer, buildAuthorizeUrl, exchangeCode } from './oauth2-common.ts'
import { bothPassed, sameSubject, type TokenOwner } from './access-token.ts'

export const FACEBOOK_DEFAULTS = {
  authorize: 'https://www.facebook.com/v19.0/dialog/oauth',
  token: 'https://graph.facebook.com/v19.0/oauth/access_token',
  userinfo: 'https://graph.facebook.com/v19.0/me',
  introspection: 'https://graph.facebook.com/v19.0/debug_token'
}

const FIELDS = 'id,name,email,first_name,last_name,picture'

export function createFacebookProvider ({ name, config, timeoutMs }: { name: string, config: OAuth2ProviderConfig, timeoutMs: number }) {
  const ep = { ...FACEBOOK_DEFAULTS, ...config.endpoints }
  const scope = config.scope ?? ['email', 'public_profile']
  const allowPrivateNetwork = config.allowPrivateNetwork === true
  // debug_token lives next to /me in the same Graph version: follow a custom userinfo.
  const debugUrl = config.endpoints?.introspection ??
    (config.endpoints?.userinfo !== undefined && /\/me\/?$/.test(config.endpoints.userinfo)
      ? config.endpoints.userinfo.replace(/\/me\/?$/, '/debug_token')
      : FACEBOOK_DEFAULTS.introspection)

  async function me (accessToken: string): Promise<ProviderResult<NormalizedProfile>> {
    const url = new URL(ep.userinfo)
    url.searchParams.set('fields', FIELDS)
    // Apps set to "Require App Secret" refuse calls without the proof; it costs nothing to always send it.
    url.searchParams.set('appsecret_proof', createHmac('sha256', config.clientSecret).update(accessToken).digest('hex'))
    const got = await sendJson({ url: url.toString(), headers: bearer(accessToken), timeoutMs, allowPrivateNetwork, what: 'graph /me' })
    if (!got.ok) return got
    const b = got.value.body
    const id = str(b.id)
    if (id === null) return unavailable('graph /me: no id in response')
    const picture = (b.picture as { data?: { url?: unknown } } | undefined)?.data?.url
    const email = str(b.email)
    return {
      ok: true,
      value: {
        providerType: 'facebook',
        providerName: name,
        subject: id,
        issuer: null,
        email,
        // Facebook returns only an address it considers valid but asserts nothing about verification
        // in the payload; we never treat it as verified, so it can never auto-link accounts (DESIGN 4.3).
        emailVerified: false,
        givenName: str(b.first_name),
        familyName: str(b.last_name),
        displayName: str(b.name),
        username: null,
        photo: str(picture),
        raw: b
      }
    }
  }

  /**
   * The user id of a valid token issued to this app. appsecret_proof on /me already ties the call to our
   * secret; debug_token says so explicitly (and does not depend on the app's "Require App Secret" setting).
   */
  async function debugToken (accessToken: string): Promise<ProviderResult<TokenOwner>> {
    if (config.accessTokenCheck === 'refuse') return invalid('access token: raw access tokens are refused (accessTokenCheck: refuse)')
    const url = new URL(debugUrl)
    url.searchParams.set('input_token', accessToken)
    url.searchParams.set('access_token', `${config.clientId}|${config.clientSecret}`)
    const got = await sendJson({ url: url.toString(), headers: { accept: 'application/json' }, timeoutMs, allowPrivateNetwork, what: 'graph debug_token' })
    if (!got.ok) return got
    const data = got.value.body.data as Record<string, unknown> | undefined
    if (typeof data !== 'object' || data === null) return unavailable('graph debug_token: no data in response')
    if (data.is_valid !== true) return invalid('graph debug_token: token is not valid')
    if (String(data.app_id ?? '') !== config.clientId) return invalid('graph debug_token: another app\'s token')
    return { ok: true, value: { subject: str(data.user_id) ?? (typeof data.user_id === 'number' ? String(data.user_id) : null) } }
  }

  async function profileFromRawToken (accessToken: string): Promise<ProviderResult<NormalizedProfile>> {
    const both = bothPassed(...await Promise.all([debugToken(accessToken), me(accessToken)]))
    if (!both.ok) return both
    const same = sameSubject(both.value.owner, both.value.profile.subject, 'graph debug_token')
    return same.ok ? { ok: true, value: both.value.profile } : same
  }

  return {
    protocol: 'oauth2',
    name,
    type: 'facebook',
    authorizeUrl: (input) => buildAuthorizeUrl(ep.authorize, config.clientId, scope, { ...input, nonce: undefined }),
    exchangeCode: (input) => exchangeCode({ url: ep.token, clientId: config.clientId, clientSecret: config.clientSecret, auth: config.tokenEndpointAuthMethod ?? 'client_secret_post', method: 'GET', timeoutMs, allowPrivateNetwork }, input),
    // A token from our own code exchange is ours; a raw one is checked first.
    profileFromTokens: (tokens) => me(tokens.accessToken),
    profileFromAccessToken: profileFromRawToken
  } satisfies OAuth2Provider
}
