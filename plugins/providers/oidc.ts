// OpenID Connect providers (google, generic oidc, demo): discovery, id_token checks, userinfo fallback,
// and the check that a raw access token was issued to this client (introspection, tokeninfo, JWT claims).
import { createRemoteJWKSet, customFetch, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose'
import { fetch as undiciFetch } from 'undici'
import type { NormalizedProfile, OAuth2Provider, OAuth2Tokens, ProviderResult } from './types.ts'
import type { OAuth2ProviderConfig } from './schema.ts'
import { agentFor, invalid, nonPublicIn, sendJson, str, unavailable } from './http.ts'
import { bearer, buildAuthorizeUrl, exchangeCode, profileFromClaims, ProviderConfigError, type ClientAuth } from './oauth2-common.ts'
import { bothPassed, introspect, notIssuedToUs, sameSubject, type TokenOwner } from './access-token.ts'

export const GOOGLE_DEFAULTS = {
  issuer: 'https://accounts.google.com',
  authorize: 'https://accounts.google.com/o/oauth2/v2/auth',
  token: 'https://oauth2.googleapis.com/token',
  userinfo: 'https://openidconnect.googleapis.com/v1/userinfo',
  jwks: 'https://www.googleapis.com/oauth2/v3/certs',
  tokeninfo: 'https://oauth2.googleapis.com/tokeninfo'
}

/** The demo IdP's default address (startDemoIdp's default port), so the quickstart needs no endpoints. */
export const DEMO_DEFAULT_ISSUER = 'http://127.0.0.1:3001'

const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']

type RemoteJwks = ReturnType<typeof createRemoteJWKSet>
// Module level so every tenant using one IdP shares one key set (and one refetch cooldown); keyed by the
// network policy too, so a provider without allowPrivateNetwork never reuses a set another one fetched.
const jwksByUrl = new Map<string, RemoteJwks>()

function jwksFor (url: string, timeoutMs: number, allowPrivateNetwork: boolean): RemoteJwks {
  const key = `${allowPrivateNetwork ? 'private' : 'public'} ${url}`
  let set = jwksByUrl.get(key)
  if (set === undefined) {
    const dispatcher = agentFor(allowPrivateNetwork)
    set = createRemoteJWKSet(new URL(url), {
      timeoutDuration: timeoutMs,
      [customFetch]: ((input: string, init: Record<string, unknown>) => undiciFetch(input, { ...init, dispatcher })) as never
    })
    jwksByUrl.set(key, set)
  }
  return set
}

interface OidcEndpoints {
  issuer: string
  authorize: string
  token: string
  userinfo: string | null
  jwks: string
  auth: ClientAuth
  /** RFC 7662 introspection (google: tokeninfo); null when the IdP has none. */
  introspection: string | null
}

interface OidcSettings {
  name: string
  type: 'google' | 'oidc' | 'demo'
  config: OAuth2ProviderConfig
  timeoutMs: number
}

export type OidcProvider = OAuth2Provider & { ready (): Promise<ProviderResult<void>> }

export function createOidcProvider ({ name, type, config, timeoutMs }: OidcSettings): OidcProvider {
  const ep = config.endpoints ?? {}
  const scope = config.scope ?? ['openid', 'email', 'profile']
  // Google's tokens carry either spelling of its issuer; a configured issuer is matched exactly.
  const acceptedIssuers = type === 'google' && ep.issuer === undefined ? [GOOGLE_DEFAULTS.issuer, 'accounts.google.com'] : null
  const configuredAuth = config.tokenEndpointAuthMethod
  const allowPrivateNetwork = config.allowPrivateNetwork === true
  const accessTokenCheck = config.accessTokenCheck ?? 'auto'
  const accepted: ReadonlySet<string> = new Set([config.clientId, ...(config.acceptedClientIds ?? [])])

  let resolved: OidcEndpoints | null = null
  let pending: Promise<ProviderResult<OidcEndpoints>> | null = null

  if (type === 'google') {
    resolved = {
      issuer: ep.issuer ?? GOOGLE_DEFAULTS.issuer,
      authorize: ep.authorize ?? GOOGLE_DEFAULTS.authorize,
      token: ep.token ?? GOOGLE_DEFAULTS.token,
      userinfo: ep.userinfo ?? GOOGLE_DEFAULTS.userinfo,
      jwks: ep.jwks ?? GOOGLE_DEFAULTS.jwks,
      auth: configuredAuth ?? 'client_secret_post',
      introspection: ep.introspection ?? GOOGLE_DEFAULTS.tokeninfo
    }
  } else if (type === 'demo' && ep.discovery === undefined) {
    // oidc-provider's default routes: no discovery round trip needed before the first authorize URL.
    const issuer = (ep.issuer ?? DEMO_DEFAULT_ISSUER).replace(/\/$/, '')
    resolved = {
      issuer,
      authorize: ep.authorize ?? `${issuer}/auth`,
      token: ep.token ?? `${issuer}/token`,
      userinfo: ep.userinfo ?? `${issuer}/me`,
      jwks: ep.jwks ?? `${issuer}/jwks`,
      auth: configuredAuth ?? 'client_secret_basic',
      // The demo IdP (demo-idp.ts) enables oidc-provider's introspection at its default route.
      introspection: ep.introspection ?? `${issuer}/token/introspection`
    }
  } else if (ep.issuer === undefined && ep.discovery === undefined) {
    throw new ProviderConfigError(name, 'endpoints.issuer', `or endpoints.discovery is required for type "${type}"`)
  } else if (ep.issuer !== undefined && ep.authorize !== undefined && ep.token !== undefined && ep.jwks !== undefined) {
    // Fully specified: discovery is never fetched.
    resolved = { issuer: ep.issuer, authorize: ep.authorize, token: ep.token, userinfo: ep.userinfo ?? null, jwks: ep.jwks, auth: configuredAuth ?? 'client_secret_basic', introspection: ep.introspection ?? null }
  }

  async function discover (): Promise<ProviderResult<OidcEndpoints>> {
    const url = ep.discovery ?? `${ep.issuer!.replace(/\/$/, '')}/.well-known/openid-configuration`
    const got = await sendJson({ url, timeoutMs, allowPrivateNetwork, what: 'discovery', headers: { accept: 'application/json' } })
    // A discovery document that is missing or refused is the IdP's failure, not the user's.
    if (!got.ok) return unavailable(got.detail)
    const doc = got.value.body
    const issuer = str(doc.issuer)
    if (issuer === null) return unavailable('discovery: no issuer')
    if (ep.issuer !== undefined && issuer !== ep.issuer) return unavailable('discovery: issuer does not match endpoints.issuer')
    const authorize = ep.authorize ?? str(doc.authorization_endpoint)
    const token = ep.token ?? str(doc.token_endpoint)
    const jwks = ep.jwks ?? str(doc.jwks_uri)
    if (authorize === null || token === null || jwks === null) return unavailable('discovery: authorization_endpoint, token_endpoint or jwks_uri missing')
    const methods = Array.isArray(doc.token_endpoint_auth_methods_supported) ? doc.token_endpoint_auth_methods_supported : ['client_secret_basic']
    const auth: ClientAuth = configuredAuth ?? (methods.includes('client_secret_basic') ? 'client_secret_basic' : 'client_secret_post')
    const introspection = ep.introspection ?? str(doc.introspection_endpoint)
    return { ok: true, value: { issuer, authorize, token, jwks, userinfo: ep.userinfo ?? str(doc.userinfo_endpoint), auth, introspection } }
  }

  async function endpoints (): Promise<ProviderResult<OidcEndpoints>> {
    if (resolved !== null) return { ok: true, value: resolved }
    // One discovery fetch in flight per provider; a failed one is retried on the next call.
    pending ??= discover().then((r) => {
      if (r.ok) resolved = r.value
      pending = null
      return r
    })
    return pending
  }

  /** null when the IdP has no userinfo endpoint. */
  async function userinfo (accessToken: string): Promise<ProviderResult<Record<string, unknown> | null>> {
    const e = await endpoints()
    if (!e.ok) return e
    if (e.value.userinfo === null) return { ok: true, value: null }
    const got = await sendJson({ url: e.value.userinfo, headers: bearer(accessToken), timeoutMs, allowPrivateNetwork, what: 'userinfo' })
    if (!got.ok) return got
    return { ok: true, value: got.value.body }
  }

  async function verifyIdToken (idToken: string, nonce: string | undefined): Promise<ProviderResult<JWTPayload>> {
    const e = await endpoints()
    if (!e.ok) return e
    try {
      const { payload } = await jwtVerify(idToken, jwksFor(e.value.jwks, timeoutMs, allowPrivateNetwork), {
        issuer: acceptedIssuers ?? e.value.issuer,
        audience: config.clientId,
        algorithms: ASYMMETRIC_ALGS,
        requiredClaims: ['sub', 'exp', 'iat'],
        clockTolerance: 60
      })
      // OIDC core 3.1.3.7: with several audiences, azp must name us.
      if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== config.clientId) return invalid('id_token: azp is not this client')
      if (nonce !== undefined && payload.nonce !== nonce) return invalid('id_token: nonce missing or different')
      return { ok: true, value: payload }
    } catch (err) {
      return classifyJoseError(err, 'id_token')
    }
  }

  /** Was this raw access token issued to our client (or one of acceptedClientIds)? */
  async function checkAccessToken (accessToken: string): Promise<ProviderResult<TokenOwner>> {
    if (accessTokenCheck === 'refuse') return invalid('access token: raw access tokens are refused (accessTokenCheck: refuse)')
    const e = await endpoints()
    if (!e.ok) return e
    if (type === 'google') return tokeninfo(e.value.introspection!, accessToken)
    if (accessTokenCheck !== 'jwt' && e.value.introspection !== null) {
      return introspect({ url: e.value.introspection, clientId: config.clientId, clientSecret: config.clientSecret, auth: e.value.auth, timeoutMs, allowPrivateNetwork, what: 'introspection' }, accessToken, accepted)
    }
    if (accessTokenCheck === 'introspection') return invalid('access token: the IdP has no introspection endpoint (accessTokenCheck: introspection)')
    if (isJwt(accessToken)) return verifyJwtAccessToken(e.value, accessToken)
    // Fail closed: an opaque token from an IdP without introspection could have been issued to anyone.
    return invalid('access token: cannot tell which client it was issued to (no introspection endpoint, not a JWT)')
  }

  // Google's tokeninfo: 400 for a token it does not know; aud/azp name the client it was issued to.
  async function tokeninfo (url: string, accessToken: string): Promise<ProviderResult<TokenOwner>> {
    const got = await sendJson({
      method: 'POST',
      url,
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ access_token: accessToken }).toString(),
      timeoutMs,
      allowPrivateNetwork,
      what: 'tokeninfo'
    })
    if (!got.ok) return got
    const why = notIssuedToUs(got.value.body, accepted)
    if (why !== null) return invalid(`tokeninfo: ${why}`)
    return { ok: true, value: { subject: str(got.value.body.sub) } }
  }

  // RFC 9068 JWT access tokens: signed by the IdP (its JWKS), its issuer, unexpired, and ours.
  async function verifyJwtAccessToken (e: OidcEndpoints, accessToken: string): Promise<ProviderResult<TokenOwner>> {
    try {
      const { payload } = await jwtVerify(accessToken, jwksFor(e.jwks, timeoutMs, allowPrivateNetwork), {
        issuer: acceptedIssuers ?? e.issuer,
        algorithms: ASYMMETRIC_ALGS,
        requiredClaims: ['exp'],
        clockTolerance: 60
      })
      const why = notIssuedToUs(payload as Record<string, unknown>, accepted)
      if (why !== null) return invalid(`access token: ${why}`)
      return { ok: true, value: { subject: str(payload.sub) } }
    } catch (err) {
      return classifyJoseError(err, 'access token')
    }
  }

  async function profileFromUserinfo (accessToken: string): Promise<ProviderResult<NormalizedProfile>> {
    const info = await userinfo(accessToken)
    if (!info.ok) return info
    if (info.value === null) return unavailable('userinfo: the IdP has no userinfo endpoint')
    const profile = profileFromClaims(name, type, resolved?.issuer ?? ep.issuer ?? null, info.value)
    return profile === null ? unavailable('userinfo: no sub in response') : { ok: true, value: profile }
  }

  const provider = {
    protocol: 'oauth2' as const,
    name,
    type,
    async ready (): Promise<ProviderResult<void>> {
      const e = await endpoints()
      return e.ok ? { ok: true, value: undefined } : e
    },
    authorizeUrl (input) {
      if (resolved === null) {
        throw Object.assign(new Error(`provider "${name}": discovery has not completed; await provider.ready() (or registry.ready()) before authorizeUrl`), { code: 'VST_ERR_PROVIDER_NOT_READY' })
      }
      return buildAuthorizeUrl(resolved.authorize, config.clientId, scope, input)
    },
    async exchangeCode (input) {
      const e = await endpoints()
      if (!e.ok) return e
      return exchangeCode({ url: e.value.token, clientId: config.clientId, clientSecret: config.clientSecret, auth: e.value.auth, timeoutMs, allowPrivateNetwork }, input)
    },
    async profileFromTokens (tokens: OAuth2Tokens, opts?: { nonce?: string }): Promise<ProviderResult<NormalizedProfile>> {
      if (tokens.idToken === undefined) {
        // A nonce we sent can only come back inside an id_token.
        if (opts?.nonce !== undefined) return invalid('no id_token to check the nonce against')
        // Tokens from our own code exchange were issued to us: userinfo needs no audience check.
        return profileFromUserinfo(tokens.accessToken)
      }
      const verified = await verifyIdToken(tokens.idToken, opts?.nonce)
      if (!verified.ok) return verified
      const idClaims: Record<string, unknown> = { ...verified.value }
      let claims = idClaims
      if (str(idClaims.email) === null || str(idClaims.name) === null) {
        const info = await userinfo(tokens.accessToken)
        if (!info.ok) return info
        if (info.value !== null) {
          // OIDC core 5.3.4: userinfo for another subject must be ignored, and here it means a token mix-up.
          if (info.value.sub !== idClaims.sub) return invalid('userinfo: sub differs from id_token')
          claims = { ...info.value, ...stripEmpty(idClaims) }
          // email and email_verified travel together: never pair one source's flag with the other's address.
          const source = str(idClaims.email) !== null ? idClaims : info.value
          claims.email = source.email
          claims.email_verified = source.email_verified
        }
      }
      const profile = profileFromClaims(name, type, String(verified.value.iss), claims)
      return profile === null ? invalid('id_token: no sub') : { ok: true, value: profile }
    },
    async profileFromAccessToken (accessToken: string): Promise<ProviderResult<NormalizedProfile>> {
      const both = bothPassed(...await Promise.all([checkAccessToken(accessToken), profileFromUserinfo(accessToken)]))
      if (!both.ok) return both
      const same = sameSubject(both.value.owner, both.value.profile.subject, 'access token')
      return same.ok ? { ok: true, value: both.value.profile } : same
    }
  } satisfies OidcProvider
  return provider
}

function stripEmpty (c: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined && v !== null && v !== ''))
}

const UNAVAILABLE_JOSE = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC'])

function classifyJoseError (err: unknown, what: 'id_token' | 'access token'): ProviderResult<never> {
  if (err instanceof joseErrors.JOSEError) {
    if (UNAVAILABLE_JOSE.has(err.code)) return unavailable(`jwks: ${err.code}`)
    if (err instanceof joseErrors.JWTClaimValidationFailed) return invalid(`${what}: ${err.claim} check failed`)
    return invalid(`${what}: ${err.code}`)
  }
  // fetch failures (refused, reset, a non-public address) surface as TypeError from the JWKS fetch.
  const refused = nonPublicIn(err)
  if (refused !== null) return unavailable(`jwks: refused: ${refused.message}`)
  return unavailable(`jwks: ${(err as Error).name}`)
}

function isJwt (token: string): boolean {
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) return false
  try {
    return typeof decodeProtectedHeader(token).alg === 'string'
  } catch {
    return false
  }
}
