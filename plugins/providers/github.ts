// GitHub OAuth apps: code flow, `/user` and `/user/emails` (the primary address only), and for raw
// access tokens GitHub's "check a token" (POST /applications/{client_id}/token), which answers 404 for a
// token that is not this app's.
import type { NormalizedProfile, OAuth2Provider, ProviderResult } from './types.ts'
import type { OAuth2ProviderConfig } from './schema.ts'
import { send, sendJson, str, unavailable, invalid } from './http.ts'
import { basicAuth, buildAuthorizeUrl, exchangeCode } from './oauth2-common.ts'
import { bothPassed, sameSubject, type TokenOwner } from './access-token.ts'

export const GITHUB_DEFAULTS = {
  authorize: 'https://github.com/login/oauth/authorize',
  token: 'https://github.com/login/oauth/access_token',
  userinfo: 'https://api.github.com/user',
  emails: 'https://api.github.com/user/emails',
  introspection: 'https://api.github.com/applications/{client_id}/token'
}

const apiHeaders = (accessToken: string) => ({
  authorization: `Bearer ${accessToken}`,
  accept: 'application/vnd.github+json',
  'x-github-api-version': '2022-11-28'
})

export function createGithubProvider ({ name, config, timeoutMs }: { name: string, config: OAuth2ProviderConfig, timeoutMs: number }) {
  const ep = { ...GITHUB_DEFAULTS, ...config.endpoints }
  const scope = config.scope ?? ['read:user', 'user:email']
  const allowPrivateNetwork = config.allowPrivateNetwork === true
  // GitHub Enterprise serves /applications next to /user (https://HOST/api/v3/...): follow a custom userinfo.
  const checkUrl = (config.endpoints?.introspection ??
    (config.endpoints?.userinfo !== undefined && /\/user\/?$/.test(config.endpoints.userinfo)
      ? config.endpoints.userinfo.replace(/\/user\/?$/, '/applications/{client_id}/token')
      : GITHUB_DEFAULTS.introspection)).replace('{client_id}', encodeURIComponent(config.clientId))

  /** The primary address and whether GitHub verified it; null when /user/emails is not readable (no user:email scope). */
  async function primaryEmail (accessToken: string): Promise<ProviderResult<{ email: string | null, verified: boolean } | null>> {
    const sent = await send({ url: ep.emails, headers: apiHeaders(accessToken), timeoutMs, allowPrivateNetwork, what: 'github /user/emails' })
    if (!sent.ok) return sent
    const { status, text } = sent.value
    if (status === 401) return invalid('github /user/emails: HTTP 401')
    // 403/404: the token lacks user:email; that is a scope fact, not bad credentials.
    if (status === 403 || status === 404) return { ok: true, value: null }
    if (status !== 200) return unavailable(`github /user/emails: HTTP ${status}`)
    let list: unknown
    try { list = JSON.parse(text) } catch { return unavailable('github /user/emails: response is not JSON') }
    if (!Array.isArray(list)) return unavailable('github /user/emails: not a list')
    const primary = list.find((e) => typeof e === 'object' && e !== null && e.primary === true)
    if (primary === undefined) return { ok: true, value: { email: null, verified: false } }
    return { ok: true, value: { email: str(primary.email), verified: primary.verified === true } }
  }

  async function profile (accessToken: string): Promise<ProviderResult<NormalizedProfile>> {
    const [user, emails] = await Promise.all([
      sendJson({ url: ep.userinfo, headers: apiHeaders(accessToken), timeoutMs, allowPrivateNetwork, what: 'github /user' }),
      primaryEmail(accessToken)
    ])
    if (!user.ok) return user
    if (!emails.ok) return emails
    const b = user.value.body
    if (typeof b.id !== 'number' && typeof b.id !== 'string') return unavailable('github /user: no id in response')
    // Only the primary address counts, and it keeps its verified flag: an unverified primary comes through
    // as email with emailVerified=false. Without /user/emails access the public profile email is used, unverified.
    const email = emails.value !== null ? emails.value.email : str(b.email)
    const emailVerified = emails.value !== null && emails.value.email !== null && emails.value.verified
    const display = str(b.name)
    const [given, ...rest] = (display ?? '').split(' ')
    return {
      ok: true,
      value: {
        providerType: 'github',
        providerName: name,
        subject: String(b.id),
        issuer: null,
        email,
        emailVerified,
        givenName: display !== null ? given : null,
        familyName: rest.length > 0 ? rest.join(' ') : null,
        displayName: display,
        username: str(b.login),
        photo: str(b.avatar_url),
        raw: { ...b, primary_email: emails.value }
      }
    }
  }

  /** The user id of a token issued to this OAuth app; 404 (any other app's token, or none) is invalid. */
  async function checkToken (accessToken: string): Promise<ProviderResult<TokenOwner>> {
    if (config.accessTokenCheck === 'refuse') return invalid('access token: raw access tokens are refused (accessTokenCheck: refuse)')
    const got = await sendJson({
      method: 'POST',
      url: checkUrl,
      headers: { authorization: basicAuth(config.clientId, config.clientSecret), accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28', 'content-type': 'application/json' },
      body: JSON.stringify({ access_token: accessToken }),
      timeoutMs,
      allowPrivateNetwork,
      what: 'github check token'
    })
    if (!got.ok) return got
    const app = got.value.body.app as { client_id?: unknown } | undefined
    // 200 is GitHub's word that the token is this app's; the echoed client_id is checked all the same.
    if (app?.client_id !== undefined && app.client_id !== config.clientId) return invalid('github check token: another app\'s token')
    const user = got.value.body.user as { id?: unknown } | undefined
    return { ok: true, value: { subject: typeof user?.id === 'number' || typeof user?.id === 'string' ? String(user.id) : null } }
  }

  async function profileFromRawToken (accessToken: string): Promise<ProviderResult<NormalizedProfile>> {
    const both = bothPassed(...await Promise.all([checkToken(accessToken), profile(accessToken)]))
    if (!both.ok) return both
    const same = sameSubject(both.value.owner, both.value.profile.subject, 'github check token')
    return same.ok ? { ok: true, value: both.value.profile } : same
  }

  return {
    protocol: 'oauth2',
    name,
    type: 'github',
    // GitHub supports PKCE (S256) but has no nonce.
    authorizeUrl: (input) => buildAuthorizeUrl(ep.authorize, config.clientId, scope, { ...input, nonce: undefined }),
    exchangeCode: (input) => exchangeCode({ url: ep.token, clientId: config.clientId, clientSecret: config.clientSecret, auth: config.tokenEndpointAuthMethod ?? 'client_secret_post', timeoutMs, allowPrivateNetwork }, input),
    // A token from our own code exchange is ours; a raw one is checked first.
    profileFromTokens: (tokens) => profile(tokens.accessToken),
    profileFromAccessToken: profileFromRawToken
  } satisfies OAuth2Provider
}
