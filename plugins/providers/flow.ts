// One authorization-flow helper for dialects that send a browser through a provider and back
// (oauth-confirm, Capture's hosted Social Login): a single-use state bound to the tenant (the store is
// the tenant's), the flow's purpose and the provider; PKCE and an OIDC nonce unless a use switches them
// off (a client app that builds the provider URL itself sends neither); OAuth 1.0a request tokens for
// providers that speak it; optionally a binding of the state to the browser that started the flow (a cookie);
// and the callback: consume the state, check the binding, exchange the code, read the profile.
import { hashToken, randomToken, safeEqual } from '../crypto.ts'
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
  /** Read the profile from the provider's userinfo endpoint only, ignoring any id_token (default false). For a
   *  client app that builds the provider URL itself: no nonce was sent, and the app may not ask for `openid`. */
  userinfoProfile?: boolean
  /** The state's shape when the wire format fixes it (default 32 random bytes, base64url). */
  stateToken?: () => string
  /**
   * Bind each state to the browser that started the flow (against login CSRF: an attacker's unused callback
   * URL opened in a victim's browser). start() then returns a Set-Cookie value for its response: a random
   * binding, HttpOnly, SameSite=Lax, Secure on https, scoped to the callback URL's path, living as long as the
   * state, while the state keeps only the binding's hash; complete() wants the request's Cookie header and
   * answers invalid_state when the binding is missing or another. Only for flows whose start response reaches
   * the browser as a first-party response of the callback's origin (default false).
   */
  bindBrowser?: boolean
}

/** What complete() needs from the callback request besides its query. */
export interface CallbackRequest {
  /** The request's Cookie header. */
  cookie?: string | string[]
}

// Types whose provider checks an id_token nonce (LinkedIn's id_token is not used, so a nonce would prove nothing).
const NONCE_TYPES = new Set(['google', 'oidc', 'demo'])

/** What every state carries, next to the dialect's own data (`browser`: the SHA-256 of the browser binding). */
interface StateCore { provider: string, redirectUri: string, codeVerifier?: string, nonce?: string, oauth1Secret?: string, browser?: string }

export type FlowFailure =
  | { ok: false, reason: 'missing_state' }
  /** Unknown, used, expired, another provider's, or (`browser`) not started by this browser. */
  | { ok: false, reason: 'invalid_state', browser?: 'missing' | 'mismatch' }
  /** The state was good (and is now spent); `data` is the dialect's, e.g. where to send the user back. */
  | { ok: false, reason: 'access_denied' | 'missing_code', data: Record<string, unknown> }
  | { ok: false, reason: 'provider', failure: ProviderFailure, data: Record<string, unknown> }

/** `clearCookie`: a Set-Cookie value that removes the browser binding, once the state it belonged to is spent. */
export type FlowResult = ({ ok: true, profile: NormalizedProfile, data: Record<string, unknown> } | FlowFailure) & { clearCookie?: string }

export interface AuthorizationFlow {
  /** Mints the state (or an OAuth1 request token) and the provider URL to send the browser to; with
   *  `bindBrowser`, also the Set-Cookie value the start response must carry. */
  start (provider: Provider, input: { redirectUri: string, data?: Record<string, unknown> }): Promise<ProviderResult<{ state: string, url: string, cookie?: string }>>
  /** The callback: `query` as the provider sent it back; the state is spent whatever happens next. */
  complete (provider: Provider, query: Record<string, string | undefined>, request?: CallbackRequest): Promise<FlowResult>
}

/** The binding cookie of one state: its name derives from the state (parallel flows in one browser each keep
 *  theirs), `__Secure-` on https so a plain-http page of the same host cannot plant one. */
function bindingCookie (handle: string, redirectUri: string): { name: string, attributes: string } {
  const u = new URL(redirectUri)
  const secure = u.protocol === 'https:'
  const name = `${secure ? '__Secure-' : ''}vst-flow-${hashToken(`browser-binding:${handle}`).slice(0, 20)}`
  return { name, attributes: `Path=${u.pathname}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}` }
}

function readCookie (header: string | string[] | undefined, name: string): string | undefined {
  for (const line of Array.isArray(header) ? header : header === undefined ? [] : [header]) {
    for (const pair of line.split(';')) {
      const eq = pair.indexOf('=')
      if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim()
    }
  }
  return undefined
}

export function authorizationFlow (store: FlowStore, opts: FlowOptions): AuthorizationFlow {
  const pkce = opts.pkce !== false
  const wantNonce = opts.nonce !== false
  // OAuth1 request tokens are keyed by the provider's oauth_token: their own purpose, so no state collides.
  const oauth1Purpose = `${opts.purpose}:oauth1`

  /** A fresh browser binding: the hash the state keeps, and the cookie that carries it once the state is known. */
  function bind (): { hash: string, cookie: (handle: string, redirectUri: string) => string } {
    const binding = randomToken(32)
    return {
      hash: hashToken(binding),
      cookie (handle, redirectUri) {
        const { name, attributes } = bindingCookie(handle, redirectUri)
        return `${name}=${binding}; Max-Age=${opts.ttlSeconds}; ${attributes}`
      }
    }
  }

  return {
    async start (provider, { redirectUri, data = {} }) {
      if (provider.protocol === 'oauth1') {
        const rt = await provider.requestToken({ callbackUrl: redirectUri })
        if (!rt.ok) return rt
        const binding = opts.bindBrowser ? bind() : undefined
        const core: StateCore = { provider: provider.name, redirectUri, oauth1Secret: rt.value.oauthTokenSecret, ...(binding ? { browser: binding.hash } : {}) }
        await store.createToken(oauth1Purpose, { ttlSeconds: opts.ttlSeconds, token: rt.value.oauthToken, data: { ...data, ...core } })
        return { ok: true, value: { state: rt.value.oauthToken, url: provider.authorizeUrl(rt.value.oauthToken), ...(binding ? { cookie: binding.cookie(rt.value.oauthToken, redirectUri) } : {}) } }
      }
      const ready = (provider as OAuth2Provider & { ready?: () => Promise<ProviderResult<void>> }).ready
      if (typeof ready === 'function') {
        const r = await ready.call(provider)
        if (!r.ok) return r
      }
      const binding = opts.bindBrowser ? bind() : undefined
      const core: StateCore = {
        provider: provider.name,
        redirectUri,
        ...(pkce ? { codeVerifier: randomToken(32) } : {}),
        ...(wantNonce && NONCE_TYPES.has(provider.type) ? { nonce: randomToken(16) } : {}),
        ...(binding ? { browser: binding.hash } : {})
      }
      const { token: state } = await store.createToken(opts.purpose, { ttlSeconds: opts.ttlSeconds, token: opts.stateToken?.(), data: { ...data, ...core } })
      return { ok: true, value: { state, url: provider.authorizeUrl({ state, redirectUri, codeVerifier: core.codeVerifier, nonce: core.nonce }), ...(binding ? { cookie: binding.cookie(state, redirectUri) } : {}) } }
    },

    async complete (provider, query, request = {}) {
      const oauth1 = provider.protocol === 'oauth1'
      const handle = oauth1 ? query.oauth_token : query.state
      if (!handle) return { ok: false, reason: 'missing_state' }
      // Consumed first and for good: a state is spent even when a later step fails, so it is never replayed.
      const consumed = await store.consumeToken(oauth1 ? oauth1Purpose : opts.purpose, handle)
      if (!consumed.ok) return { ok: false, reason: 'invalid_state' }
      const { provider: issuedFor, redirectUri, codeVerifier, nonce, oauth1Secret, browser, ...data } = consumed.row.data as unknown as StateCore & Record<string, unknown>
      // A state minted for another provider (or another tenant: the store is the tenant's) is no state at all.
      if (issuedFor !== provider.name) return { ok: false, reason: 'invalid_state' }
      // A bound state completes only in the browser that started it; with the switch on, an unbound one not at all.
      let clearCookie: string | undefined
      if (browser !== undefined || opts.bindBrowser) {
        const { name, attributes } = bindingCookie(handle, redirectUri)
        clearCookie = `${name}=; Max-Age=0; ${attributes}`
        const presented = readCookie(request.cookie, name)
        if (presented === undefined || browser === undefined) return { ok: false, reason: 'invalid_state', browser: 'missing', clearCookie }
        if (!safeEqual(hashToken(presented), browser)) return { ok: false, reason: 'invalid_state', browser: 'mismatch', clearCookie }
      }
      const withCookie = <T extends object>(r: T): T & { clearCookie?: string } => (clearCookie ? { ...r, clearCookie } : r)

      let profile: ProviderResult<NormalizedProfile>
      if (provider.protocol === 'oauth1') {
        if (query.denied !== undefined) return withCookie({ ok: false, reason: 'access_denied', data })
        if (!query.oauth_verifier) return withCookie({ ok: false, reason: 'missing_code', data })
        const at = await provider.accessToken({ oauthToken: handle, oauthTokenSecret: oauth1Secret ?? '', verifier: query.oauth_verifier })
        profile = at.ok ? await provider.profileFromAccessToken(at.value.accessToken, at.value.accessTokenSecret) : at
      } else {
        if (query.error !== undefined) return withCookie({ ok: false, reason: 'access_denied', data })
        if (!query.code) return withCookie({ ok: false, reason: 'missing_code', data })
        const tokens = await provider.exchangeCode({ code: query.code, redirectUri, codeVerifier })
        // Tokens of our own exchange: without an id_token, profileFromTokens reads userinfo.
        if (!tokens.ok) profile = tokens
        else profile = await provider.profileFromTokens(opts.userinfoProfile === true ? { ...tokens.value, idToken: undefined } : tokens.value, { nonce })
      }
      if (!profile.ok) return withCookie({ ok: false, reason: 'provider', failure: profile, data })
      return withCookie({ ok: true, profile: profile.value, data })
    }
  }
}
