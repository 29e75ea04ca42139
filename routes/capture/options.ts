// Tenant options of the capture dialect (seed 004, Janrain): `dialects["capture"]`, the top-level `flows`
// section it owns (flows, versions, locales, forms) and the fields it adds to every client.
import { Type, type Static } from '@sinclair/typebox'
import { LocaleSchema, type ClientConfig } from '../../plugins/tenant/schema-parts.ts'
import { Url } from '../../plugins/tenant/strings.ts'

export const CaptureOptionsSchema = Type.Object({
  tokenUrls: Type.Array(Url(), { default: [], description: 'Social Login: allowed `token_url` values (exact match, query string ignored).' }),
  tokenUrlMethod: Type.Union([Type.Literal('GET'), Type.Literal('POST')], { default: 'GET', description: 'Social Login: how the token reaches `token_url`. `GET`: a 302 with `token` (or `error`) added to its query. `POST`: an auto-submitting form page that posts `token` (or `error`) as a form field (what Janrain-Sample-Code rpx-token-url.php reads from $_POST), sent with Referrer-Policy no-referrer, Cache-Control no-store and a CSP that allows only its own hashed inline script and a form post to the token URL\'s origin.' }),
  accessTokenTtlSeconds: Type.Integer({ minimum: 60, default: 3600, description: 'Lifetime of access tokens.' }),
  refreshTokenTtlSeconds: Type.Integer({ minimum: 60, default: 2592000, description: 'Lifetime of refresh tokens.' }),
  codeTtlSeconds: Type.Integer({ minimum: 10, maximum: 600, default: 60, description: 'Lifetime of authorization codes.' }),
  emailChangeMaxAuthAgeSeconds: Type.Integer({ minimum: 30, maximum: 86400, default: 300, description: '/oauth/update_profile_native may change the email address only within this many seconds of the sign-in that issued the access token (a token rotated by /oauth/refresh_access_token keeps its sign-in time); older: 390 on the email field. The change revokes every other session of the account and mails a notice to the old address.' }),
  socialTokenTtlSeconds: Type.Integer({ minimum: 30, maximum: 3600, default: 600, description: 'Lifetime of Social Login tokens (and merge tokens).' })
}, { additionalProperties: false, description: 'Janrain Capture /oauth/auth_native family and Social Login tokens.' })
export type CaptureOptions = Static<typeof CaptureOptionsSchema>

/** OpenAPI security schemes this dialect's routes name in `security`. */
export const securitySchemes = {
  CaptureAccessToken: { type: 'http', scheme: 'bearer', description: 'An access token from /oauth/auth_native, /oauth/token or a traditional sign-in.' },
  CaptureClientCredentials: { type: 'http', scheme: 'basic', description: 'API client id and secret (or `client_id` and `client_secret` in the form body).' }
}

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


/** The top-level tenant section this dialect owns. */
export const sections = {
  flows: Type.Array(FlowSchema, { default: [], description: 'Capture flows, their versions, locales and forms.' })
}

/** Fields this dialect adds to every client. */
export const clientFields = {
  features: Type.Array(Type.String(), { default: [], description: 'Capture API client features; `login_client` allows the login and registration endpoints.' }),
  apiKey: Type.Optional(Type.String({ minLength: 16, writeOnly: true, description: 'Capture Social Login API key (`/api/v2/auth_info` apiKey) for this client.' })),
  defaultFlow: Type.Optional(Type.String({ description: 'Capture: flow used when a request omits `flow`.' })),
  defaultFlowVersion: Type.Optional(Type.String({ description: 'Capture: flow version used when a request omits `flow_version`.' }))
}
const CaptureClientFields = Type.Object(clientFields)

export type FlowConfig = Static<typeof FlowSchema>
export type FlowVersionConfig = Static<typeof FlowVersionSchema>
export type FormFieldConfig = Static<typeof FormFieldSchema>
/** A tenant client with the fields Capture adds. */
export type CaptureClient = ClientConfig & Static<typeof CaptureClientFields>
