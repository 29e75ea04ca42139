// Facebook Login: OAuth2 code flow plus the Graph API `/me`.
import { createHmac } from 'node:crypto'
import type { NormalizedProfile, OAuth2Provider, ProviderResult } from './types.ts'
import type { OAuth2ProviderConfig } from './schema.ts'
import { sendJson, str, unavailable } from './http.ts'
import { bearer, buildAuthorizeUrl, exchangeCode } from './oauth2-common.ts'

export const FACEBOOK_DEFAULTS = {
  authorize: 'https://www.facebook.com/v19.0/dialog/oauth',
  token: 'https://graph.facebook.com/v19.0/oauth/access_token',
  userinfo: 'https://graph.facebook.com/v19.0/me'
}

const FIELDS = 'id,name,email,first_name,last_name,picture'

export function createFacebookProvider ({ name, config, timeoutMs }: { name: string, config: OAuth2ProviderConfig, timeoutMs: number }) {
  const ep = { ...FACEBOOK_DEFAULTS, ...config.endpoints }
  const scope = config.scope ?? ['email', 'public_profile']

  async function me (accessToken: string): Promise<ProviderResult<NormalizedProfile>> {
    const url = new URL(ep.userinfo)
    url.searchParams.set('fields', FIELDS)
    // Apps set to "Require App Secret" refuse calls without the proof; it costs nothing to always send it.
    url.searchParams.set('appsecret_proof', createHmac('sha256', config.clientSecret).update(accessToken).digest('hex'))
    const got = await sendJson({ url: url.toString(), headers: bearer(accessToken), timeoutMs, what: 'graph /me' })
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

  return {
    protocol: 'oauth2',
    name,
    type: 'facebook',
    authorizeUrl: (input) => buildAuthorizeUrl(ep.authorize, config.clientId, scope, { ...input, nonce: undefined }),
    exchangeCode: (input) => exchangeCode({ url: ep.token, clientId: config.clientId, clientSecret: config.clientSecret, auth: config.tokenEndpointAuthMethod ?? 'client_secret_post', method: 'GET', timeoutMs }, input),
    profileFromTokens: (tokens) => me(tokens.accessToken),
    profileFromAccessToken: (accessToken) => me(accessToken)
  } satisfies OAuth2Provider
}
