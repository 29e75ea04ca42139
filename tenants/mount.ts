// Builds one tenant's Fastify instance from its config: shared services in, that tenant's dialect
// plugins, OpenAPI document and error envelopes out. Instances are small and built on first use.
import { randomUUID } from 'node:crypto'
import cors from '@fastify/cors'
import formbody from '@fastify/formbody'
import swagger from '@fastify/swagger'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import type { Database } from '../db/index.ts'
import { serializerCompiler, validatorCompiler } from '../plugins/compilers.ts'
import { shareNotFoundTrees, trimPluginTree } from '../plugins/fastify-internals.ts'
import type { TenantDocument } from '../plugins/dialect.ts'
import { installEnvelope, type Envelope } from '../plugins/errors.ts'
import { createTenantIdentity } from '../plugins/identity/index.ts'
import type { MailOutbox } from '../plugins/mail/types.ts'
import { createProviderRegistry } from '../plugins/providers/index.ts'
import tenantRateLimits from '../plugins/rate-limit.ts'
import { named } from '../plugins/plugin-name.ts'
import requestLog, { lazyChildLoggerFactory, quietRequests } from '../plugins/request-log.ts'
import eventContext from '../plugins/events/context.ts'
import securityHeaders from '../plugins/security-headers.ts'
import openapiRoutes from '../routes/openapi/index.ts'
import type { TenantContext } from '../plugins/tenant/context.ts'
import { loadDialect, mountedDialects } from './dialects.ts'
import { publishOpenApi } from './openapi-publish.ts'
import type { TenantConfig } from './schema.ts'

export interface SharedServices {
  db: Kysely<Database>
  mail: MailOutbox
  redis: Redis | null
  redisPrefix: string
  /** Live nodes of the deployment (plugins/node-census.ts); absent: 1. */
  nodes?: () => number
  log: FastifyBaseLogger
  /** e.g. http://127.0.0.1:3000 — the default base of tenants without a publicUrl. */
  publicBaseUrl: () => string
  trustProxy: boolean | string | string[]
  version: string
}

export function tenantPublicUrl (config: TenantConfig, shared: Pick<SharedServices, 'publicBaseUrl'>): string {
  return config.publicUrl ?? `${shared.publicBaseUrl()}/t/${config.id}`
}

export function tenantContext (config: TenantConfig, shared: SharedServices, providers = createProviderRegistry(config.providers)): TenantContext {
  const clients = new Map(config.clients.map((c) => [c.id, c]))
  return {
    id: config.id,
    hosts: config.hosts,
    publicUrl: tenantPublicUrl(config, shared),
    frontendUrl: config.frontendUrl ?? null,
    locales: config.locales,
    defaultLocale: config.defaultLocale,
    linking: config.linking,
    clients: config.clients,
    email: config.email,
    rateLimits: config.rateLimits ?? {},
    providers,
    identity: createTenantIdentity(shared.db, { tenantId: config.id, linking: config.linking, mail: shared.mail }),
    redis: shared.redis,
    redisPrefix: shared.redisPrefix,
    nodes: shared.nodes ?? (() => 1),
    client: (id: unknown) => (typeof id === 'string' ? clients.get(id) : undefined),
    section: <T>(name: string) => config[name] as T,
    rateLimitClients: mountedDialects(config.dialects).flatMap((m) => (m.rateLimitClient ? [m.rateLimitClient(config as unknown as TenantDocument)] : []))
  }
}

/** The tenant's own answers, for paths no dialect owns (a dialect's envelope wins on its routes); never a stack. */
const houseEnvelope: Envelope = {
  validation: ({ error }) => ({ status: 400, body: { error: error.code ?? 'bad_request', message: error.message } }),
  unsupportedMediaType: (type) => ({ status: 415, body: { error: 'unsupported_media_type', message: `Unsupported media type "${type}"` } }),
  bodyTooLarge: () => ({ status: 413, body: { error: 'body_too_large', message: 'Request body is too large' } }),
  malformed: (err) => ({ status: err.statusCode ?? 400, body: { error: err.code ?? 'bad_request', message: err.message } }),
  rateLimited: (_s, message) => ({ status: 429, body: { error: 'rate_limited', message } }),
  providerFailure: () => ({ status: 503, body: { error: 'provider_unavailable' } }),
  internal: (req) => ({ status: 500, body: { error: 'internal_error', request_id: req.id } })
}

export async function buildTenantApp (config: TenantConfig, shared: SharedServices): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: shared.log.child({ tenant: config.id }),
    childLoggerFactory: lazyChildLoggerFactory,
    logController: quietRequests,
    genReqId: () => randomUUID(),
    trustProxy: shared.trustProxy,
    bodyLimit: 64 * 1024,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 256 },
    return503OnClosing: false
  })
  // Its not-found handlers (the tenant's, a prefixed dialect's) answer every method from one tree, not 35.
  shareNotFoundTrees(app)
  // …and its plugin tree (printPlugins) lists plugins, not the after() callback of every route.
  trimPluginTree(app)
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  const providers = createProviderRegistry(config.providers)
  // OIDC discovery happens once per tenant build; a provider that cannot be reached now is logged
  // and answers `unavailable` until it can, while the tenant's other providers keep working.
  for (const [name, failure] of Object.entries(await providers.ready())) {
    app.log.warn({ provider: name, error: failure.error, detail: failure.detail }, 'provider not ready')
  }
  const ctx = tenantContext(config, shared, providers)
  app.decorate('tenant', ctx)
  // First hook: every answer (404s, 429s, errors, redirects carrying tokens) gets the headers.
  await app.register(securityHeaders)
  await app.register(requestLog, { tenant: config.id })
  await app.register(eventContext, { clientAddress: config.events?.clientAddress })
  await app.register(formbody, { bodyLimit: 64 * 1024 })
  await app.register(tenantRateLimits)
  const mounted = mountedDialects(config.dialects)
  if (config.cors) {
    // Exact origins only. Credentials mode only when the tenant asks (`cors.credentials`): these APIs authenticate
    // with headers, not cookies; the one cookie is oauth-confirm's browser binding, which a frontend on another
    // origin keeps only through a credentialed request.
    await app.register(cors, {
      origin: config.cors.origins,
      credentials: config.cors.credentials === true,
      methods: ['GET', 'POST', 'PATCH'],
      allowedHeaders: [...new Set(['Authorization', 'Content-Type', ...mounted.flatMap((m) => m.headers?.cors ?? [])])],
      exposedHeaders: ['Retry-After'],
      maxAge: 600
    })
  }
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: `Vestibule — ${config.id}`, version: shared.version, description: `Identity API of tenant \`${config.id}\`. Dialects: ${mounted.map((m) => m.name).join(', ') || 'none'}.` },
      servers: [{ url: ctx.publicUrl }],
      components: {
        // Each mounted dialect contributes the schemes its routes name in `security`.
        securitySchemes: Object.assign({}, ...mounted.map((m) => m.securitySchemes ?? {}))
      }
    },
    // Named components, declared tags, no internal keys… (tenants/openapi-publish.ts).
    transformObject: (d) => publishOpenApi((d as { openapiObject: unknown }).openapiObject, { tenant: config as unknown as TenantDocument, mounted, contactUrl: `${ctx.publicUrl}/docs` })
  })
  await app.register(named(openapiRoutes), { title: `Vestibule — ${config.id}` })

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: 'not_found', message: `Route ${req.method} ${req.url.split('?')[0]} not found` })
  })
  installEnvelope(app, houseEnvelope)

  for (const m of mounted) {
    await app.register(named(await loadDialect(m.name)), config.dialects[m.name] as object)
  }
  await app.ready()
  return app
}
