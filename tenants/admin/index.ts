// The operator admin API at /admin/v1 on the main port, registered on the process-level app (so it answers on
// any host that is not a tenant's, and never under /t/<id>): tenants stored in PostgreSQL next to tenant files,
// their clients and keys, users per tenant, audit events; its own OpenAPI document at /admin/v1/openapi.json.
// Registering it also makes stored tenants a source of the front router (tenants/db-source.ts).
import swagger from '@fastify/swagger'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/index.ts'
import { serializerCompiler, validatorCompiler } from '../../plugins/compilers.ts'
import { keyringFromEnv, type SecretKeyring } from '../../db/sealing.ts'
import { DbTenantSource, DEFAULT_MAX_KEPT } from '../db-source.ts'
import { TenantStore, type OutsideTenants } from '../db-store.ts'
import { hostOf, type TenantRouter } from '../router.ts'
import { installAdminAuth } from './auth.ts'
import clientRoutes from './client-routes.ts'
import keyRoutes from './key-routes.ts'
import type { AdminContext } from './context.ts'
import { installAdminErrors } from './errors.ts'
import eventContext from '../../plugins/events/context.ts'
import tenantRoutes from './tenant-routes.ts'
import userRoutes from './user-routes.ts'
import webhookRoutes from './webhook-routes.ts'

export const ADMIN_PREFIX = '/admin/v1'

export interface AdminApiSettings {
  /** Keys sealing stored tenants' secrets; default from VESTIBULE_SECRET_KEY and VESTIBULE_OLD_SECRET_KEYS. */
  keyring?: SecretKeyring
  /** How often each node compares stored tenants' versions with the database (default TENANTS_DB_POLL_SECONDS or 30); 0: never. */
  pollSeconds?: number
  /** Failed authentications allowed per client address per window (default 20 per 300 s). */
  authFailures?: { max: number, windowSeconds: number }
  /** Stored tenants a node keeps built at most (default TENANTS_DB_MAX_KEPT or 500); past it the least recently used goes. */
  maxKept?: number
}

export interface AdminApiOptions extends AdminApiSettings {
  db: Kysely<Database>
  router: TenantRouter
  redis: Redis | null
  redisPrefix: string
  log: FastifyBaseLogger
  /** The deployment's own base URL: its host is never a stored tenant's. */
  publicBaseUrl: () => string
  trustProxy: boolean | string | string[]
  version: string
}

export default async function adminApi (app: FastifyInstance, opts: AdminApiOptions): Promise<void> {
  const ring = opts.keyring ?? keyringFromEnv()
  const { router } = opts
  let source: DbTenantSource | null = null
  const outside: OutsideTenants = {
    definedOutside: (id) => (router.get(id) && !source?.serves(id) ? router.fileOf(id) ?? 'the app options' : null),
    hostOwner: (host, id) => {
      const owner = router.tenantOfHost(host)
      return owner === undefined || owner === id ? null : router.fileOf(owner) ?? `tenant "${owner}"`
    },
    reservedHosts: () => {
      const base = opts.publicBaseUrl()
      try { return base ? [hostOf(new URL(base).host)] : [] } catch { return [] }
    }
  }
  const store = new TenantStore(opts.db, ring, outside)
  const envPoll = Number(process.env.TENANTS_DB_POLL_SECONDS)
  source = new DbTenantSource({
    store, router, redis: opts.redis, redisPrefix: opts.redisPrefix, log: opts.log,
    pollMs: (opts.pollSeconds ?? (Number.isFinite(envPoll) && process.env.TENANTS_DB_POLL_SECONDS ? envPoll : 30)) * 1000,
    maxKept: opts.maxKept ?? (Number(process.env.TENANTS_DB_MAX_KEPT) > 0 ? Number(process.env.TENANTS_DB_MAX_KEPT) : DEFAULT_MAX_KEPT)
  })
  await source.start()
  const src = source
  app.addHook('onClose', () => src.close())
  const ctx: AdminContext = { db: opts.db, store, source: src, router, ring, redis: opts.redis, redisPrefix: opts.redisPrefix }

  await app.register(async (admin) => {
    admin.setValidatorCompiler(validatorCompiler)
    admin.setSerializerCompiler(serializerCompiler)
    admin.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, admin.getDefaultJsonParser('error', 'error'))
    installAdminErrors(admin)
    await admin.register(eventContext)
    await admin.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Vestibule admin API',
          version: opts.version,
          description: 'Operator API of a Vestibule deployment: tenants stored in the database (next to tenant files), their clients and keys, users per tenant, audit events. Authenticate with an admin token (`npm run admin -- token create`). See docs/admin-api.md.'
        },
        servers: [{ url: '/' }],
        components: { securitySchemes: { AdminToken: { type: 'http', scheme: 'bearer', description: 'An admin token (`vsta_…`), with scopes and optionally restricted to one tenant.' } } },
        security: [{ AdminToken: [] }],
        tags: [
          { name: 'tenants', description: 'Stored tenants, their versions and rollback' },
          { name: 'clients', description: 'API clients, client secrets and API keys of stored tenants' },
          { name: 'users', description: 'Accounts of one tenant' },
          { name: 'events', description: 'Audit events of one tenant' },
          { name: 'signing-keys', description: 'JWT signing keys of one tenant (oauth-confirm tokens): rotation and retirement' }
        ]
      }
    })
    installAdminAuth(admin, { db: opts.db, redis: opts.redis, redisPrefix: opts.redisPrefix, trustProxy: opts.trustProxy, failures: opts.authFailures })
    // One log line per admin call with the token that made it: the operator's own audit trail.
    admin.addHook('onResponse', async (req, reply) => {
      req.log.info({ admin: req.adminToken?.id ?? null, method: req.method, path: req.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'admin request')
    })
    admin.get('/openapi.json', { config: { adminScope: 'public' }, schema: { hide: true } }, async () => admin.swagger())
    await admin.register(tenantRoutes, ctx)
    await admin.register(clientRoutes, ctx)
    await admin.register(userRoutes, ctx)
    await admin.register(keyRoutes, ctx)
    await admin.register(webhookRoutes, ctx)
  }, { prefix: ADMIN_PREFIX })
}
