// TypeBox request and response schemas of the capture dialect (they validate and build the OpenAPI document).
import { Type, type TSchema } from '@sinclair/typebox'
import { SafeString } from '../../plugins/schemas.ts'

const Nullable = <T extends TSchema>(s: T) => Type.Union([s, Type.Null()])
const Arg = (description: string, extra: Record<string, unknown> = {}) => Type.Optional(SafeString({ description, ...extra }))

// Required-ness is checked by the handlers, not the schema, so a missing argument gets Capture's
// "missing arguments: a, b" (code 100) naming all of them in the seed's order.
const common = {
  client_id: Arg('API client id; the client needs the `login_client` feature. Required.', { examples: ['12345abcde12345abcde12345abcde12'] }),
  flow: Arg('Flow name (e.g. `standard`). Required unless the client has a default flow.'),
  flow_version: Arg('Flow version (`HEAD` is refused). Required unless the client has a default flow version.'),
  locale: Arg('Locale of the flow (e.g. `en-US`); error descriptions use it. Required.'),
  redirect_uri: Arg('Legacy; must begin with `http:` or `https:`. Required.'),
  response_type: Arg('`token` (default), `code` or `code_with_token` (also spelled `code_and_token`, as the Janrain mobile SDKs send it).'),
  refresh_secret: Arg('16 to 256 printable characters the app keeps (the Janrain mobile SDKs send 40 hex digits): bound to the access token issued (or to the authorization code, then to the access token /oauth/token issues for it); it signs `/oauth/refresh_access_token`. Stored sealed.')
}

export const AuthNativeBody = Type.Object({
  ...common,
  merge_token: Arg('The Social Login token of a previous call that failed with 380: its identity is merged into the account `token` signs in.'),
  registration_form: Arg('Social registration form whose fields `prereg_fields` carries in a 310 answer (e.g. `socialRegistrationForm`).'),
  thin_registration: Arg('`true`: register a new user at once from the social profile.'),
  token: Arg('The 40-character Social Login token. Required.')
}, { additionalProperties: false })

const formFields = { additionalProperties: SafeString({ description: 'A field of the named form.' }) }

export const RegisterNativeBody = Type.Object({
  ...common,
  form: Arg('Social registration form name (e.g. `socialRegistrationForm`). Required.'),
  token: Arg('The Social Login token of the 310 answer. Required.')
}, formFields)

export const AuthTraditionalBody = Type.Object({
  ...common,
  form: Arg('Sign-in form name; default `signInForm`.'),
  signInEmailAddress: Arg('Email address (field name as the tenant\'s sign-in form declares it).'),
  currentPassword: Arg('Password (field name as the tenant\'s sign-in form declares it).'),
  merge_token: Arg('The Social Login token of a previous call that failed with 380: merged into this account.')
}, formFields)

export const RegisterTraditionalBody = Type.Object({
  ...common,
  form: Arg('Registration form name (e.g. `registrationForm`). Required.')
}, formFields)

export const UpdateProfileBody = Type.Object({
  access_token: Arg('The signed-in user\'s access token. Required.'),
  client_id: common.client_id,
  flow: common.flow,
  flow_version: common.flow_version,
  locale: common.locale,
  form: Arg('Edit-profile form name (e.g. `editProfileForm`). Required.')
}, formFields)

export const TokenBody = Type.Object({
  grant_type: Arg('`authorization_code` or `refresh_token`.'),
  code: Arg('Authorization code (grant_type=authorization_code).'),
  redirect_uri: Arg('The redirect_uri the code was issued for (grant_type=authorization_code).'),
  refresh_token: Arg('Refresh token (grant_type=refresh_token).'),
  client_id: Arg('Client id, when not sent with HTTP Basic.'),
  client_secret: Arg('Client secret, when not sent with HTTP Basic.'),
  refresh_secret: Arg('grant_type=authorization_code: a refresh_secret to bind to the access token issued (see /oauth/refresh_access_token).')
}, { additionalProperties: false })

export const RefreshBody = Type.Object({
  access_token: Arg('The access token to rotate (it may have expired). Required.'),
  client_id: Arg('The client the token was issued to. Required.'),
  date: Arg('`yyyy-MM-dd HH:mm:ss`, UTC; within 300 seconds of the server clock. Required.'),
  locale: Arg('Locale of error descriptions. Required.'),
  signature: Arg('base64(HMAC-SHA1(refresh_secret, "refresh_access_token\\n" + date + "\\n" + access_token + "\\n")). Required.'),
  flow: Arg('Sent by the SDKs; not used.'),
  flow_version: Arg('Sent by the SDKs; not used.')
}, { additionalProperties: false })

export const EntityBody = Type.Object({
  access_token: Arg('Access token (or `Authorization: Bearer` / `Authorization: OAuth`).'),
  type_name: Arg('Entity type; only `user` exists.')
}, { additionalProperties: false })

export const AuthInfoBody = Type.Object({
  apiKey: Arg('Social Login API key of one of the tenant\'s clients.'),
  token: Arg('The 40-character Social Login token.')
}, { additionalProperties: false })

export const SocialParams = Type.Object({ provider: SafeString({ maxLength: 64, description: 'Provider key configured for the tenant.' }) })
export const StartQuery = Type.Object({ token_url: Type.Optional(SafeString({ description: 'Where the token goes; must be listed in `tokenUrls`.' })) })
export const CallbackQuery = Type.Object({
  code: Type.Optional(SafeString()),
  state: Type.Optional(SafeString()),
  error: Type.Optional(SafeString()),
  oauth_token: Type.Optional(SafeString()),
  oauth_verifier: Type.Optional(SafeString()),
  denied: Type.Optional(SafeString())
})

// ---- responses ----

const CaptureTime = (description: string) => Nullable(Type.String({ description: `${description} Capture dateTime, e.g. \`2016-04-20 17:02:18.649000 +0000\`, or null.` }))

const CapturePhoto = Type.Object({ id: Type.Integer(), type: Type.String(), value: Type.String() }, { title: 'CapturePhoto' })

const CaptureProfile = Type.Object({
  id: Type.Integer({ description: 'Plural element id.' }),
  domain: Type.String({ description: 'Provider domain, e.g. `google.com`.' }),
  identifier: Type.String({ description: 'Stable identifier URL of the social identity.' }),
  provider: Type.String({ description: 'Provider key the identity came through.' }),
  email: Nullable(Type.String()),
  verifiedEmail: Nullable(Type.String()),
  created: Type.String()
}, { title: 'CaptureProfile' })

export const CaptureUser = Type.Object({
  id: Type.Integer(),
  uuid: Type.String(),
  created: Type.String({ description: 'e.g. `2016-04-20 17:02:18.649505 +0000`' }),
  lastUpdated: Type.String(),
  lastLogin: CaptureTime('Last sign-in or registration (from the audit log).'),
  email: Nullable(Type.String()),
  emailVerified: CaptureTime('When the address was verified; null while it is not.'),
  displayName: Nullable(Type.String()),
  givenName: Nullable(Type.String()),
  familyName: Nullable(Type.String()),
  photo: Nullable(Type.String()),
  photos: Type.Array(CapturePhoto, { description: 'Plural: the account photo, when it has one.' }),
  profiles: Type.Array(CaptureProfile)
}, { additionalProperties: true, title: 'CaptureUser', description: 'The user record; attributes stored by registration forms appear as extra members.' })

export const AuthSuccess = Type.Object({
  stat: Type.Literal('ok'),
  capture_user: CaptureUser,
  is_new: Type.Boolean(),
  access_token: Type.Optional(Type.String({ description: 'response_type token or code_with_token.' })),
  authorization_code: Type.Optional(Type.String({ description: 'response_type code or code_with_token; exchange at /oauth/token.' }))
}, { additionalProperties: false, title: 'CaptureAuthSuccess', examples: [{ capture_user: { created: '2016-04-20 17:02:18.649505 +0000', uuid: '67890def-6789-defg-6789-67890defgh67' }, is_new: false, stat: 'ok', access_token: 'z0y98xv76u5t4rs3' }] })

// Members in the seed's order: stat, code, error_description, error, request_id, then the extras.
function errorObject<C extends TSchema, E extends TSchema> (code: C, error: E) {
  return { stat: Type.Literal('error'), code, error_description: Type.String(), error, request_id: Type.String({ minLength: 16, maxLength: 16 }) }
}

export const CaptureErrorBody = Type.Object(errorObject(Type.Integer(), Type.String()), {
  additionalProperties: false,
  title: 'CaptureError',
  description: '100 missing_argument, 200 invalid_argument, 403 permission_error, 414 access_token_expired, 500 unexpected_error.',
  examples: [
    { stat: 'error', code: 100, error_description: 'missing arguments: flow', error: 'missing_argument', request_id: 'uyeem84bmqmnjuu4' },
    { stat: 'error', code: 200, error_description: 'invalid token', error: 'invalid_argument', request_id: 'zygzvaatua8ezk2v' },
    { stat: 'error', code: 500, error_description: "could not find a flow named 'standard' with version '12345abc-1234-abcd-1234-12345abcde12' and locale 'en-US'", error: 'unexpected_error', request_id: 'murynd7fhpysq6um' },
    { stat: 'error', code: 403, error_description: 'This client does not support log in and registration.', error: 'permission_error', request_id: 'y3sthb9dey6mv65e' }
  ]
})

export const RecordNotFound = Type.Object({
  ...errorObject(Type.Literal(310), Type.Literal('record_not_found')),
  prereg_fields: Type.Optional(Type.Record(Type.String(), Nullable(Type.String()), { description: 'The registration_form\'s fields filled from the social profile.' }))
}, { additionalProperties: false, title: 'CaptureRecordNotFound', examples: [{ stat: 'error', code: 310, error_description: 'no such user', error: 'record_not_found', request_id: 'd9yrm9g7vfrh7bk3', prereg_fields: { firstName: 'John', lastName: 'Doe', emailAddress: 'johndoe@example.com', displayName: 'JohnDoe' } }] })

export const EmailInUse = Type.Object({
  ...errorObject(Type.Literal(380), Type.Literal('email_address_in_use')),
  existing_provider: Type.String({ description: 'Provider key of the existing account, or `capture` for a password account: which sign-in the merge goes through.' }),
  existing_display_name: Type.Optional(Nullable(Type.String({ description: 'Only when the provider verified the claimed address.' }))),
  existing_photo: Type.Optional(Nullable(Type.Object({ id: Type.Integer(), value: Type.String(), type: Type.String() }, { description: 'Only when the provider verified the claimed address.' }))),
  existing_date_created: Type.Optional(Type.String({ description: 'Only when the provider verified the claimed address.' }))
}, { additionalProperties: false, title: 'CaptureEmailInUse', examples: [{ stat: 'error', code: 380, error_description: 'a user already exists with that email address', error: 'email_address_in_use', request_id: 'x4jdsa9mbajg7hsj', existing_provider: 'googleplus', existing_display_name: 'janedoe', existing_photo: { id: 10628, value: 'https://lh3.googleusercontent.com/photo.jpg?sz=400', type: 'other' }, existing_date_created: '2016-04-21 23:13:58.437196 +0000' }] })

export const InvalidFields = Type.Object({
  ...errorObject(Type.Union([Type.Literal(390), Type.Literal(210)]), Type.Union([Type.Literal('invalid_form_fields'), Type.Literal('invalid_credentials')])),
  invalid_fields: Type.Record(Type.String(), Type.Array(Type.String()))
}, { additionalProperties: false, title: 'CaptureInvalidFields', description: '390 invalid_form_fields (registration) or 210 invalid_credentials (sign-in).' })

/** Everything a Capture login/registration call can answer (all HTTP 200). */
export const AuthResponse = Type.Union([AuthSuccess, RecordNotFound, EmailInUse, InvalidFields, CaptureErrorBody])

export const TokenSuccess = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  refresh_token: Type.String()
}, { additionalProperties: false, title: 'CaptureTokenSuccess' })

// Both envelopes: OAuth's error/error_description and Capture's stat/code/request_id (janrain_capture_api.php checks stat).
export const OAuthErrorBody = Type.Object({
  stat: Type.Literal('error'),
  code: Type.Integer({ description: 'Capture error code: 100 missing argument, 200 invalid argument, 402 client credentials, 403 disabled account, 415 authorization code, 500 unexpected, 510 rate limit.' }),
  error: Type.String({ description: 'invalid_request, invalid_client, invalid_grant, unsupported_grant_type, server_error, rate_limited' }),
  error_description: Type.String(),
  argument_name: Type.Optional(Type.String({ description: 'With code 100 and 200: the argument at fault.' })),
  request_id: Type.String({ minLength: 16, maxLength: 16 })
}, { additionalProperties: false, title: 'CaptureOAuthError', examples: [{ stat: 'error', code: 415, error: 'invalid_grant', error_description: 'the authorization code is invalid, expired or already used', argument_name: 'code', request_id: 'uyeem84bmqmnjuu4' }] })

export const RefreshSuccess = Type.Object({
  stat: Type.Literal('ok'),
  access_token: Type.String({ description: 'The new access token; the one presented is revoked.' }),
  expires_in: Type.Integer({ description: 'Seconds the new access token lives.' })
}, { additionalProperties: false, title: 'CaptureRefreshSuccess' })
export const RefreshResponse = Type.Union([RefreshSuccess, CaptureErrorBody])

export const UpdateProfileSuccess = Type.Object({ stat: Type.Literal('ok') }, { additionalProperties: false, title: 'CaptureUpdateProfileSuccess' })
export const UpdateProfileResponse = Type.Union([UpdateProfileSuccess, InvalidFields, CaptureErrorBody])

export const EntitySuccess = Type.Object({ stat: Type.Literal('ok'), result: CaptureUser }, { additionalProperties: false, title: 'CaptureEntitySuccess' })
export const EntityResponse = Type.Union([EntitySuccess, CaptureErrorBody])

const EngageName = Type.Object({
  givenName: Type.Optional(Type.String()),
  familyName: Type.Optional(Type.String()),
  formatted: Type.Optional(Type.String())
}, { additionalProperties: false })

export const EngageProfile = Type.Object({
  providerName: Type.String(),
  identifier: Type.String(),
  verifiedEmail: Type.Optional(Type.String()),
  email: Type.Optional(Type.String()),
  name: EngageName,
  displayName: Type.Optional(Type.String()),
  preferredUsername: Type.Optional(Type.String()),
  photo: Type.Optional(Type.String())
}, { additionalProperties: false, title: 'EngageProfile' })

export const AuthInfoSuccess = Type.Object({ stat: Type.Literal('ok'), profile: EngageProfile }, { additionalProperties: false, title: 'EngageAuthInfoSuccess' })
export const EngageErrorBody = Type.Object({
  stat: Type.Literal('fail'),
  err: Type.Object({ code: Type.Integer(), msg: Type.String() }, { additionalProperties: false })
}, { additionalProperties: false, title: 'EngageError', examples: [{ stat: 'fail', err: { code: 2, msg: 'Data not found' } }] })
export const AuthInfoResponse = Type.Union([AuthInfoSuccess, EngageErrorBody])
