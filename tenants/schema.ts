// The tenant schema: the single source of truth for tenant files. Composes the shared parts
// (plugins/tenant), the provider schema (plugins/providers) and each dialect's options (routes/<dialect>).
// `npm run tenants:schema` writes it to tenants/tenant.schema.json for editors.
import { Type, type Static } from '@sinclair/typebox'
import { ProviderConfigSchema } from '../plugins/providers/schema.ts'
import {
  ClientSchema, CorsSchema, EmailSchema, FlowSchema, InstanceSchema, LinkingSchema, LocaleSchema, RateLimitsSchema
} from '../plugins/tenant/schema-parts.ts'
import { dialects } from './dialects.ts'

const DialectsSchema = Type.Object({
  'rest-social-auth': Type.Optional(dialects['rest-social-auth'].options),
  'by-link': Type.Optional(dialects['by-link'].options),
  'oauth-confirm': Type.Optional(dialects['oauth-confirm'].options),
  syncano: Type.Optional(dialects.syncano.options),
  capture: Type.Optional(dialects.capture.options)
}, { additionalProperties: false, default: {}, description: 'Dialects mounted for this tenant: a dialect is mounted only if its key is present.' })

export const TenantSchema = Type.Object({
  $schema: Type.Optional(Type.String({ description: 'Path to tenant.schema.json, for editors.' })),
  id: Type.String({ pattern: '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$', description: 'Tenant id, [a-z0-9-]; the tenant is served under /t/<id>.' }),
  hosts: Type.Array(Type.String({ pattern: '^[A-Za-z0-9.-]+$' }), { default: [], description: 'Host names (no port) whose root paths serve this tenant; matched case-insensitively.' }),
  publicUrl: Type.Optional(Type.String({ pattern: '^https?://[^?#]*[^/?#]$', description: 'Base URL for callback URLs Vestibule builds, without a trailing slash. Default: PUBLIC_BASE_URL + /t/<id>.' })),
  frontendUrl: Type.Optional(Type.String({ pattern: '^https?://', description: 'The operator app\'s own URL (informational; dialect URLs are configured per dialect).' })),
  locales: Type.Array(LocaleSchema, { minItems: 1, default: ['en-US'], description: 'Locales this tenant serves.' }),
  defaultLocale: Type.String({ default: 'en-US', description: 'Locale used when a request names none; must be one of `locales`.' }),
  linking: LinkingSchema,
  providers: Type.Record(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }), ProviderConfigSchema, { default: {}, description: 'Identity providers by the name clients send (e.g. `google-oauth2`, `github`, `twitter`).' }),
  clients: Type.Array(ClientSchema, { default: [], description: 'API clients of this tenant (client keys, Capture clients).' }),
  instances: Type.Array(InstanceSchema, { default: [], description: 'Syncano instances and their API keys.' }),
  flows: Type.Array(FlowSchema, { default: [], description: 'Capture flows, their versions, locales and forms.' }),
  dialects: DialectsSchema,
  email: EmailSchema,
  rateLimits: Type.Optional(RateLimitsSchema),
  cors: Type.Optional(CorsSchema)
}, { additionalProperties: false, $id: 'https://vestibule.dev/schemas/tenant.json', title: 'Vestibule tenant', description: 'One tenant (one operator app) of a Vestibule deployment.' })

export type TenantConfig = Static<typeof TenantSchema>
