// TypeBox schemas of the admin API: they validate requests, shape responses, and make /admin/v1/openapi.json.
import { Type, type TSchema } from '@sinclair/typebox'
import { registerBodyValidator } from '../../plugins/compilers.ts'
import { tenantSchema } from '../schema.ts'

// A tenant document is checked by the store (the loader's schema and cross-checks, with `path: reason`
// errors), not by Ajv, whose defaults and additional-property stripping would rewrite it silently.
const AS_GIVEN = 'admin-as-given'
registerBodyValidator(AS_GIVEN, () => (data: unknown) => ({ value: data }))

const Timestamp = Type.String({ format: 'date-time' })

export const ErrorBody = Type.Object({
  error: Type.String({ description: 'Machine-readable code, e.g. `invalid_tenant`, `precondition_failed`, `forbidden`.' }),
  message: Type.String(),
  errors: Type.Optional(Type.Array(Type.String(), { description: 'A refused tenant document: one `path: reason` per problem, as `npm run tenants:check` prints them.' })),
  details: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  request_id: Type.Optional(Type.String())
}, { $id: 'AdminError' })

/** The `response` entries of these error statuses, all answered with ErrorBody. */
export const errorResponses = (...codes: number[]): Record<number, typeof ErrorBody> => Object.fromEntries(codes.map((c) => [c, ErrorBody]))

/** The tenant schema as a request body (documented in full, validated by the store). */
export function tenantBody (description: string): TSchema {
  const { $id: _id, title: _t, ...schema } = asInput(tenantSchema()) as Record<string, unknown>
  return { ...schema, description, 'x-vst-validator': AS_GIVEN } as unknown as TSchema
}

/** A copy in which a property with a default is not required: a document may leave it out (generated clients then let it). */
function asInput (schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(asInput)
  if (!schema || typeof schema !== 'object') return schema
  const out: Record<string | symbol, unknown> = {}
  for (const k of Reflect.ownKeys(schema)) out[k] = asInput((schema as Record<string | symbol, unknown>)[k])
  const props = (schema as { properties?: Record<string, { default?: unknown }> }).properties
  const required = (schema as { required?: string[] }).required
  if (props && Array.isArray(required)) {
    const left = required.filter((k) => props[k]?.default === undefined)
    if (left.length) out.required = left
    else delete out.required
  }
  return out
}

export const MergePatchBody = Type.Object({}, {
  additionalProperties: true,
  description: 'A JSON merge patch (RFC 7396) of the tenant document: objects merge, `null` removes a key, arrays are replaced whole. Secrets may be sent back as the `vst-secret:<fingerprint>` placeholders GET shows.',
  'x-vst-validator': AS_GIVEN
})

const Config = Type.Object({}, { additionalProperties: true, description: 'The tenant document as stored (no defaults filled in). Every secret (fields the tenant schema marks `writeOnly`) shows as `vst-secret:<fingerprint>`; send a placeholder back unchanged to keep that secret.' })

export const TenantSource = Type.Union([Type.Literal('database'), Type.Literal('file'), Type.Literal('inline')], { description: '`database`: managed through this API; `file`: a file in TENANTS_DIR (read-only here); `inline`: given to buildApp (read-only).' })

export const TenantSummary = Type.Object({
  id: Type.String(),
  source: TenantSource,
  version: Type.Optional(Type.Integer({ description: 'Current version (stored tenants).' })),
  file: Type.Optional(Type.String()),
  hosts: Type.Array(Type.String()),
  serving: Type.Boolean({ description: 'False when this node tried to load the stored tenant and could not (see `errors` on GET). Stored tenants load on their first request.' }),
  updatedAt: Type.Optional(Timestamp)
})

export const TenantList = Type.Object({
  items: Type.Array(TenantSummary),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last.' })
})

export const TenantResource = Type.Object({
  id: Type.String(),
  source: TenantSource,
  version: Type.Optional(Type.Integer({ description: 'Current version (stored tenants); also the ETag.' })),
  file: Type.Optional(Type.String()),
  serving: Type.Boolean(),
  errors: Type.Optional(Type.Array(Type.String(), { description: 'Why this node does not serve a stored tenant (`path: reason`).' })),
  createdAt: Type.Optional(Timestamp),
  updatedAt: Type.Optional(Timestamp),
  config: Config
})

export const Deleted = Type.Object({ id: Type.String(), version: Type.Integer({ description: 'The version recording the deletion.' }), deleted: Type.Literal(true) })

export const VersionInfo = Type.Object({
  version: Type.Integer(),
  action: Type.String({ description: 'create, update, restore or delete.' }),
  actor: Type.Union([Type.String(), Type.Null()], { description: 'The admin token id that made it (`token:<id>`), or `cli`.' }),
  createdAt: Timestamp
})
export const VersionList = Type.Object({ items: Type.Array(VersionInfo), nextCursor: Type.Union([Type.String(), Type.Null()]) })
export const VersionResource = Type.Object({ ...VersionInfo.properties, config: Type.Union([Config, Type.Null()], { description: 'null for a deletion.' }) })

export const TenantParams = Type.Object({ id: Type.String({ pattern: '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$', description: 'Tenant id.' }) })
export const VersionParams = Type.Object({ ...TenantParams.properties, version: Type.Integer({ minimum: 1 }) })
export const Page = Type.Object({
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'The `nextCursor` of the previous page.' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 }))
})

export const IfMatch = Type.Object({
  'if-match': Type.Optional(Type.String({ maxLength: 256, description: 'The ETag (version) this change is based on, e.g. `"3"`; another current version answers 412.' }))
})

export const ClientBody = Type.Object({
  id: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Client id; a random 32-character one when omitted.' })),
  confidential: Type.Optional(Type.Boolean({ default: true, description: 'Generate a client secret (shown once in the answer).' }))
}, { additionalProperties: true, description: 'A client as the tenant schema describes `clients[]` (name, redirectUris, the fields its dialects add), without `secret`.' })

export const ClientCreated = Type.Object({
  client: Type.Object({}, { additionalProperties: true }),
  secret: Type.Optional(Type.String({ description: 'The client secret, shown this once.' })),
  version: Type.Integer()
})
export const ClientParams = Type.Object({ ...TenantParams.properties, clientId: Type.String({ minLength: 1, maxLength: 128 }) })
export const SecretRotated = Type.Object({
  secret: Type.String({ description: 'The new secret, shown this once.' }),
  previous: Type.Array(Type.String(), { description: 'Fingerprints of the secrets still accepted until retired.' }),
  version: Type.Integer()
})
export const Versioned = Type.Object({ version: Type.Integer() })

export const InstanceParams = Type.Object({ ...TenantParams.properties, instance: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) })
export const KeyParams = Type.Object({ ...InstanceParams.properties, fingerprint: Type.String({ pattern: '^[0-9a-f]{12}$' }) })
export const KeyBody = Type.Object({
  key: Type.Optional(Type.String({ minLength: 8, maxLength: 512, description: 'The key to accept; a random one when omitted.' }))
}, { additionalProperties: false })
export const KeyAdded = Type.Object({
  key: Type.String({ description: 'The API key, shown this once.' }),
  fingerprint: Type.String(),
  version: Type.Integer()
})

// ---- users and events ----

export const UserRef = Type.Object({ ...TenantParams.properties, userId: Type.String({ maxLength: 64, description: 'The user\'s numeric id or uuid.' }) })
export const SessionRef = Type.Object({ ...UserRef.properties, sessionId: Type.String({ pattern: '^\\d{1,18}$' }) })

export const UserQuery = Type.Object({
  ...Page.properties,
  email: Type.Optional(Type.String({ maxLength: 320, description: 'Exact address, any case.' })),
  provider: Type.Optional(Type.String({ maxLength: 64, description: 'Has an identity of this provider type (`github`) or key (`google-oauth2`).' })),
  subject: Type.Optional(Type.String({ maxLength: 512, description: 'With `provider`: the provider\'s subject (user id) of that identity.' })),
  createdAfter: Type.Optional(Type.String({ format: 'date-time', description: 'Created at or after.' })),
  createdBefore: Type.Optional(Type.String({ format: 'date-time', description: 'Created before.' })),
  blocked: Type.Optional(Type.Boolean())
})

const Nullable = (s: TSchema) => Type.Union([s, Type.Null()])
export const UserSchema = Type.Object({
  id: Type.String(), uuid: Type.String(), email: Nullable(Type.String()), emailVerified: Type.Boolean(), username: Nullable(Type.String()),
  givenName: Nullable(Type.String()), familyName: Nullable(Type.String()), displayName: Nullable(Type.String()), photo: Nullable(Type.String()),
  locale: Nullable(Type.String()), referralCode: Nullable(Type.String()), hasPassword: Type.Boolean(),
  attributes: Type.Object({}, { additionalProperties: true }), blocked: Type.Boolean(), blockedAt: Nullable(Timestamp),
  createdAt: Timestamp, updatedAt: Timestamp
})
export const IdentitySchema = Type.Object({
  id: Type.String(), provider: Type.String({ description: 'Provider type.' }), providerName: Type.String({ description: 'The configured key the user came through.' }),
  subject: Type.String(), issuer: Nullable(Type.String()), email: Nullable(Type.String()), emailVerified: Type.Boolean(), createdAt: Timestamp
})
export const SessionSchema = Type.Object({
  id: Type.String(), kind: Type.String({ description: 'token, access, refresh, user_key, …' }), clientId: Nullable(Type.String()),
  createdAt: Timestamp, expiresAt: Nullable(Timestamp), revokedAt: Nullable(Timestamp)
})
export const UserList = Type.Object({ items: Type.Array(UserSchema), nextCursor: Nullable(Type.String()) })
export const UserDetail = Type.Object({ user: UserSchema, identities: Type.Array(IdentitySchema), sessions: Type.Array(SessionSchema, { description: 'Live sessions only.' }) })
export const Blocked = Type.Object({ user: UserSchema, revokedSessions: Type.Integer() })
export const Revoked = Type.Object({ revokedSessions: Type.Integer() })
export const Erased = Type.Object({
  erased: Type.Literal(true),
  pseudonym: Type.String({ description: 'What the kept audit events now name instead of the account.' }),
  deleted: Type.Record(Type.String(), Type.Integer())
})
export const UserExport = Type.Object({}, { additionalProperties: true, description: 'Everything stored about the user: account, identities (with provider profiles), sessions, one-time tokens, mail (links removed), audit events.' })

export const EventQuery = Type.Object({
  ...Page.properties,
  type: Type.Optional(Type.String({ maxLength: 64, description: 'Only events of this type (docs/events.md lists them).' })),
  userId: Type.Optional(Type.String({ pattern: '^\\d{1,18}$', description: 'Only events of this user.' })),
  after: Type.Optional(Type.String({ format: 'date-time', description: 'Only events recorded at or after this time.' })),
  before: Type.Optional(Type.String({ format: 'date-time', description: 'Only events recorded before this time.' }))
})
export const EventList = Type.Object({
  items: Type.Array(Type.Object({
    id: Type.String(), type: Type.String(), userId: Nullable(Type.String()), data: Type.Object({}, { additionalProperties: true }), createdAt: Timestamp,
    dialect: Nullable(Type.String()), provider: Nullable(Type.String()), clientId: Nullable(Type.String()),
    requestId: Nullable(Type.String()), clientAddress: Nullable(Type.String()), userAgent: Nullable(Type.String())
  })),
  nextCursor: Nullable(Type.String())
})
