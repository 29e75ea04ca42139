// Tenant options of the rest-social-auth dialect (seed 000): `dialects["rest-social-auth"]`.
import { Type, type Static } from '@sinclair/typebox'
import { Url } from '../../plugins/tenant/strings.ts'
import { tokenAuthScheme } from '../../plugins/token-auth-scheme.ts'

export const RestSocialAuthOptionsSchema = Type.Object({
  tokenTtlSeconds: Type.Optional(Type.Union([Type.Integer({ minimum: 60 }), Type.Null()], { description: 'Lifetime of issued `Token`s; null or absent: until logout (DRF authtoken behaviour).' })),
  emailChangeMaxAuthAgeSeconds: Type.Optional(Type.Integer({ minimum: 30, maximum: 86400, default: 300, description: 'PATCH /user may change the email address only with a token issued this recently (a fresh social sign-in): an older token gets 403. The change revokes every other token of the account and mails a notice to the old address. Default 300.' })),
  oauth1CallbackUrls: Type.Optional(Type.Array(Url(), {
    description: 'The exact `redirect_uri` values OAuth1 step 1 accepts (compared as parsed, normalised URLs: query and fragment included). Required when the tenant has an OAuth1 provider (twitter); without it step 1 is refused.'
  }))
}, { additionalProperties: false, description: 'POST /social-auth (OAuth1 two-step, OAuth2 code), GET/PATCH /user, POST /logout.' })
export type RestSocialAuthOptions = Static<typeof RestSocialAuthOptionsSchema>

/** A URL in the one spelling comparisons use (WHATWG-parsed: scheme and host lower-cased, default port and dot segments gone), or null. */
export function normalisedUrl (s: string): string | null {
  try {
    const u = new URL(s)
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '' ? u.href : null
  } catch { return null }
}

/** OpenAPI security schemes this dialect's routes name in `security`. */
export const securitySchemes = {
  TokenAuth: tokenAuthScheme
}
