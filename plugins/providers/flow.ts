// One authorization-flow helper for dialects that send a browser through a provider and back
// (oauth-confirm, Capture's hosted Social Login): a single-use state bound to the tenant (the store is
// the tenant's), the flow's purpose and the provider; PKCE and an OIDC nonce unless a use switches them
// off (a client app that builds the provider URL itself sends neither); OAuth 1.0a request tokens for
// providers that speak it; and the callback: consume the state, exchange the code, read the profile.
import { randomToken } from '../crypto.ts'
import type { ConsumeResult } from '../identity/tokens.ts'
import type { NormalizedProfile, OAuth2Provider, Provider, ProviderFailure, ProviderResult } from './types.ts'

/** Where states live: the tenant's one-time tokens (TenantIdentity satisfies this). */
export interface FlowStore {
  createToken (purpose: string, input: { ttlSeconds: number, data: Record<string, unknown>, token?: string }): Promise<{ token: string }>
  consumeToken (purpose: string, token: string): Promise<ConsumeResult>
}

export interface FlowOptions {
  /** Purpose of the state tokens: states of one flow can never be spent by another. */
  purpose: string
  ttlSeconds: number
  /** S256 PKCE on the authorization request (default true). */
  pkce?: boolean
  /** An OIDC nonce, for provider types whose id_token is checked (default true). */
  nonce?: boolean
  /** The state's shape when the wire format fixes it (default 32 random bytes, base64url). */
  stateToken?: () => string
}

// Types whose provider checks an id_token nonce (LinkedIn's id_token is not used, so a nonce would prove nothing).
const NONCE_TYPES = new Set(['google', 'oidc', 'demo'])

/** What every state carries, next to the dialect's own data. */
interface StateCore { provider: string, redirectUri: string, codeVerifier?: string, nonce?: string, oauth1Secret?: string }

export type FlowFailure =
  | { ok: false, reason: 'missing_state' | 'invalid_state' }
  /** The state was good (and is now spent); `data` is the dialect's, e.g. where to send the user back. */
  | { ok: false, reason: 'access_denied' | 'missing_code', data: Record<string, unknown> }
  | { ok: false, reason: 'provider', failure: ProviderFailure, data: Record<string, unknown> }

export type FlowResult = { ok: true, profile: NormalizedProfile, data: Record<string, unknown> } | FlowFailure

export interface AuthorizationFlow {
  /** Mints the state (or an OAuth1 request token) and the provider URL to send the browser to. */
  start (provider: Provider, input: { redirectUri: string, data?: Record<string, unknown> }): Promise<ProviderResult<{ state: string, url: string }>>
  /** The callback: `query` as the provider sent it back; the state is spent whatever happens next. */
  complete (provider: Provider, query: Record<string, string | undefined>): Promise<FlowResult>
}

export function authorizationFlow (store: FlowStore, opts: FlowOptions): AuthorizationFlow {
  const pkce = opts.pkce !== false
  const wantNonce = opts.nonce !== false
  // OAuth1 request tokens are keyed by the provider's oauth_token: their own purpose, so no state collides.
  const oauth1Purpose = `${opts.purpose}:oauth1`

  return {
    async start (provider, { redirectUri, data = {} }) {
      if (provider.protocol === 'oauth1') {
        const rt = await provider.requestToken({ callbackUrl: redirectUri })
        if (!rt.ok) return rt
        const core: StateCore = { provider: provider.name, redirectUri, oauth1Secret: rt.value.oauthTokenSecret }
        await store.createToken(oauth1Purpose, { ttlSeconds: opts.ttlSeconds, token: rt.value.oauthToken, data: { ...data, ...core } })
        return { ok: true, value: { state: rt.value.oauthToken, url: provider.authorizeUrl(rt.value.oauthToken) } }
      }
      const ready = (provider as OAuth2Provider & { ready?: () => Promise<ProviderResult<void>> }).ready
      if (typeof ready === 'function') {
        const r = await ready.call(provider)
        if (!r.ok) return r
      }
      const core: StateCore = {
        provider: provider.name,
        redirectUri,
        ...(pkce ? { codeVerifier: randomToken(32) } : {}),
        ...(wantNonce && NONCE_TYPES.has(provider.type) ? { nonce: randomToken(16) } : {})
      }
      const { token: state } = await store.createToken(opts.purpose, { ttlSeconds: opts.ttlSeconds, token: opts.stateToken?.(), data: { ...data, ...core } })
      return { ok: true, value: { state, url: provider.authorizeUrl({ state, redirectUri, codeVerifier: core.codeVerifier, nonce: core.nonce }) } }
    },

    async complete (provider, query) {
      const oauth1 = provider.protocol === 'oauth1'
      const handle = oauth1 ? query.oauth_token : query.state
      if (!handle) return { ok: false, reason: 'missing_state' }
      // Consumed first and for good: a state is spent even when a later step fails, so it is never replayed.
      const consumed = await store.consumeToken(oauth1 ? oauth1Purpose : opts.purpose, handle)
      if (!consumed.ok) return { ok: false, reason: 'invalid_state' }
      const { provider: issuedFor, redirectUri, codeVerifier, nonce, oauth1Secret, ...data } = consumed.row.data as unknown as StateCore & Record<string, unknown>
      // A state minted for another provider (or another tenant: the store is the tenant's) is no state at all.
      if (issuedFor !== provider.name) return { ok: false, reason: 'invalid_state' }

      let profile: ProviderResult<NormalizedProfile>
      if (provider.protocol === 'oauth1') {
        if (query.denied !== undefined) return { ok: false, reason: 'access_denied', data }
        if (!query.oauth_verifier) return { ok: false, reason: 'missing_code', data }
        const at = await provider.accessToken({ oauthToken: handle, oauthTokenSecret: oauth1Secret ?? '', verifier: query.oauth_verifier })
        profile = at.ok ? await provider.profileFromAccessToken(at.value.accessToken, at.value.accessTokenSecret) : at
      } else {
        if (query.error !== undefined) return { ok: false, reason: 'access_denied', data }
        if (!query.code) return { ok: false, reason: 'missing_code', data }
        const tokens = await provider.exchangeCode({ code: query.code, redirectUri, codeVerifier })
        profile = tokens.ok ? await provider.profileFromTokens(tokens.value, { nonce }) : tokens
      }
      if (!profile.ok) return { ok: false, reason: 'provider', failure: profile, data }
      return { ok: true, profile: profile.value, data }
    }
  }
}
