// Raw access tokens a client app hands Vestibule (syncano): was the token issued to this tenant's client?
// A provider's userinfo answers for any valid token, whoever it was issued to; without this check any app
// a victim ever signed into with the same provider could sign in here as the victim.
import type { ProviderResult } from './types.ts'
import { invalid, sendJson, str } from './http.ts'
import { basicAuth, type ClientAuth } from './oauth2-common.ts'

/** What a check learned about a token issued to us: its subject, when the provider said. */
export interface TokenOwner { subject: string | null }

/**
 * Whether token claims (RFC 7662 introspection, RFC 9068 JWT access token, Google tokeninfo) name one of
 * the accepted clients: `client_id` decides when present, else `azp`, else `aud`. Null when they do;
 * otherwise why not (for `detail`, never echoing the values).
 */
export function notIssuedToUs (claims: Record<string, unknown>, accepted: ReadonlySet<string>): string | null {
  for (const field of ['client_id', 'azp'] as const) {
    const v = claims[field]
    if (v === undefined || v === null) continue
    return typeof v === 'string' && accepted.has(v) ? null : `${field} is another client`
  }
  const aud = claims.aud
  if (aud === undefined || aud === null) return 'no client_id, azp or aud to tell which client it was issued to'
  const auds = Array.isArray(aud) ? aud : [aud]
  return auds.some((a) => typeof a === 'string' && accepted.has(a)) ? null : 'aud is another client'
}

export interface IntrospectionEndpoint {
  url: string
  clientId: string
  clientSecret: string
  /** The client authenticates as it does at the token endpoint. */
  auth: ClientAuth
  timeoutMs: number
  allowPrivateNetwork: boolean
  what: string
}

/** RFC 7662: `active` must be true and the token's client one of `accepted`. */
export async function introspect (ep: IntrospectionEndpoint, token: string, accepted: ReadonlySet<string>): Promise<ProviderResult<TokenOwner>> {
  const params = new URLSearchParams({ token, token_type_hint: 'access_token' })
  const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' }
  if (ep.auth === 'client_secret_basic') {
    headers.authorization = basicAuth(ep.clientId, ep.clientSecret)
  } else {
    params.set('client_id', ep.clientId)
    params.set('client_secret', ep.clientSecret)
  }
  const got = await sendJson({ method: 'POST', url: ep.url, headers, body: params.toString(), timeoutMs: ep.timeoutMs, allowPrivateNetwork: ep.allowPrivateNetwork, what: ep.what })
  if (!got.ok) return got
  const b = got.value.body
  if (b.active !== true) return invalid(`${ep.what}: token is not active`)
  const why = notIssuedToUs(b, accepted)
  if (why !== null) return invalid(`${ep.what}: ${why}`)
  return { ok: true, value: { subject: str(b.sub) } }
}

/**
 * The check and the profile ran side by side: a refusal from either wins over an outage of the other
 * (a bad token stays a bad token while introspection is down), and nothing passes unless both passed.
 */
export function bothPassed<P> (owner: ProviderResult<TokenOwner>, profile: ProviderResult<P>): ProviderResult<{ owner: TokenOwner, profile: P }> {
  if (!owner.ok && owner.error === 'invalid_credentials') return owner
  if (!profile.ok && profile.error === 'invalid_credentials') return profile
  if (!owner.ok) return owner
  if (!profile.ok) return profile
  return { ok: true, value: { owner: owner.value, profile: profile.value } }
}

/** The profile must be about the subject the check vouched for (a mix-up otherwise). */
export function sameSubject (owner: TokenOwner, subject: string, what: string): ProviderResult<void> {
  return owner.subject === null || owner.subject === subject ? { ok: true, value: undefined } : invalid(`${what}: sub differs from the profile's`)
}
