// Tenant-config parts every dialect shares (locales, clients' common fields, email, rate limits, CORS, linking),
// as TypeBox schemas. tenants/schema.ts composes these with the providers' schema and what each dialect's
// manifest contributes (its options, its own sections such as Syncano instances or Capture flows, client fields).
import { Type, type Static } from '@sinclair/typebox'
import { Duration, Grammar, TextTemplate } from './strings.ts'

export const LocaleSchema = Grammar('locale', { description: 'BCP 47 language tag, e.g. `en-US` or `fr`.' })

/** Fields every API client has; dialects add their own through their manifest's `clientFields`. */
export const ClientBaseFields = {
  id: Type.String({ minLength: 1, maxLength: 128, description: 'Client id / client key apps send (`client_id`, `client_key`).' }),
  secret: Type.Optional(Type.String({ minLength: 1, writeOnly: true, description: 'Client secret for confidential clients (e.g. Capture `/oauth/token`); use "${ENV_VAR}".' })),
  previousSecrets: Type.Optional(Type.Array(Type.String({ minLength: 1, writeOnly: true }), { description: 'Former secrets still accepted while clients move to `secret` (a rotation\'s overlap); remove them to retire them.' })),
  name: Type.Optional(Type.String({ description: 'Human name, for logs and docs.' })),
  redirectUris: Type.Array(Grammar('redirect-uri'), { default: [], description: 'Redirect URIs this client may use (exact match): absolute, without a fragment.' })
}

/** Placeholders of the magic-link mail templates (routes fill them in). */
const MAIL_TOKENS = ['link', 'tenant', 'minutes']

export const EmailSchema = Type.Object({
  from: Grammar('mailbox', { description: 'From header of mail this tenant sends, e.g. `Acme <no-reply@acme.app>`.' }),
  templates: Type.Optional(Type.Record(Type.String(), Type.Object({
    subject: TextTemplate(MAIL_TOKENS, [], { description: 'Subject; `{link}`, `{tenant}` and `{minutes}` (the link\'s lifetime) are replaced.' }),
    text: TextTemplate(MAIL_TOKENS, ['link'], { description: 'Plain-text body; must contain `{link}`; `{tenant}` and `{minutes}` are replaced too.' })
  }, { additionalProperties: false }), { keyGrammar: 'locale', description: 'Magic-link mail per locale (keys are language tags); built-in English and French texts otherwise.' }))
}, { additionalProperties: false })

export const RateLimitSchema = Type.Object({
  max: Type.Integer({ minimum: 1, description: 'Requests allowed per window.' }),
  timeWindow: Type.Union([Type.Integer({ minimum: 1, maximum: 366 * 24 * 3600 * 1000 }), Duration()], { description: 'Window length: milliseconds, or a duration such as `1 minute`, `15 minutes`, `30s`, `2 hours` (at most a year).' })
}, { additionalProperties: false })

export const RateLimitsSchema = Type.Object({
  default: Type.Optional(Type.Intersect([RateLimitSchema], { description: 'Every route of the tenant, counted in each node\'s memory (its share of the budget), per authenticated client (HTTP Basic client id with its secret, or a valid X-API-KEY instance; anything else counts as no client) and client address (IPv6 per /64). Default 600 per minute.' })),
  login: Type.Optional(Type.Intersect([RateLimitSchema], { description: 'Credential paths: Capture password sign-in per address (default 10 per 15 minutes); oauth-confirm and syncano sign-in per client address (only when set).' })),
  link: Type.Optional(Type.Intersect([RateLimitSchema], { description: 'by-link link/: per client address and, separately, per address mailed. Default 5 per 15 minutes.' }))
}, { additionalProperties: false, description: 'Rate limits of this tenant. The tenant-wide `default` limit is counted in each node\'s memory, each node allowing ceil(max / live nodes) (the node count from a Redis heartbeat set; docs/operations.md gives the tolerance). The credential limits (`login`, `link`) live in Redis when REDIS_URL is set (exact, shared by every node), in memory otherwise; if Redis fails, they let requests through. Over a limit: HTTP 429 with Retry-After in the dialect\'s own error envelope (Capture API calls: HTTP 200, code 510).' })

export const CorsSchema = Type.Object({
  origins: Type.Array(Grammar('origin'), { minItems: 1, description: 'Browser origins (scheme://host[:port], no path) allowed to call this tenant\'s API with fetch/XHR. Absent: no cross-origin access.' }),
  credentials: Type.Optional(Type.Boolean({ description: 'Answer these origins with `Access-Control-Allow-Credentials: true`, so a frontend calling with `credentials: "include"` can read the answer and keep the cookies it sets (oauth-confirm\'s `bindStateToBrowser`). The APIs themselves authenticate with headers, never cookies. Default false.' }))
}, { additionalProperties: false, description: 'Cross-origin access for browser frontends hosted elsewhere. Preflights allow GET, POST, PATCH with Authorization, Content-Type and the headers the tenant\'s dialects read (e.g. X-API-KEY, X-USER-KEY).' })

export const LinkingSchema = Type.Union([Type.Literal('reject'), Type.Literal('verified-email')], {
  default: 'reject',
  description: 'What happens when a new social identity asserts an email an existing account owns: `reject` (email in use) or `verified-email` (link only when the provider says verified and the account email is verified).'
})

const ClientBase = Type.Object(ClientBaseFields)
/** A client as shared code sees it; a dialect reads the fields it added under their names. */
export type ClientConfig = Static<typeof ClientBase> & Record<string, unknown>
export type EmailConfig = Static<typeof EmailSchema>
export type RateLimitsConfig = Static<typeof RateLimitsSchema>
export type Linking = Static<typeof LinkingSchema>
export type CorsConfig = Static<typeof CorsSchema>
