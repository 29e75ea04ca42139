// TypeBox request/response schemas of the syncano dialect (seed 003): the user object, DRF-style error bodies.
import { Type, type Static } from '@sinclair/typebox'
import { bodySchema, type FieldSpec } from '../../plugins/drf.ts'
import { SafeString } from '../../plugins/schemas.ts'

export const TOKEN_MAX = 2048

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

// Validated once by validateFields (DRF CharFields): every field error at once, null reported as null.
export const AUTH_FIELDS: FieldSpec[] = [
  { name: 'access_token', required: true, maxLength: TOKEN_MAX, description: 'Social backend access token the client app obtained from the provider.' },
  { name: 'access_token_secret', rejectNull: true, maxLength: TOKEN_MAX, description: 'Twitter (OAuth 1.0a) only: the access token secret; required for OAuth 1.0a backends.' }
]
export const AuthBody = bodySchema(AUTH_FIELDS, { examples: [{ access_token: '<BACKEND_PROVIDER_TOKEN>' }] })
export interface AuthBodyType { access_token: string, access_token_secret?: string }

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
})

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
  Type.Object({ detail: Type.String() }, { description, examples: [{ detail: example }] })

export const FieldErrors = Type.Record(Type.String(), Type.Array(Type.String()), {
  description: 'Django REST framework field errors, e.g. `{"access_token": ["This field is required."]}`; a malformed body gives `{"detail": "JSON parse error - …"}`.',
  examples: [{ access_token: ['This field is required.'] }]
})
export const BadRequest = Type.Union([FieldErrors, Type.Object({ detail: Type.String() })], {
  description: 'Validation error (DRF style), a malformed body, or a sign-in refused because the provider\'s email belongs to another account.'
})
