// Tenant options of the capture dialect (seed 004, Janrain): `dialects["capture"]`; clients and flows are top-level.
import { Type, type Static } from '@sinclair/typebox'

export const CaptureOptionsSchema = Type.Object({
  tokenUrls: Type.Array(Type.String({ pattern: '^https?://' }), { default: [], description: 'Social Login: allowed `token_url` values (exact match, query string ignored).' }),
  accessTokenTtlSeconds: Type.Integer({ minimum: 60, default: 3600, description: 'Lifetime of access tokens.' }),
  refreshTokenTtlSeconds: Type.Integer({ minimum: 60, default: 2592000, description: 'Lifetime of refresh tokens.' }),
  codeTtlSeconds: Type.Integer({ minimum: 10, maximum: 600, default: 60, description: 'Lifetime of authorization codes.' }),
  socialTokenTtlSeconds: Type.Integer({ minimum: 30, maximum: 3600, default: 600, description: 'Lifetime of Social Login tokens (and merge tokens).' })
}, { additionalProperties: false, description: 'Janrain Capture /oauth/auth_native family and Social Login tokens.' })
export type CaptureOptions = Static<typeof CaptureOptionsSchema>

/** OpenAPI security schemes this dialect's routes name in `security`. */
export const securitySchemes = {
  CaptureAccessToken: { type: 'http', scheme: 'bearer', description: 'An access token from /oauth/auth_native, /oauth/token or a traditional sign-in.' },
  CaptureClientCredentials: { type: 'http', scheme: 'basic', description: 'API client id and secret (or `client_id` and `client_secret` in the form body).' }
}
