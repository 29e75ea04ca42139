// Tenant config for providers: one entry per provider key clients send. Composed into tenants/schema.ts.
import { Type, type Static } from '@sinclair/typebox'
import { Url as UrlString } from '../tenant/strings.ts'

const Url = (description: string) => UrlString({ description })

export const OAuth2EndpointsSchema = Type.Object({
  issuer: Type.Optional(Url('OIDC issuer identifier (an https URL); id_tokens must carry exactly this `iss`.')),
  discovery: Type.Optional(Url('OIDC discovery document URL (default: issuer + /.well-known/openid-configuration). Used by the `oidc` type.')),
  authorize: Type.Optional(Url('Authorization endpoint the browser is sent to.')),
  token: Type.Optional(Url('Token endpoint (code exchange).')),
  userinfo: Type.Optional(Url('Userinfo / profile endpoint called with the access token.')),
  emails: Type.Optional(Url('GitHub only: the `/user/emails` endpoint used to find the primary verified address.')),
  jwks: Type.Optional(Url('JWKS URL used to verify id_token (and JWT access token) signatures.')),
  introspection: Type.Optional(Url('Where a raw access token a client app hands Vestibule (syncano) is checked to have been issued to this client. oidc, demo, linkedin: the RFC 7662 introspection endpoint (oidc default: discovery\'s `introspection_endpoint`; demo: issuer + /token/introspection; linkedin: https://www.linkedin.com/oauth/v2/introspectToken). google: tokeninfo (default https://oauth2.googleapis.com/tokeninfo). github: "check a token" (default https://api.github.com/applications/{client_id}/token, or derived from endpoints.userinfo ending in /user; `{client_id}` is replaced). facebook: debug_token (default https://graph.facebook.com/v19.0/debug_token, or derived from endpoints.userinfo ending in /me).'))
}, { additionalProperties: false, description: 'Endpoint overrides; every URL defaults to the public provider and can point at a self-hosted or local one.' })

export const OAuth2ProviderConfigSchema = Type.Object({
  type: Type.Union([Type.Literal('google'), Type.Literal('facebook'), Type.Literal('github'), Type.Literal('linkedin'), Type.Literal('oidc'), Type.Literal('demo')], {
    description: 'Provider type. Keys of the same type share identities (an alias such as `google` and `google-oauth2`).'
  }),
  clientId: Type.String({ minLength: 1, description: 'OAuth2 client id registered with the provider.' }),
  clientSecret: Type.String({ writeOnly: true, description: 'OAuth2 client secret; use "${ENV_VAR}" rather than a literal.' }),
  scope: Type.Optional(Type.Array(Type.String(), { description: 'Scopes requested in authorization URLs Vestibule builds.' })),
  endpoints: Type.Optional(OAuth2EndpointsSchema),
  tokenEndpointAuthMethod: Type.Optional(Type.Union([Type.Literal('client_secret_post'), Type.Literal('client_secret_basic')], {
    description: 'How the client authenticates at the token endpoint. Default: google, facebook, github, linkedin use client_secret_post; oidc uses client_secret_basic when discovery lists it (or lists nothing), else client_secret_post; demo uses client_secret_basic.'
  })),
  accessTokenCheck: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('introspection'), Type.Literal('jwt'), Type.Literal('refuse')], {
    description: 'How a raw access token a client app hands Vestibule (syncano) is checked to have been issued to this client; a token issued to any other client is refused. `auto` (default): google tokeninfo, github "check a token", facebook debug_token, linkedin introspection; oidc and demo: RFC 7662 introspection when an introspection endpoint is known, else a JWT access token\'s signature, issuer and client (`client_id`, else `azp`, else `aud`), else refused. `introspection` or `jwt` (oidc, demo only): that check alone. `refuse`: raw access tokens are never accepted (codes still are).'
  })),
  acceptedClientIds: Type.Optional(Type.Array(Type.String({ minLength: 1 }), {
    description: 'google, oidc, demo, linkedin: more client ids of this tenant\'s own apps at the same provider (e.g. its Android and iOS OAuth clients) whose raw access tokens are accepted besides `clientId`. Never list another party\'s client: its users\' tokens would sign in here.'
  })),
  allowPrivateNetwork: Type.Optional(Type.Boolean({
    description: 'Let this provider\'s endpoints (configured, defaulted or discovered) reach loopback, private, link-local and unique-local addresses. Default false: such URLs are refused when the tenant loads (IP literals, localhost) and at connect time (names resolving there). Set it for a self-hosted IdP on your own network, the demo IdP and local test peers.'
  })),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 60000, description: 'Per-call timeout for this provider (default 10000).' }))
}, { additionalProperties: false })

export const OAuth1ProviderConfigSchema = Type.Object({
  type: Type.Literal('twitter', { description: 'OAuth 1.0a provider (Twitter/X).' }),
  consumerKey: Type.String({ minLength: 1, description: 'OAuth 1.0a consumer key.' }),
  consumerSecret: Type.String({ writeOnly: true, description: 'OAuth 1.0a consumer secret; use "${ENV_VAR}".' }),
  endpoints: Type.Optional(Type.Object({
    requestToken: Type.Optional(Url('Request-token endpoint.')),
    authorize: Type.Optional(Url('Where the user authorizes the request token.')),
    accessToken: Type.Optional(Url('Access-token endpoint.')),
    profile: Type.Optional(Url('verify_credentials endpoint (asked for the email).'))
  }, { additionalProperties: false })),
  allowPrivateNetwork: Type.Optional(Type.Boolean({
    description: 'Let this provider\'s endpoints reach loopback, private, link-local and unique-local addresses (default false; see the OAuth2 providers\' allowPrivateNetwork).'
  })),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 60000, description: 'Per-call timeout for this provider (default 10000).' }))
}, { additionalProperties: false })

export const ProviderConfigSchema = Type.Union([OAuth2ProviderConfigSchema, OAuth1ProviderConfigSchema])
export type ProviderConfig = Static<typeof ProviderConfigSchema>
export type OAuth2ProviderConfig = Static<typeof OAuth2ProviderConfigSchema>
export type OAuth1ProviderConfig = Static<typeof OAuth1ProviderConfigSchema>
