// Tenant options of the by-link dialect (seed 001): `dialects["by-link"]`.
import { Type, type Static } from '@sinclair/typebox'
import { Url, UrlTemplate } from '../../plugins/tenant/strings.ts'
import { tokenAuthScheme } from '../../plugins/token-auth-scheme.ts'

export const ByLinkOptionsSchema = Type.Object({
  linkUrl: UrlTemplate(['token'], { description: 'Link mailed to the user; `{token}` is replaced by the magic-link token.' }),
  tokenTtlSeconds: Type.Integer({ minimum: 60, maximum: 86400, default: 600, description: 'Magic-link lifetime in seconds (default 10 minutes).' }),
  debugLinks: Type.Boolean({ default: false, description: 'UNSAFE outside development: echo the link as `_debug_auth_link` in the response. Logs a warning at boot when on.' }),
  sessionTtlSeconds: Type.Optional(Type.Union([Type.Integer({ minimum: 60 }), Type.Null()], { description: 'Lifetime of issued `Token`s; null or absent: until logout.' })),
  redirectUri: Type.Optional(Url({ description: 'Social login: the redirect_uri used when the request sends none (django-rest-social-auth REST_SOCIAL_OAUTH_ABSOLUTE_REDIRECT_URI); absent: the request\'s Origin + `/`. Either must still be one of the client\'s `redirectUris` when it lists any.' }))
}, { additionalProperties: false, description: 'Magic-link email login and social login with a client key; `Authorization: Token …`.' })
export type ByLinkOptions = Static<typeof ByLinkOptionsSchema>

/** OpenAPI security schemes this dialect's routes name in `security`. */
export const securitySchemes = {
  TokenAuth: tokenAuthScheme
}
