// Tenant config for providers: one entry per provider key clients send. Composed into tenants/schema.ts.
import { Type, type Static } from '@sinclair/typebox'

const Url = (description: string) => Type.String({ description, pattern: '^https?://' })

export const OAuth2EndpointsSchema = Type.Object({
  issuer: Type.Optional(Type.String({ description: 'OIDC issuer identifier; id_tokens must carry exactly this `iss`.' })),
  discovery: Type.Optional(Url('OIDC discovery document URL (default: issuer + /.well-known/openid-configuration). Used by the `oidc` type.')),
  authorize: Type.Optional(Url('Authorization endpoint the browser is sent to.')),
  token: Type.Optional(Url('Token endpoint (code exchange).')),
  userinfo: Type.Optional(Url('Userinfo / profile endpoint called with the access token.')),
  emails: Type.Optional(Url('GitHub only: the `/user/emails` endpoint used to find the primary verified address.')),
  jwks: Type.Optional(Url('JWKS URL used to verify id_token signatures.'))
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
  timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 60000, description: 'Per-call timeout for this provider (default 10000).' }))
}, { additionalProperties: false })

export const ProviderConfigSchema = Type.Union([OAuth2ProviderConfigSchema, OAuth1ProviderConfigSchema])
export type ProviderConfig = Static<typeof ProviderConfigSchema>
export type OAuth2ProviderConfig = Static<typeof OAuth2ProviderConfigSchema>
export type OAuth1ProviderConfig = Static<typeof OAuth1ProviderConfigSchema>
