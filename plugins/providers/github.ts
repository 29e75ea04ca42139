// GitHub OAuth apps: code flow, `/user` and `/user/emails` (the primary address only).
import type { NormalizedProfile, OAuth2Provider, ProviderResult } from './types.ts'
import type { OAuth2ProviderConfig } from './schema.ts'
import { send, sendJson, str, unavailable, invalid } from './http.ts'
import { buildAuthorizeUrl, exchangeCode } from './oauth2-common.ts'

export const GITHUB_DEFAULTS = {
  authorize: 'https://github.com/login/oauth/authorize',
  token: 'https://github.com/login/oauth/access_token',
  userinfo: 'https://api.github.com/user',
  emails: 'https://api.github.com/user/emails'
}

const apiHeaders = (accessToken: string) => ({
  authorization: `Bearer ${accessToken}`,
  accept: 'application/vnd.github+json',
  'x-github-api-version': '2022-11-28'
})

export function createGithubProvider ({ name, config, timeoutMs }: { name: string, config: OAuth2ProviderConfig, timeoutMs: number }) {
  const ep = { ...GITHUB_DEFAULTS, ...config.endpoints }
  const scope = config.scope ?? ['read:user', 'user:email']

  /** The primary address and whether GitHub verified it; null when /user/emails is not readable (no user:email scope). */
  async function primaryEmail (accessToken: string): Promise<ProviderResult<{ email: string | null, verified: boolean } | null>> {
    const sent = await send({ url: ep.emails, headers: apiHeaders(accessToken), timeoutMs, what: 'github /user/emails' })
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
      sendJson({ url: ep.userinfo, headers: apiHeaders(accessToken), timeoutMs, what: 'github /user' }),
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

  return {
    protocol: 'oauth2',
    name,
    type: 'github',
    // GitHub supports PKCE (S256) but has no nonce.
    authorizeUrl: (input) => buildAuthorizeUrl(ep.authorize, config.clientId, scope, { ...input, nonce: undefined }),
    exchangeCode: (input) => exchangeCode({ url: ep.token, clientId: config.clientId, clientSecret: config.clientSecret, auth: config.tokenEndpointAuthMethod ?? 'client_secret_post', timeoutMs }, input),
    profileFromTokens: (tokens) => profile(tokens.accessToken),
    profileFromAccessToken: (accessToken) => profile(accessToken)
  } satisfies OAuth2Provider
}
