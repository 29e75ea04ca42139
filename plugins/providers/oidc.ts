// OpenID Connect providers (google, generic oidc, demo): discovery, id_token checks, userinfo fallback.
import { createRemoteJWKSet, customFetch, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose'
import { fetch as undiciFetch } from 'undici'
import type { NormalizedProfile, OAuth2Provider, OAuth2Tokens, ProviderResult } from './types.ts'
import type { OAuth2ProviderConfig } from './schema.ts'
import { invalid, providerAgent, sendJson, str, unavailable } from './http.ts'
import { bearer, buildAuthorizeUrl, exchangeCode, profileFromClaims, ProviderConfigError, type ClientAuth } from './oauth2-common.ts'

export const GOOGLE_DEFAULTS = {
  issuer: 'https://accounts.google.com',
  authorize: 'https://accounts.google.com/o/oauth2/v2/auth',
  token: 'https://oauth2.googleapis.com/token',
  userinfo: 'https://openidconnect.googleapis.com/v1/userinfo',
  jwks: 'https://www.googleapis.com/oauth2/v3/certs'
}

/** The demo IdP's default address (startDemoIdp's default port), so the quickstart needs no endpoints. */
export const DEMO_DEFAULT_ISSUER = 'http://127.0.0.1:3001'

const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']

type RemoteJwks = ReturnType<typeof createRemoteJWKSet>
// Module level so every tenant using one IdP shares one key set (and one refetch cooldown).
const jwksByUrl = new Map<string, RemoteJwks>()

function jwksFor (url: string, timeoutMs: number): RemoteJwks {
  let set = jwksByUrl.get(url)
  if (set === undefined) {
    set = createRemoteJWKSet(new URL(url), {
      timeoutDuration: timeoutMs,
      [customFetch]: ((input: string, init: Record<string, unknown>) => undiciFetch(input, { ...init, dispatcher: providerAgent })) as never
    })
    jwksByUrl.set(url, set)
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

  let resolved: OidcEndpoints | null = null
  let pending: Promise<ProviderResult<OidcEndpoints>> | null = null

  if (type === 'google') {
    resolved = {
      issuer: ep.issuer ?? GOOGLE_DEFAULTS.issuer,
      authorize: ep.authorize ?? GOOGLE_DEFAULTS.authorize,
      token: ep.token ?? GOOGLE_DEFAULTS.token,
      userinfo: ep.userinfo ?? GOOGLE_DEFAULTS.userinfo,
      jwks: ep.jwks ?? GOOGLE_DEFAULTS.jwks,
      auth: configuredAuth ?? 'client_secret_post'
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
      auth: configuredAuth ?? 'client_secret_basic'
    }
  } else if (ep.issuer === undefined && ep.discovery === undefined) {
    throw new ProviderConfigError(name, 'endpoints.issuer', `or endpoints.discovery is required for type "${type}"`)
  } else if (ep.issuer !== undefined && ep.authorize !== undefined && ep.token !== undefined && ep.jwks !== undefined) {
    // Fully specified: discovery is never fetched.
    resolved = { issuer: ep.issuer, authorize: ep.authorize, token: ep.token, userinfo: ep.userinfo ?? null, jwks: ep.jwks, auth: configuredAuth ?? 'client_secret_basic' }
  }

  async function discover (): Promise<ProviderResult<OidcEndpoints>> {
    const url = ep.discovery ?? `${ep.issuer!.replace(/\/$/, '')}/.well-known/openid-configuration`
    const got = await sendJson({ url, timeoutMs, what: 'discovery', headers: { accept: 'application/json' } })
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
    return { ok: true, value: { issuer, authorize, token, jwks, userinfo: ep.userinfo ?? str(doc.userinfo_endpoint), auth } }
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
    const got = await sendJson({ url: e.value.userinfo, headers: bearer(accessToken), timeoutMs, what: 'userinfo' })
    if (!got.ok) return got
    return { ok: true, value: got.value.body }
  }

  async function verifyIdToken (idToken: string, nonce: string | undefined): Promise<ProviderResult<JWTPayload>> {
    const e = await endpoints()
    if (!e.ok) return e
    try {
      const { payload } = await jwtVerify(idToken, jwksFor(e.value.jwks, timeoutMs), {
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
      return classifyJoseError(err)
    }
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
      return exchangeCode({ url: e.value.token, clientId: config.clientId, clientSecret: config.clientSecret, auth: e.value.auth, timeoutMs }, input)
    },
    async profileFromTokens (tokens: OAuth2Tokens, opts?: { nonce?: string }): Promise<ProviderResult<NormalizedProfile>> {
      if (tokens.idToken === undefined) {
        // A nonce we sent can only come back inside an id_token.
        if (opts?.nonce !== undefined) return invalid('no id_token to check the nonce against')
        return provider.profileFromAccessToken(tokens.accessToken)
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
      const info = await userinfo(accessToken)
      if (!info.ok) return info
      if (info.value === null) return unavailable('userinfo: the IdP has no userinfo endpoint')
      const profile = profileFromClaims(name, type, resolved?.issuer ?? ep.issuer ?? null, info.value)
      return profile === null ? unavailable('userinfo: no sub in response') : { ok: true, value: profile }
    }
  } satisfies OidcProvider
  return provider
}

function stripEmpty (c: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined && v !== null && v !== ''))
}

const UNAVAILABLE_JOSE = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC'])

function classifyJoseError (err: unknown): ProviderResult<never> {
  if (err instanceof joseErrors.JOSEError) {
    if (UNAVAILABLE_JOSE.has(err.code)) return unavailable(`jwks: ${err.code}`)
    if (err instanceof joseErrors.JWTClaimValidationFailed) return invalid(`id_token: ${err.claim} check failed`)
    return invalid(`id_token: ${err.code}`)
  }
  // fetch failures (refused, reset) surface as TypeError from the JWKS fetch.
  return unavailable(`jwks: ${(err as Error).name}`)
}
