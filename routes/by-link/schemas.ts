// Request and response schemas of the by-link dialect (seed 001), with the seed's examples.
import { Type } from '@sinclair/typebox'
import type { User } from '../../db/index.ts'
import { bodySchema, fieldErrorsSchema, type FieldSpec } from '../../plugins/drf.ts'

export const LINK_FIELDS: FieldSpec[] = [
  { name: 'email', required: true, email: true, maxLength: 254, description: 'The customer\'s email address: the link is mailed there, and it is the address that logs in.', example: 'customer@example.com' }
]

export const LOGIN_FIELDS: FieldSpec[] = [
  { name: 'token', required: true, maxLength: 512, description: 'The token from the mailed link.', example: 'Qm9ZrX1m3s0Q3Yv4b5m6n7o8p9q0r1s2t3u4v5w6x7y' },
  { name: 'client_key', required: true, maxLength: 128, description: 'Client key (one of the tenant\'s `clients[].id`).', example: 'client key here' }
]

const providerField: FieldSpec = { name: 'provider', maxLength: 64, description: 'Provider key configured for this tenant (e.g. `google-oauth2`). Required: absent, null or empty, the answer is 400 with the JSON string `"Provider is not specified"` (django-rest-social-auth views.py).', example: 'google-oauth2' }
const socialRest: FieldSpec[] = [
  { name: 'code', required: true, maxLength: 2048, description: 'Authorization code the provider sent to redirect_uri.', example: 'AQBPBBTjbdnehj51' },
  { name: 'client_key', required: true, maxLength: 128, description: 'Client key (one of the tenant\'s `clients[].id`).', example: 'client key here' },
  { name: 'redirect_uri', maxLength: 2048, description: 'The absolute redirect URI the front-end used with the provider; must be one of the client\'s `redirectUris` when it lists any. Absent: the tenant\'s `redirectUri` option, else the request\'s `Origin` + `/` (same allow-list).', example: 'https://frontend.app/auth/social/google-oauth2/' }
]
export const SOCIAL_FIELDS: FieldSpec[] = [providerField, ...socialRest]
export const SOCIAL_PATH_FIELDS: FieldSpec[] = socialRest

export const LinkBody = bodySchema(LINK_FIELDS, { examples: [{ email: 'the customer email' }] })
export const LoginBody = bodySchema(LOGIN_FIELDS, { examples: [{ token: 'the token from url', client_key: 'client key here' }] })
export const SocialBody = bodySchema(SOCIAL_FIELDS, { examples: [{ provider: 'google-oauth2', code: 'AQBPBBTjbdnehj51', client_key: 'client key here', redirect_uri: 'absolute redirect uri here' }] })
export const SocialPathBody = bodySchema(SOCIAL_PATH_FIELDS, { examples: [{ code: 'AQBPBBTjbdnehj51', client_key: 'client key here', redirect_uri: 'absolute redirect uri here' }] })
export const ProviderParams = Type.Object({
  provider: Type.String({ maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'Provider key, as in the body variant.' })
})

export const LinkResponse = Type.Object({
  email: Type.String({ description: 'The address the link was sent to (the same answer whether or not an account exists).' }),
  _debug_auth_link: Type.Optional(Type.String({ description: 'Only when the tenant turns `debugLinks` on (development): the mailed link.' }))
}, { additionalProperties: false, title: 'ByLinkLinkSent', examples: [{ email: 'customer@example.com' }, { email: 'customer@example.com', _debug_auth_link: 'https://frontend.app/auth/link/Qm9ZrX1m3s0Q3Yv4b5m6n7o8p9q0r1s2t3u4v5w6x7y' }] })

const userProps = {
  id: Type.Integer({ description: 'User id.' }),
  username: Type.String({ description: 'Username ("" when the account has none; django-rest-social-auth UserSerializer shows the user model\'s fields).' }),
  email: Type.Union([Type.String(), Type.Null()], { description: 'Email address (null only for social accounts without one).' }),
  first_name: Type.String({ description: 'First name ("" when unknown).' }),
  last_name: Type.String({ description: 'Last name ("" when unknown).' })
}
export const UserResponse = Type.Object(userProps, { additionalProperties: false, title: 'ByLinkUser', examples: [{ id: 42, username: '', email: 'customer@example.com', first_name: 'Alice', last_name: 'Liddell' }] })
export const LoginResponse = Type.Object({
  token: Type.String({ description: 'Auth token: send it as `Authorization: Token <token>`.' }),
  ...userProps
}, { additionalProperties: false, title: 'ByLinkSession', examples: [{ token: '9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b', id: 42, username: '', email: 'customer@example.com', first_name: '', last_name: '' }] })

export const LinkErrors = fieldErrorsSchema('DRF field errors.', [{ email: ['Enter a valid email address.'] }, { email: ['This field is required.'] }])
export const LoginErrors = fieldErrorsSchema('DRF field errors: a missing field, an unknown `client_key`, or a token that is unknown, used, expired or from another tenant.', [
  { token: ['Invalid or expired token.'] }, { client_key: ['Invalid client key.'] }, { token: ['This field is required.'], client_key: ['This field is required.'] }
])
export const SocialErrors = fieldErrorsSchema('DRF field errors, an unknown provider, an unknown client key, a redirect_uri the client does not list, or the provider\'s refusal. No `provider` at all (body variant): the JSON string `"Provider is not specified"` instead of an object.', [
  { provider: ['Invalid provider'] }, { client_key: ['Invalid client key.'] }, { redirect_uri: ['This redirect_uri is not allowed for this client.'] },
  { non_field_errors: ['Invalid credentials.'] }, { non_field_errors: ['The provider did not give an email address.'] }, { non_field_errors: ['This email address is already used by another account.'] }
])

export const Detail = Type.Object({ detail: Type.String() }, { additionalProperties: false, title: 'DrfDetail' })
export const Unauthorized = Type.Object({ detail: Type.String() }, {
  additionalProperties: false,
  title: 'DrfDetail',
  description: '`Authentication credentials were not provided.` (no `Authorization: Token` header) or `Invalid token.` (unknown, revoked or expired); `WWW-Authenticate: Token`.',
  examples: [{ detail: 'Authentication credentials were not provided.' }, { detail: 'Invalid token.' }]
})
export const Throttled = Type.Object({ detail: Type.String() }, { additionalProperties: false, title: 'DrfDetail', examples: [{ detail: 'Request was throttled. Expected available in 60 seconds.' }] })
export const Unavailable = Type.Object({ detail: Type.String() }, { additionalProperties: false, title: 'DrfDetail', examples: [{ detail: 'The authentication provider is unavailable. Try again later.' }] })

/** What every by-link route may also answer: a body too large, a content type it does not read. */
export const COMMON_ERRORS = { 413: Detail, 415: Detail }

/** A user as UserResponse shows it. */
export function serializeUser (u: Pick<User, 'id' | 'username' | 'email' | 'given_name' | 'family_name'>) {
  return { id: Number(u.id), username: u.username ?? '', email: u.email, first_name: u.given_name ?? '', last_name: u.family_name ?? '' }
}
