// OAuth2 plumbing every OAuth2 type shares: PKCE, authorize URLs, code exchange, profile building.
import { createHash } from 'node:crypto'
import type { AuthorizeUrlInput, NormalizedProfile, OAuth2Tokens, ProviderResult } from './types.ts'
import { invalid, safeErrorCode, send, str, unavailable } from './http.ts'

export class ProviderConfigError extends Error {
  readonly code = 'VST_ERR_PROVIDER_CONFIG'
  readonly provider: string
  readonly field: string
  constructor (providerName: string, field: string, reason: string) {
    super(`provider "${providerName}": ${field} ${reason}`)
    this.name = 'ProviderConfigError'
    this.provider = providerName
    this.field = field
  }
}

export function pkceChallenge (verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url')
}

export function buildAuthorizeUrl (endpoint: string, clientId: string, scope: string[], input: AuthorizeUrlInput, extra: Record<string, string> = {}): string {
  const url = new URL(endpoint)
  url.searchParams.set('response_type', 'code')
  url.searchParams.set('client_id', clientId)
  url.searchParams.set('redirect_uri', input.redirectUri)
  if (scope.length > 0) url.searchParams.set('scope', scope.join(' '))
  url.searchParams.set('state', input.state)
  if (input.codeVerifier !== undefined) {
    url.searchParams.set('code_challenge', pkceChallenge(input.codeVerifier))
    url.searchParams.set('code_challenge_method', 'S256')
  }
  if (input.nonce !== undefined) url.searchParams.set('nonce', input.nonce)
  for (const [k, v] of Object.entries(extra)) url.searchParams.set(k, v)
  return url.toString()
}

export type ClientAuth = 'client_secret_post' | 'client_secret_basic'

export interface TokenEndpoint {
  url: string
  clientId: string
  clientSecret: string
  auth: ClientAuth
  /** Facebook documents GET for its token endpoint; everyone else takes a POST form. */
  method?: 'GET' | 'POST'
  timeoutMs: number
  allowPrivateNetwork: boolean
}

// RFC 6749 2.3.1: the credentials are form-urlencoded before Basic encoding.
const formEncode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+')

export function basicAuth (clientId: string, clientSecret: string): string {
  return 'Basic ' + Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64')
}

export async function exchangeCode (ep: TokenEndpoint, input: { code: string, redirectUri: string, codeVerifier?: string }): Promise<ProviderResult<OAuth2Tokens>> {
  const params = new URLSearchParams({ grant_type: 'authorization_code', code: input.code, redirect_uri: input.redirectUri })
  if (input.codeVerifier !== undefined) params.set('code_verifier', input.codeVerifier)
  const headers: Record<string, string> = { accept: 'application/json' }
  if (ep.auth === 'client_secret_basic') {
    headers.authorization = basicAuth(ep.clientId, ep.clientSecret)
  } else {
    params.set('client_id', ep.clientId)
    params.set('client_secret', ep.clientSecret)
  }
  let url = ep.url
  let body: string | undefined
  if (ep.method === 'GET') {
    const u = new URL(ep.url)
    for (const [k, v] of params) u.searchParams.set(k, v)
    url = u.toString()
  } else {
    headers['content-type'] = 'application/x-www-form-urlencoded'
    body = params.toString()
  }
  const sent = await send({ method: ep.method ?? 'POST', url, headers, body, timeoutMs: ep.timeoutMs, allowPrivateNetwork: ep.allowPrivateNetwork, what: 'token endpoint' })
  if (!sent.ok) return sent
  const { status, text, headers: resHeaders } = sent.value
  if (status === 408 || status === 429 || status >= 500) return unavailable(`token endpoint: HTTP ${status}`)
  const parsed = parseTokenBody(text, String(resHeaders['content-type'] ?? ''))
  if (status >= 400) return invalid(`token endpoint: HTTP ${status}${parsed ? safeErrorCode(parsed) : ''}`)
  if (parsed === null) return unavailable('token endpoint: unparseable response')
  // GitHub answers a bad code with 200 and an `error` member.
  if (parsed.error !== undefined) return invalid(`token endpoint: HTTP ${status}${safeErrorCode(parsed)}`)
  const accessToken = str(parsed.access_token)
  if (accessToken === null) return unavailable('token endpoint: no access_token in response')
  const expires = Number(parsed.expires_in)
  return {
    ok: true,
    value: {
      accessToken,
      refreshToken: str(parsed.refresh_token) ?? undefined,
      idToken: str(parsed.id_token) ?? undefined,
      tokenType: str(parsed.token_type) ?? undefined,
      expiresIn: Number.isFinite(expires) ? expires : undefined,
      scope: str(parsed.scope) ?? undefined,
      raw: parsed
    }
  }
}

function parseTokenBody (text: string, contentType: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(text)
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : null
  } catch {
    // Older GitHub and Facebook versions answer form-encoded unless asked otherwise.
    if (contentType.includes('x-www-form-urlencoded') || contentType.includes('text/plain')) {
      const out = Object.fromEntries(new URLSearchParams(text))
      return Object.keys(out).length > 0 ? out : null
    }
    return null
  }
}

export function bearer (accessToken: string): Record<string, string> {
  return { authorization: `Bearer ${accessToken}`, accept: 'application/json' }
}

/** OIDC standard claims → profile; `email_verified` must be literally true (some IdPs send "true"). */
export function profileFromClaims (providerName: string, providerType: string, issuer: string | null, claims: Record<string, unknown>): NormalizedProfile | null {
  const subject = str(claims.sub)
  if (subject === null) return null
  const email = str(claims.email)
  return {
    providerType,
    providerName,
    subject,
    issuer,
    email,
    emailVerified: email !== null && (claims.email_verified === true || claims.email_verified === 'true'),
    givenName: str(claims.given_name),
    familyName: str(claims.family_name),
    displayName: str(claims.name),
    username: str(claims.preferred_username),
    photo: str(claims.picture),
    raw: claims
  }
}

export function validUrl (providerName: string, field: string, value: string | undefined): void {
  if (value === undefined) return
  let u: URL
  try {
    u = new URL(value)
  } catch {
    throw new ProviderConfigError(providerName, field, `is not a valid URL: ${JSON.stringify(value)}`)
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new ProviderConfigError(providerName, field, 'must be an http(s) URL')
}
