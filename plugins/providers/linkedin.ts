// LinkedIn "Sign In with LinkedIn using OpenID Connect": code flow and the OIDC userinfo endpoint; raw
// access tokens are introspected (LinkedIn's introspectToken, RFC 7662-shaped) to be this app's.
import type { NormalizedProfile, OAuth2Provider, ProviderResult } from './types.ts'
import type { OAuth2ProviderConfig } from './schema.ts'
import { invalid, sendJson, unavailable } from './http.ts'
import { bearer, buildAuthorizeUrl, exchangeCode, profileFromClaims } from './oauth2-common.ts'
import { bothPassed, introspect, sameSubject } from './access-token.ts'

export const LINKEDIN_DEFAULTS = {
  issuer: 'https://www.linkedin.com/oauth',
  authorize: 'https://www.linkedin.com/oauth/v2/authorization',
  token: 'https://www.linkedin.com/oauth/v2/accessToken',
  userinfo: 'https://api.linkedin.com/v2/userinfo',
  introspection: 'https://www.linkedin.com/oauth/v2/introspectToken'
}

export function createLinkedinProvider ({ name, config, timeoutMs }: { name: string, config: OAuth2ProviderConfig, timeoutMs: number }) {
  const ep = { ...LINKEDIN_DEFAULTS, ...config.endpoints }
  const scope = config.scope ?? ['openid', 'profile', 'email']
  const allowPrivateNetwork = config.allowPrivateNetwork === true
  const auth = config.tokenEndpointAuthMethod ?? 'client_secret_post'
  const accepted: ReadonlySet<string> = new Set([config.clientId, ...(config.acceptedClientIds ?? [])])

  // The profile always comes from userinfo with an access token we (or the client app) got straight from
  // LinkedIn's token endpoint; the id_token is not needed for identity and is not relied upon.
  async function userinfo (accessToken: string): Promise<ProviderResult<NormalizedProfile>> {
    const got = await sendJson({ url: ep.userinfo, headers: bearer(accessToken), timeoutMs, allowPrivateNetwork, what: 'linkedin userinfo' })
    if (!got.ok) return got
    const profile = profileFromClaims(name, 'linkedin', ep.issuer, got.value.body)
    return profile === null ? unavailable('linkedin userinfo: no sub in response') : { ok: true, value: profile }
  }

  async function profileFromRawToken (accessToken: string): Promise<ProviderResult<NormalizedProfile>> {
    if (config.accessTokenCheck === 'refuse') return invalid('access token: raw access tokens are refused (accessTokenCheck: refuse)')
    const both = bothPassed(...await Promise.all([
      introspect({ url: ep.introspection, clientId: config.clientId, clientSecret: config.clientSecret, auth, timeoutMs, allowPrivateNetwork, what: 'linkedin introspectToken' }, accessToken, accepted),
      userinfo(accessToken)
    ]))
    if (!both.ok) return both
    const same = sameSubject(both.value.owner, both.value.profile.subject, 'linkedin introspectToken')
    return same.ok ? { ok: true, value: both.value.profile } : same
  }

  return {
    protocol: 'oauth2',
    name,
    type: 'linkedin',
    authorizeUrl: (input) => buildAuthorizeUrl(ep.authorize, config.clientId, scope, input),
    exchangeCode: (input) => exchangeCode({ url: ep.token, clientId: config.clientId, clientSecret: config.clientSecret, auth, timeoutMs, allowPrivateNetwork }, input),
    // A token from our own code exchange is ours; a raw one is checked first.
    profileFromTokens: (tokens) => userinfo(tokens.accessToken),
    profileFromAccessToken: profileFromRawToken
  } satisfies OAuth2Provider
}
