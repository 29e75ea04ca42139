// TypeBox request/response schemas of the syncano dialect (seed 003): the user object, DRF-style error bodies.
import { Type, type Static, type TObject, type TSchema } from '@sinclair/typebox'
import { registerBodyValidator } from '../../plugins/compilers.ts'
import type { FieldSpec } from '../../plugins/drf.ts'
import { SafeString } from '../../plugins/schemas.ts'

export const TOKEN_MAX = 2048

/** Every body media type the platform parses (JSON, PreflightParser's text/plain, form, multipart). */
export const SYNCANO_BODIES = ['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']

// Bodies are described here for OpenAPI but checked by the handlers (routes/syncano validates as the
// platform's views do: social login answers any bad body 401, the user update answers DRF field errors),
// so the schema lets every body through unchanged.
const RAW_VALIDATOR = 'syncano-raw'
registerBodyValidator(RAW_VALIDATOR, () => (data: unknown) => ({ value: data }))

function documentedBody (props: Record<string, TSchema>, opts: { description: string, examples: unknown[] }): TObject {
  return Type.Object(props, { ...opts, 'x-vst-validator': RAW_VALIDATOR })
}

const KEY_FIELDS = {
  _api_key: Type.Optional(Type.String({ description: 'The API key, for clients that send no X-API-KEY header (read only when the head carries no key).' })),
  _user_key: Type.Optional(Type.String({ description: 'The user key, for clients that send no X-USER-KEY header.' })),
  _method: Type.Optional(Type.String({ description: 'text/plain POST bodies only: the method to serve the request as (GET, POST, PUT, PATCH, DELETE).' }))
}

export const InstanceParams = Type.Object({
  instance: SafeString({ maxLength: 64, description: 'Instance name (one of the tenant\'s `instances`).' })
})
export type InstanceParamsType = Static<typeof InstanceParams>

export const AuthParams = Type.Object({
  instance: SafeString({ maxLength: 64, description: 'Instance name (one of the tenant\'s `instances`).' }),
  backend: SafeString({ maxLength: 64, description: 'Social backend: a configured provider key such as `facebook`, `google-oauth2`, `twitter`, `linkedin`.' })
})
export type AuthParamsType = Static<typeof AuthParams>

export const UserParams = Type.Object({
  instance: SafeString({ maxLength: 64, description: 'Instance name.' }),
  id: SafeString({ maxLength: 32, description: 'The user id (must be the id of the user the X-USER-KEY belongs to).' })
})
export type UserParamsType = Static<typeof UserParams>

export const ApiKeyHeaders = Type.Object({
  'x-api-key': Type.Optional(Type.String({ description: 'An API key of the instance in the path.' }))
})
export const UserKeyHeaders = Type.Object({
  'x-api-key': Type.Optional(Type.String({ description: 'An API key of the instance in the path.' })),
  'x-user-key': Type.Optional(Type.String({ description: 'The `user_key` a social login (or reset_key) returned, for this instance.' }))
})

// Checked by validateFields (DRF CharFields); any failure is the platform's 401 Invalid authorization token.
export const AUTH_FIELDS: FieldSpec[] = [
  { name: 'access_token', required: true, maxLength: TOKEN_MAX, description: 'Social backend access token the client app obtained from the provider; twitter: `<token>:<secret>`.' },
  { name: 'access_token_secret', rejectNull: true, maxLength: TOKEN_MAX, description: 'Twitter (OAuth 1.0a) only, instead of `<token>:<secret>` in access_token: the access token secret.' }
]
export const AuthBody = documentedBody({
  access_token: SafeString({ maxLength: TOKEN_MAX, description: AUTH_FIELDS[0].description }),
  access_token_secret: Type.Optional(SafeString({ maxLength: TOKEN_MAX, description: AUTH_FIELDS[1].description })),
  ...KEY_FIELDS
}, {
  description: 'A missing, blank or malformed access_token is `401 {"detail": "Invalid authorization token."}`.',
  examples: [{ access_token: '<BACKEND_PROVIDER_TOKEN>' }, { access_token: '<TWITTER_TOKEN>:<TWITTER_TOKEN_SECRET>' }]
})

// The platform's UserSerializer (apps/users/v1/serializers.py): username (LowercaseCharField, 64,
// unique), password (128, write-only), profile (the user profile object; its fields are not stored here).
export const USERNAME_MAX = 64
export const PASSWORD_MAX = 128
export const UPDATE_FIELDS: FieldSpec[] = [
  { name: 'username', maxLength: USERNAME_MAX, description: 'New username (stored lowercase, unique in the tenant); required by PUT.' },
  { name: 'password', maxLength: PASSWORD_MAX, description: 'New password (stored as a scrypt hash, never shown); required by PUT.' }
]
export const UpdateBody = documentedBody({
  username: Type.Optional(SafeString({ maxLength: USERNAME_MAX, description: UPDATE_FIELDS[0].description })),
  password: Type.Optional(SafeString({ maxLength: PASSWORD_MAX, description: UPDATE_FIELDS[1].description })),
  profile: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'Accepted and ignored: this deployment keeps no user profile class.' })),
  ...KEY_FIELDS
}, {
  description: 'Django REST framework field errors (400) for a bad field; `{"username": ["This field must be unique."]}` for a taken username.',
  examples: [{ username: 'john23@doe.com', password: 'test23' }]
})

const Timestamp = Type.String({ description: 'ISO 8601 UTC with microseconds, e.g. `2015-06-09T14:23:39.090423Z`.' })

export const Profile = Type.Object({
  channel_room: Type.Null(),
  group: Type.Null(),
  links: Type.Object({ owner: Type.String() }),
  group_permissions: Type.String({ description: 'Always `none`.' }),
  created_at: Timestamp,
  owner_permissions: Type.String({ description: 'Always `full`.' }),
  updated_at: Timestamp,
  id: Type.Integer({ description: 'Profile id: equal to the user id (one profile per user).' }),
  avatar: Type.Null(),
  owner: Type.Integer({ description: 'The user id.' }),
  other_permissions: Type.String({ description: 'Always `none`.' }),
  channel: Type.Null(),
  revision: Type.Integer()
}, { title: 'SyncanoProfile' })

export const UserObject = Type.Object({
  username: Type.String({ description: 'The provider\'s username, or a generated `user_<17 digits>_0`.' }),
  user_key: Type.String({ description: '40 lowercase hex characters; send it as X-USER-KEY.' }),
  profile: Profile,
  id: Type.Integer({ description: 'Numeric user id.' }),
  links: Type.Object({
    self: Type.String(),
    'reset-key': Type.String(),
    groups: Type.String()
  })
}, {
  title: 'SyncanoUser',
  examples: [{
    username: 'user_14254712144338013_0',
    user_key: 'b22f9dd4fa1b02152455f3820326e91322b50f96',
    profile: {
      channel_room: null, group: null, links: { owner: '/v1.1/instances/instance/users/5/' }, group_permissions: 'none',
      created_at: '2015-06-09T14:23:39.090423Z', owner_permissions: 'full', updated_at: '2015-06-09T14:23:39.090451Z',
      id: 5, avatar: null, owner: 5, other_permissions: 'none', channel: null, revision: 1
    },
    id: 5,
    links: { self: '/v1.1/instances/instance/users/5/', 'reset-key': '/v1.1/instances/instance/users/5/reset_key/', groups: '/v1.1/instances/instance/users/5/groups/' }
  }]
})
export type UserObjectType = Static<typeof UserObject>

export const Detail = (description: string, example: string) =>
  Type.Object({ detail: Type.String() }, { title: 'SyncanoDetail', description, examples: [{ detail: example }] })

export const FieldErrors = Type.Record(Type.String(), Type.Union([Type.Array(Type.String()), Type.Record(Type.String(), Type.Array(Type.String()))]), {
  title: 'SyncanoFieldErrors',
  description: 'Django REST framework field errors, e.g. `{"username": ["This field is required."]}`; a malformed body gives `{"detail": "JSON parse error - …"}`.',
  examples: [{ username: ['This field is required.'] }]
})
export const AuthBadRequest = Type.Object({ detail: Type.String() }, {
  title: 'SyncanoDetail',
  description: 'An unsupported backend, a provider that gave no email for a new account, an email that belongs to another account, or a malformed body.',
  examples: [{ detail: 'Unsupported social backend.' }, { detail: 'Invalid social scope, missing email.' }]
})
export const UpdateBadRequest = Type.Union([FieldErrors, Type.Object({ detail: Type.String() })], {
  description: 'Validation error (DRF style) or a malformed body.'
})
