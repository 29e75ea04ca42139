// The provider contract every dialect signs users in through. Dialects see only these types;
// HTTP, signatures and token checks live behind them in plugins/providers/.

/** One normalized profile, whatever the provider. The account key is (providerType, subject), never email. */
export interface NormalizedProfile {
  /** Provider *type* (google, facebook, github, linkedin, twitter, oidc, demo): aliases of one type share identities. */
  providerType: string
  /** The configured provider key the user came through (e.g. "google-oauth2"). */
  providerName: string
  /** The provider's immutable user id. */
  subject: string
  /** OIDC issuer, when there is one. */
  issuer: string | null
  email: string | null
  /** True only when the provider asserts the email is verified. */
  emailVerified: boolean
  givenName: string | null
  familyName: string | null
  displayName: string | null
  username: string | null
  photo: string | null
  /** The provider's own payload, for dialects that echo provider data (capture profiles). */
  raw: Record<string, unknown>
}

/** Provider failures are values, never throws: a dialect maps them to its own error envelope. */
export type ProviderFailure =
  | { ok: false, error: 'invalid_credentials', detail: string }
  | { ok: false, error: 'unavailable', detail: string }

export type ProviderResult<T> = { ok: true, value: T } | ProviderFailure

export interface OAuth2Tokens {
  accessToken: string
  refreshToken?: string
  idToken?: string
  tokenType?: string
  expiresIn?: number
  scope?: string
  raw: Record<string, unknown>
}

export interface AuthorizeUrlInput {
  state: string
  redirectUri: string
  /** PKCE verifier: the URL carries its S256 challenge. */
  codeVerifier?: string
  /** OIDC nonce, checked again in profileFromTokens. */
  nonce?: string
}

export interface OAuth2Provider {
  protocol: 'oauth2'
  name: string
  type: string
  authorizeUrl (input: AuthorizeUrlInput): string
  /** Exchange an authorization code (ours or one a client app obtained) for tokens. */
  exchangeCode (input: { code: string, redirectUri: string, codeVerifier?: string }): Promise<ProviderResult<OAuth2Tokens>>
  /**
   * Profile from a token response of our own exchangeCode: id_token checked (signature, iss, aud, exp,
   * nonce) where the type has one. Never pass it tokens a client app supplied: use profileFromAccessToken.
   */
  profileFromTokens (tokens: OAuth2Tokens, opts?: { nonce?: string }): Promise<ProviderResult<NormalizedProfile>>
  /**
   * Profile from an access token a client app already holds (syncano). The token must have been issued
   * to this provider's client (or one of acceptedClientIds): checked by introspection, Google tokeninfo,
   * GitHub's check-a-token, Facebook's debug_token or a JWT access token's claims; any other is invalid_credentials.
   */
  profileFromAccessToken (accessToken: string): Promise<ProviderResult<NormalizedProfile>>
}

export interface OAuth1Provider {
  protocol: 'oauth1'
  name: string
  type: string
  /** Step 1: a request token bound to callbackUrl. */
  requestToken (input: { callbackUrl: string }): Promise<ProviderResult<{ oauthToken: string, oauthTokenSecret: string, callbackConfirmed: boolean }>>
  authorizeUrl (oauthToken: string): string
  /** Step 2: trade the request token + verifier for an access token. */
  accessToken (input: { oauthToken: string, oauthTokenSecret: string, verifier: string }): Promise<ProviderResult<{ accessToken: string, accessTokenSecret: string, raw: Record<string, unknown> }>>
  /** The provider refuses a token pair issued to another consumer: every request is signed with ours. */
  profileFromAccessToken (accessToken: string, accessTokenSecret: string): Promise<ProviderResult<NormalizedProfile>>
}

export type Provider = OAuth2Provider | OAuth1Provider

export interface ProviderRegistry {
  get (name: string): Provider | undefined
  names (): string[]
}
