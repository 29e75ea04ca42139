// Request and response schemas of the rest-social-auth dialect (seed 000), with the seed's examples.
import { Type } from '@sinclair/typebox'
import { bodySchema, DetailSchema, fieldErrorsSchema, type FieldSpec } from '../../plugins/drf.ts'

export const SOCIAL_FIELDS: FieldSpec[] = [
  { name: 'provider', maxLength: 64, description: 'Provider key configured for this tenant (e.g. `twitter`, `facebook`, `google-oauth2`). Required: absent, null or empty, the answer is a bare 400 with an empty body (baseapp_social_auth views.py respond_error).', example: 'facebook' },
  { name: 'code', maxLength: 2048, description: 'OAuth2: the authorization code the provider returned to the client. Required for OAuth2 providers.' },
  { name: 'redirect_uri', maxLength: 2048, description: 'OAuth2: the redirect URI the client used with the provider (required). OAuth1 step 1: where the user is sent after authorizing (one of the tenant\'s `oauth1CallbackUrls`; absent: the first of them).' },
  { name: 'oauth_token', maxLength: 512, description: 'OAuth1 step 2 (required): the oauth_token the provider returned to the client.' },
  { name: 'oauth_token_secret', maxLength: 512, description: 'OAuth1 step 2 (required): the oauth_token_secret from step 1.' },
  { name: 'oauth_verifier', maxLength: 512, description: 'OAuth1 step 2 (required): the oauth_verifier the provider returned to the client.' },
  { name: 'email', email: true, maxLength: 254, description: 'Used when the provider does not give an email address (never counts as verified).' },
  { name: 'referral_code', maxLength: 64, description: 'The referral code (GET /user `referral_code`) of the user of this tenant who referred this one: checked before the provider is called (unknown: `{"referral_code": ["Invalid referral code."]}`), recorded on registration only.' }
]

export const USER_FIELDS: FieldSpec[] = [
  { name: 'email', email: true, maxLength: 254, description: 'New email address (unverified until proven).' },
  { name: 'first_name', maxLength: 150, allowBlank: true, description: 'First name; an empty string clears it.' },
  { name: 'last_name', maxLength: 150, allowBlank: true, description: 'Last name; an empty string clears it.' },
  { name: 'referred_by_code', maxLength: 64, description: 'The referral code of the user who referred this one (the seed\'s "User Update"; baseapp_auth UserSerializer): another user\'s code of this tenant, at most one day after joining, once. Write-only; blank counts as absent. `referral_code`, the user\'s own code, is read-only.' }
]

export const SocialAuthBody = bodySchema(SOCIAL_FIELDS, {
  description: 'One body for three steps: OAuth1 step 1 `{provider, redirect_uri}`, OAuth1 step 2 `{provider, oauth_token, oauth_token_secret, oauth_verifier, email?, referral_code?}`, OAuth2 `{provider, code, redirect_uri, email?, referral_code?}`.',
  examples: [
    { provider: 'twitter', redirect_uri: 'https://app.example.com/twitter/callback' },
    { provider: 'twitter', oauth_token: '0MxsWgAAAAAAwS-_AAABVld_DHo', oauth_token_secret: 'cYwcHxWW7OSnqY5W3FTZPvCJQNPfPX4N', oauth_verifier: 'x9Qs1b', email: 'someone@example.com' },
    { provider: 'facebook', code: 'AQBPBBTjbdnehj51', redirect_uri: 'https://app.example.com/facebook/callback', referral_code: '3F9A0C27B41D8E65' }
  ]
})

export const OAuth1Step1Response = Type.Object({
  oauth_token: Type.String({ description: 'Request token: send the user to the provider with it.' }),
  oauth_token_secret: Type.String({ description: 'Keep it for step 2.' }),
  oauth_callback_confirmed: Type.String({ description: 'Always "true" (OAuth 1.0a).' })
}, { additionalProperties: false, title: 'RestSocialAuthRequestToken', examples: [{ oauth_token_secret: 'cYwcHxWW7OSnqY5W3FTZPvCJQNPfPX4N', oauth_callback_confirmed: 'true', oauth_token: '0MxsWgAAAAAAwS-_AAABVld_DHo' }] })

export const TokenResponse = Type.Object({
  token: Type.String({ description: 'Auth token: send it as `Authorization: Token <token>`.' }),
  is_new: Type.Boolean({ description: 'True when the user just registered, false when an existing user logged in.' })
}, { additionalProperties: false, title: 'RestSocialAuthSession', examples: [{ token: 'lkja8*lkajsd*lkjas;ldkj8asd;kJASd811', is_new: true }] })

export const SocialAuthErrors = fieldErrorsSchema(
  'The seed\'s four errors — `{"provider": ["Invalid provider"]}`, `{"non_field_errors": "invalid_credentials"}`, `{"email": "no_email_provided"}`, `{"email": "email_already_in_use"}` — or DRF field errors such as `{"code": ["This field is required."]}` or `{"referral_code": ["Invalid referral code."]}`. No `provider` at all: a bare 400, empty body.',
  [{ provider: ['Invalid provider'] }, { referral_code: ['Invalid referral code.'] }, { non_field_errors: 'invalid_credentials' }, { email: 'no_email_provided' }, { email: 'email_already_in_use' }, { code: ['This field is required.'], redirect_uri: ['This field is required.'] }]
)

export const UserResponse = Type.Object({
  id: Type.Integer({ description: 'User id.' }),
  email: Type.Union([Type.String(), Type.Null()], { description: 'Email address, or null when none is known.' }),
  email_verified: Type.Boolean({ description: 'True when the address was proven (verified by the provider or by a magic link).' }),
  first_name: Type.String({ description: 'First name ("" when unknown).' }),
  last_name: Type.String({ description: 'Last name ("" when unknown).' }),
  referral_code: Type.String({ description: 'The user\'s own referral code: others send it as `referral_code` when they register (POST /social-auth) or as `referred_by_code` (PATCH /user). Read-only.' })
}, { additionalProperties: false, title: 'RestSocialAuthUser', examples: [{ id: 42, email: 'alice@example.com', email_verified: true, first_name: 'Alice', last_name: 'Liddell', referral_code: '3F9A0C27B41D8E65' }] })

export const UserUpdateBody = bodySchema(USER_FIELDS, {
  description: 'Partial update: only the fields sent change.',
  examples: [{ referred_by_code: '3F9A0C27B41D8E65' }, { first_name: 'Alice', last_name: 'Liddell' }]
})

export const UserUpdateErrors = fieldErrorsSchema('DRF field errors.', [{ email: ['Enter a valid email address.'] }, { email: ['user with this email already exists.'] }, { referred_by_code: ['Invalid referral code.'] }])

export const LogoutResponse = Type.Object({ detail: Type.String() }, { additionalProperties: false, title: 'DrfDetail', examples: [{ detail: 'Successfully logged out.' }] })

export const Unauthorized = Type.Object({ detail: Type.String() }, {
  additionalProperties: false,
  title: 'DrfDetail',
  description: '`Authentication credentials were not provided.` (no `Authorization: Token` header) or `Invalid token.` (unknown, revoked or expired token); `WWW-Authenticate: Token`.',
  examples: [{ detail: 'Authentication credentials were not provided.' }, { detail: 'Invalid token.' }]
})

export const Unavailable = Type.Object({ detail: Type.String() }, {
  additionalProperties: false,
  title: 'DrfDetail',
  description: 'The provider timed out or failed (5xx): not the client\'s fault, retry later.',
  examples: [{ detail: 'The authentication provider is unavailable. Try again later.' }]
})

export const Throttled = DetailSchema
export const UnsupportedMedia = Type.Object({ detail: Type.String() }, { additionalProperties: false, title: 'DrfDetail', examples: [{ detail: 'Unsupported media type "text/plain" in request.' }] })

export const Forbidden = Type.Object({ detail: Type.String() }, {
  additionalProperties: false,
  description: 'PATCH /user with a new `email` and a token older than `emailChangeMaxAuthAgeSeconds`: sign in again first.',
  examples: [{ detail: 'Sign in again to change the email address: this token is too old.' }]
})
