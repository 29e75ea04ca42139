// Tenant-config parts that dialects read (clients, instances, flows, email, rate limits), as TypeBox schemas.
// tenants/schema.ts composes these with each dialect's and provider's own schema into the tenant schema.
import { Type, type Static } from '@sinclair/typebox'

export const LocaleSchema = Type.String({ pattern: '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$', description: 'BCP 47 language tag, e.g. `en-US` or `fr`.' })

export const ClientSchema = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 128, description: 'Client id / client key apps send (`client_id`, `client_key`).' }),
  secret: Type.Optional(Type.String({ minLength: 1, description: 'Client secret for confidential clients (Capture `/oauth/token`); use "${ENV_VAR}".' })),
  name: Type.Optional(Type.String({ description: 'Human name, for logs and docs.' })),
  features: Type.Array(Type.String(), { default: [], description: 'Capture-style API client features; `login_client` allows login and registration endpoints.' }),
  redirectUris: Type.Array(Type.String(), { default: [], description: 'Redirect URIs this client may use (exact match).' }),
  apiKey: Type.Optional(Type.String({ minLength: 16, description: 'Capture Social Login API key (`/api/v2/auth_info` apiKey) for this client.' })),
  defaultFlow: Type.Optional(Type.String({ description: 'Capture: flow used when a request omits `flow`.' })),
  defaultFlowVersion: Type.Optional(Type.String({ description: 'Capture: flow version used when a request omits `flow_version`.' }))
}, { additionalProperties: false })

export const InstanceSchema = Type.Object({
  name: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'Syncano instance name as it appears in `/v1.1/instances/:instance/`.' }),
  apiKeys: Type.Array(Type.String({ minLength: 8 }), { minItems: 1, description: 'API keys accepted in `X-API-KEY` for this instance; use "${ENV_VAR}".' })
}, { additionalProperties: false })

export const FormFieldSchema = Type.Object({
  name: Type.String({ minLength: 1, description: 'Field name on the wire (e.g. `emailAddress`).' }),
  attribute: Type.String({ minLength: 1, description: 'User attribute it maps to: email, givenName, familyName, displayName, password, or any custom attribute name.' }),
  required: Type.Optional(Type.Boolean({ description: 'Registration fails with invalid_form_fields when this field is missing.' })),
  label: Type.Optional(Type.String({ description: 'Label for generated docs.' })),
  confirms: Type.Optional(Type.String({ description: 'Name of another field this one must equal (e.g. `newPasswordConfirm` confirms `newPassword`).' })),
  minLength: Type.Optional(Type.Integer({ minimum: 0, description: 'Minimum length of the value.' })),
  maxLength: Type.Optional(Type.Integer({ minimum: 1, description: 'Maximum length of the value (default 256).' }))
}, { additionalProperties: false })

export const FlowVersionSchema = Type.Object({
  version: Type.String({ minLength: 1, description: 'Flow version id clients send as `flow_version` (`HEAD` is refused).' }),
  locales: Type.Array(LocaleSchema, { minItems: 1, description: 'Locales this flow version is published in.' }),
  forms: Type.Record(Type.String(), Type.Object({
    fields: Type.Array(FormFieldSchema, { description: 'Fields of this form, in order.' })
  }, { additionalProperties: false }), { default: {}, description: 'Forms by name (e.g. `socialRegistrationForm`, `registrationForm`, `signInForm`).' })
}, { additionalProperties: false })

export const FlowSchema = Type.Object({
  name: Type.String({ minLength: 1, description: 'Flow name clients send as `flow` (e.g. `standard`).' }),
  versions: Type.Array(FlowVersionSchema, { minItems: 1, description: 'Published versions of this flow.' })
}, { additionalProperties: false })

export const EmailSchema = Type.Object({
  from: Type.String({ minLength: 3, description: 'From header of mail this tenant sends, e.g. `Acme <no-reply@acme.app>`.' }),
  templates: Type.Optional(Type.Record(LocaleSchema, Type.Object({
    subject: Type.String({ description: 'Subject; `{link}` and `{tenant}` are replaced.' }),
    text: Type.String({ description: 'Plain-text body; `{link}` and `{tenant}` are replaced.' })
  }, { additionalProperties: false }), { description: 'Magic-link mail per locale; built-in English and French texts otherwise.' }))
}, { additionalProperties: false })

export const RateLimitSchema = Type.Object({
  max: Type.Integer({ minimum: 1, description: 'Requests allowed per window.' }),
  timeWindow: Type.Union([Type.Integer({ minimum: 1 }), Type.String()], { description: 'Window length: milliseconds or a string such as `1 minute`.' })
}, { additionalProperties: false })

export const RateLimitsSchema = Type.Object({
  default: Type.Optional(Type.Intersect([RateLimitSchema], { description: 'Every route of the tenant, per client (Basic client id or X-API-KEY instance) and client address (IPv6 per /64). Default 600 per minute.' })),
  login: Type.Optional(Type.Intersect([RateLimitSchema], { description: 'Credential paths: Capture password sign-in per address (default 10 per 15 minutes); oauth-confirm and syncano sign-in per client address (only when set).' })),
  link: Type.Optional(Type.Intersect([RateLimitSchema], { description: 'by-link link/: per client address and, separately, per address mailed. Default 5 per 15 minutes.' }))
}, { additionalProperties: false, description: 'Rate limits of this tenant. Counters live in Redis when REDIS_URL is set (shared by every node), in memory otherwise; if Redis fails, requests are served. Over a limit: HTTP 429 with Retry-After in the dialect\'s own error envelope (Capture API calls: HTTP 200, code 510).' })

export const CorsSchema = Type.Object({
  origins: Type.Array(Type.String({ pattern: '^https?://[^/?#]+$' }), { minItems: 1, description: 'Browser origins (scheme://host[:port], no path) allowed to call this tenant\'s API with fetch/XHR. Absent: no cross-origin access.' })
}, { additionalProperties: false, description: 'Cross-origin access for browser frontends hosted elsewhere. Preflights allow GET, POST, PATCH with Authorization, Content-Type, X-API-KEY and X-USER-KEY.' })

export const LinkingSchema = Type.Union([Type.Literal('reject'), Type.Literal('verified-email')], {
  default: 'reject',
  description: 'What happens when a new social identity asserts an email an existing account owns: `reject` (email in use) or `verified-email` (link only when the provider says verified and the account email is verified).'
})

export type ClientConfig = Static<typeof ClientSchema>
export type InstanceConfig = Static<typeof InstanceSchema>
export type FlowConfig = Static<typeof FlowSchema>
export type FlowVersionConfig = Static<typeof FlowVersionSchema>
export type FormFieldConfig = Static<typeof FormFieldSchema>
export type EmailConfig = Static<typeof EmailSchema>
export type RateLimitsConfig = Static<typeof RateLimitsSchema>
export type Linking = Static<typeof LinkingSchema>
export type CorsConfig = Static<typeof CorsSchema>
