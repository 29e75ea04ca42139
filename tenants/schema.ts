// The tenant schema: the single source of truth for tenant files. Composes the shared parts
// (plugins/tenant), the provider schema (plugins/providers) and what each registered dialect's manifest
// contributes (its options under `dialects`, its top-level sections, its client fields).
// `npm run tenants:schema` writes it to tenants/tenant.schema.json for editors.
import { Type, type Static, type TObject, type TSchema } from '@sinclair/typebox'
import { ProviderConfigSchema } from '../plugins/providers/schema.ts'
import {
  ClientBaseFields, CorsSchema, EmailSchema, LinkingSchema, LocaleSchema, RateLimitsSchema
} from '../plugins/tenant/schema-parts.ts'
import { Grammar, Url } from '../plugins/tenant/strings.ts'
import { EventsSchema, WebhooksSchema } from '../plugins/events/schema.ts'
import { dialectManifests, registryVersion } from './dialects.ts'

const head = {
  $schema: Type.Optional(Type.String({ description: 'Path to tenant.schema.json, for editors.' })),
  id: Grammar('tenant-id', { description: 'Tenant id: lowercase letters, digits and dashes, at most 64 characters; the tenant is served under /t/<id>.' }),
  hosts: Type.Array(Grammar('hostname'), { default: [], description: 'Host names (no port) whose root paths serve this tenant; matched case-insensitively.' }),
  publicUrl: Type.Optional(Grammar('base-url', { description: 'Base URL for callback URLs Vestibule builds, without a trailing slash. Default: PUBLIC_BASE_URL + /t/<id>.' })),
  frontendUrl: Type.Optional(Url({ description: 'The operator app\'s own URL (informational; dialect URLs are configured per dialect).' })),
  locales: Type.Array(LocaleSchema, { minItems: 1, default: ['en-US'], description: 'Locales this tenant serves.' }),
  defaultLocale: Grammar('locale', { default: 'en-US', description: 'Locale used when a request names none; must be one of `locales`.' }),
  linking: LinkingSchema,
  providers: Type.Record(Type.String(), ProviderConfigSchema, { keyGrammar: 'name', default: {}, description: 'Identity providers by the name clients send (e.g. `google-oauth2`, `github`, `twitter`).' })
}
const tail = {
  email: EmailSchema,
  rateLimits: Type.Optional(RateLimitsSchema),
  cors: Type.Optional(CorsSchema),
  events: Type.Optional(EventsSchema),
  webhooks: WebhooksSchema
}

function compose (): TObject {
  const manifests = dialectManifests()
  const client = Type.Object({ ...ClientBaseFields, ...Object.assign({}, ...manifests.map((m) => m.clientFields ?? {})) }, { additionalProperties: false })
  const sections: Record<string, TSchema> = Object.assign({}, ...manifests.map((m) => m.sections ?? {}))
  const dialects = Type.Object(Object.fromEntries(manifests.map((m) => [m.name, Type.Optional(m.options)])), {
    additionalProperties: false, default: {}, description: 'Dialects mounted for this tenant: a dialect is mounted only if its key is present.'
  })
  return Type.Object({
    ...head,
    clients: Type.Array(client, { default: [], description: 'API clients of this tenant (client keys, Capture clients).' }),
    ...sections,
    dialects,
    ...tail
  }, { additionalProperties: false, $id: 'https://vestibule.dev/schemas/tenant.json', title: 'Vestibule tenant', description: 'One tenant (one operator app) of a Vestibule deployment.' })
}

let cached: { version: number, schema: TObject } | null = null

/** The tenant schema for the dialects registered now. */
export function tenantSchema (): TObject {
  if (!cached || cached.version !== registryVersion()) cached = { version: registryVersion(), schema: compose() }
  return cached.schema
}

const Base = Type.Object({ ...head, clients: Type.Array(Type.Object(ClientBaseFields)), ...tail })
/** What the shared layers read of a tenant; each dialect reads its own options and sections by name. */
export type TenantConfig = Static<typeof Base> & { dialects: Record<string, unknown>, [section: string]: unknown }
