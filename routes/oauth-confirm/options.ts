// Tenant options of the oauth-confirm dialect (seed 002): `dialects["oauth-confirm"]`.
import { Type, type Static } from '@sinclair/typebox'
import { Url, UrlTemplate } from '../../plugins/tenant/strings.ts'

/** Placeholders of the redirect templates. */
export const TEMPLATE_TOKENS = ['confirmation', 'validation', 'state', 'language']

export const OAuthConfirmOptionsSchema = Type.Object({
  confirmUrl: UrlTemplate(TEMPLATE_TOKENS, { requiredTokens: ['confirmation'], description: 'Frontend URL the callback redirects an existing account to (and a new one, without `signupUrl`). Must contain `{confirmation}`; `{validation}`, `{state}` and `{language}` are also replaced. With `{validation}`, /oauth/login requires that validation.' }),
  signupUrl: Type.Optional(UrlTemplate(TEMPLATE_TOKENS, { requiredTokens: ['confirmation'], description: 'Frontend URL for a sign-in that created the account (freesewing: `https://{language}.freesewing.org/login/callback/{confirmation}/{validation}`); same placeholders as `confirmUrl`; absent: `confirmUrl`.' })),
  providerUrls: Type.Union([Type.Literal('vestibule'), Type.Literal('frontend')], {
    default: 'vestibule',
    description: '`vestibule`: /oauth/init returns the provider URL, with PKCE and (OIDC) a nonce. `frontend`: the frontend builds the provider URL itself from the state (freesewing.org): no PKCE, no nonce, the profile from the provider\'s userinfo endpoint. See docs/oauth-confirm.md for the trade-off.'
  }),
  errorUrl: Type.Optional(Url({ description: 'Frontend URL for failed callbacks (`?error=<code>` is appended); absent: the callback answers 400.' })),
  languages: Type.Optional(Type.Array(Type.String({ minLength: 2 }), { description: 'Accepted `language` codes; default: the tenant locales and their primary subtags.' })),
  stateTtlSeconds: Type.Integer({ minimum: 30, maximum: 3600, default: 600, description: 'Lifetime of an init state.' }),
  confirmationTtlSeconds: Type.Integer({ minimum: 30, maximum: 3600, default: 300, description: 'Lifetime of a confirmation.' }),
  sessionTtlSeconds: Type.Optional(Type.Union([Type.Integer({ minimum: 60 }), Type.Null()], { description: 'Lifetime of issued tokens (the JWT\'s `exp` and its session\'s expiry); null or absent: no `exp`, valid until its session is revoked.' })),
  jwt: Type.Optional(Type.Object({
    audience: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 512 }), Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { minItems: 1, maxItems: 16 })], {
      description: 'The token\'s `aud` (freesewing: `freesewing.org`); checked on every authenticated request. Absent: no `aud`.'
    })),
    algorithm: Type.Union([Type.Literal('ES256'), Type.Literal('RS256')], {
      default: 'ES256',
      description: 'Algorithm of the tenant\'s signing key when it is created on first use (an existing key keeps its own; a rotation keeps the old key\'s unless told otherwise). Both verify with jsonwebtoken, passport-jwt and jose.'
    })
  }, { additionalProperties: false, default: {}, description: 'The login token is a JWT signed with the tenant\'s key (public keys at `/.well-known/jwks.json`); see docs/oauth-confirm.md.' })),
  bindStateToBrowser: Type.Boolean({
    default: false,
    description: 'Against login CSRF: /oauth/init sets a short-lived HttpOnly, SameSite=Lax cookie (scoped to the callback path) and the callback refuses a state that comes back without it (`invalid_state`). Works only when the browser keeps that cookie: a frontend on Vestibule\'s own origin, or on the same site calling init with `credentials: "include"` and the tenant\'s `cors.credentials` on. See docs/oauth-confirm.md before turning it on.'
  })
}, { additionalProperties: false, description: '/oauth/init → provider → /oauth/callback/from/:provider → frontend confirmation → /oauth/login.' })
export type OAuthConfirmOptions = Static<typeof OAuthConfirmOptionsSchema>

/** OpenAPI security schemes this dialect's routes name in `security`: the JWT `/oauth/login` returns. */
export const securitySchemes = {
  OAuthConfirmBearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The `token` of `/oauth/login`: `Authorization: Bearer <jwt>`, as freesewing.org sends it.' }
}
