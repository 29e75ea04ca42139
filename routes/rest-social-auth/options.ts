// Tenant options of the rest-social-auth dialect (seed 000): `dialects["rest-social-auth"]`.
import { Type, type Static } from '@sinclair/typebox'
import { Url } from '../../plugins/tenant/strings.ts'

export const RestSocialAuthOptionsSchema = Type.Object({
  tokenTtlSeconds: Type.Optional(Type.Union([Type.Integer({ minimum: 60 }), Type.Null()], { description: 'Lifetime of issued `Token`s; null or absent: until logout (DRF authtoken behaviour).' })),
  oauth1CallbackUrls: Type.Optional(Type.Array(Url(), { description: 'Allowed `redirect_uri` values for OAuth1 step 1; absent: any http(s) URL.' }))
}, { additionalProperties: false, description: 'POST /social-auth (OAuth1 two-step, OAuth2 code), GET/PATCH /user, POST /logout.' })
export type RestSocialAuthOptions = Static<typeof RestSocialAuthOptionsSchema>

/** OpenAPI security schemes this dialect's routes name in `security`. */
export const securitySchemes = {
  TokenAuth: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'The word `Token`, a space, then the token a login returned: `Authorization: Token <token>`.' }
}
