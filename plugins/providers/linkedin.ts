// LinkedIn "Sign In with LinkedIn using OpenID Connect": code flow and the OIDC userinfo endpoint.
import type { NormalizedProfile, OAuth2Provider, ProviderResult } from './types.ts'
import type { OAuth2ProviderConfig } from './schema.ts'
import { sendJson, unavailable } from './http.ts'
import { bearer, buildAuthorizeUrl, exchangeCode, profileFromClaims } from './oauth2-common.ts'

export const LINKEDIN_DEFAULTS = {
  issuer: 'https://www.linkedin.com/oauth',
  authorize: 'https://www.linkedin.com/oauth/v2/authorization',
  token: 'https://www.linkedin.com/oauth/v2/accessToken',
  userinfo: 'https://api.linkedin.com/v2/userinfo'
}

export function createLinkedinProvider ({ name, config, timeoutMs }: { name: string, config: OAuth2ProviderConfig, timeoutMs: number }) {
  const ep = { ...LINKEDIN_DEFAULTS, ...config.endpoints }
  const scope = config.scope ?? ['openid', 'profile', 'email']

  // The profile always comes from userinfo with an access token we (or the client app) got straight from
  // LinkedIn's token endpoint; the id_token is not needed for identity and is not relied upon.
  async function userinfo (accessToken: string): Promise<ProviderResult<NormalizedProfile>> {
    const got = await sendJson({ url: ep.userinfo, headers: bearer(accessToken), timeoutMs, what: 'linkedin userinfo' })
    if (!got.ok) return got
    const profile = profileFromClaims(name, 'linkedin', ep.issuer, got.value.body)
    return profile === null ? unavailable('linkedin userinfo: no sub in response') : { ok: true, value: profile }
  }

  return {
    protocol: 'oauth2',
    name,
    type: 'linkedin',
    authorizeUrl: (input) => buildAuthorizeUrl(ep.authorize, config.clientId, scope, input),
    exchangeCode: (input) => exchangeCode({ url: ep.token, clientId: config.clientId, clientSecret: config.clientSecret, auth: config.tokenEndpointAuthMethod ?? 'client_secret_post', timeoutMs }, input),
    profileFromTokens: (tokens) => userinfo(tokens.accessToken),
    profileFromAccessToken: (accessToken) => userinfo(accessToken)
  } satisfies OAuth2Provider
}
