// buildApp(): the shared resources (db, Redis, queues, mail) and the front router over every tenant.
// Tests and server.ts both use it; server.ts only adds the process concerns (listen, signals).
import { readFileSync } from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import { Queue } from 'bullmq'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import pino from 'pino'
import { createDatabase, migrateToLatest, ping, type DatabaseHandle, type DatabaseTimeouts } from './db/index.ts'
import { createHttpServer, resolveHttpLimits, type HttpLimits } from './plugins/http-server.ts'
import { createMailOutbox, type MailOutbox } from './plugins/mail/index.ts'
import { DEFAULT_RETENTION_DAYS } from './plugins/events/schema.ts'
import { WEBHOOK_QUEUE, WebhookDispatcher, type WebhookSettings } from './plugins/events/webhooks.ts'
import { observeJob, setQueueDepthSource, tenantFiles } from './plugins/metrics.ts'
import { type NodeCensus, SINGLE_NODE, startNodeCensus } from './plugins/node-census.ts'
import { quietRequests } from './plugins/request-log.ts'
import securityHeaders, { PAGE_CSP } from './plugins/security-headers.ts'
import ops from './routes/ops/index.ts'
import queueBoard from './routes/ops/queues.ts'
import docsAssets from './routes/ops/docs-assets.ts'
import demoPages from './routes/ops/demo.ts'
import { DOCS_ASSETS_PREFIX } from './routes/openapi/index.ts'
import adminApi, { type AdminApiSettings } from './tenants/admin/index.ts'
import { secretHeaders } from './tenants/dialects.ts'
import { formatTenantError, loadTenantDir, parseTenant, TenantConfigError, type TenantError } from './tenants/loader.ts'
import { TenantRouter } from './tenants/router.ts'
import type { TenantConfig } from './tenants/schema.ts'
import { EMAIL_QUEUE, InProcessMailRunner } from './workers/email.worker.ts'
import { startWorkers } from './workers/index.ts'
import { MAINTENANCE_QUEUE, startInProcessCleanup, type Schedule } from './workers/maintenance.worker.ts'
import { createMailTransport, type MailTransport } from './workers/mail-transport.ts'
import { warnOnUnsafeRedis } from './workers/redis-settings.ts'

export const VERSION: string = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')).version

export interface AppOptions {
  /** postgres:// URL; absent → embedded PGlite in `dataDir`. */
  databaseUrl?: string
  dataDir?: string
  /** PostgreSQL schema for this app's tables (tests isolate runs this way). */
  dbSchema?: string
  /** PostgreSQL connect, statement, idle-in-transaction and query timeouts (ms; db/index.ts has the defaults). */
  databaseTimeouts?: Partial<DatabaseTimeouts>
  /** Slow-client bounds of the HTTP server (plugins/http-server.ts has the defaults). */
  http?: Partial<HttpLimits>
  /** Run migrations at start (default true). */
  migrate?: boolean
  /** redis:// URL; absent → single-node mode: jobs run in-process, rate limits in memory. */
  redisUrl?: string
  /** Prefix of every Redis key this deployment writes (queues, rate limits); default `vst`. */
  redisPrefix?: string
  /** How often this node announces itself in Redis (`<prefix>:nodes`) and reads the node count the tenant-wide
   *  rate limit shares its budget by (ms, default 5000). */
  nodeHeartbeatMs?: number
  smtpUrl?: string
  outboxDir?: string
  /** Run the job processors in this process (default: true without Redis; with Redis, the caller decides). */
  runWorkers?: boolean
  /** A folder of tenant files, or inline tenant documents (validated the same way). */
  tenantsDir?: string
  tenants?: unknown[]
  /** Default base URL for tenants without publicUrl; may be set after listen(). */
  publicBaseUrl?: string
  trustProxy?: boolean | string | string[]
  logger?: FastifyBaseLogger | pino.LoggerOptions | false
  /** Admin credentials for the queue dashboard at /admin/queues (needs Redis); no dashboard when unset. */
  admin?: { user: string, password: string }
  /** Bearer token /metrics requires (METRICS_TOKEN). */
  metricsToken?: string
  /** Without metricsToken: /metrics open to anyone (default true; server.ts passes false in production) or refused. */
  metricsOpen?: boolean
  /** Failed /admin/queues sign-ins allowed per client address and window (default 10 per 15 minutes). */
  adminFailures?: { max: number, windowMs: number }
  /** Job timings (tests shorten them). */
  schedule?: Partial<Schedule>
  /** Serve the quickstart's pages for the `demo` tenant at /_vestibule/demo (development only). */
  demoPages?: boolean
  /** Development: the local outbox logs the links of the mail it writes (server.ts: not in production). */
  logMailLinks?: boolean
  /** Tenant ids whose instances are built at start instead of on first request. */
  eagerTenants?: string[]
  /** The admin API at /admin/v1 and tenants stored in the database (docs/admin-api.md). */
  adminApi?: AdminApiSettings
  /** Webhook relay and delivery (docs/events.md): on in every serving process (they hold the tenant configs)
   *  unless `run: false`; timings and retry schedule (tests shorten them). */
  webhooks?: Partial<WebhookSettings> & { run?: boolean }
}

export interface App {
  server: http.Server
  router: TenantRouter
  db: DatabaseHandle
  log: FastifyBaseLogger
  redis: Redis | null
  /** The deployment's live nodes as this node last read them (plugins/node-census.ts). */
  census: NodeCensus
  mail: MailOutbox
  /** Webhook relay and delivery, when this process runs them. */
  webhooks: WebhookDispatcher | null
  /** Errors from tenant files refused at start or on reload. */
  tenantErrors: TenantError[]
  setPublicBaseUrl (url: string): void
  publicBaseUrl (): string
  listen (opts?: { port?: number, host?: string }): Promise<string>
  /** Re-reads the tenants folder: changed tenants swap, removed ones stop, bad files are refused.
   *  With `broadcast`, every other node sharing this Redis (and prefix) re-reads its folder too. */
  reloadTenants (opts?: { broadcast?: boolean }): Promise<TenantError[]>
  close (): Promise<void>
}

/** Log paths never written: credentials in headers (the ones every dialect reads, and those its manifest marks secret) and bodies. */
export function redactPaths (): string[] {
  return [
    'req.headers.authorization', 'req.headers.cookie', ...secretHeaders().map((h) => `req.headers["${h}"]`),
    '*.password', '*.token', '*.access_token', '*.client_secret', '*.clientSecret', '*.consumerSecret'
  ]
}
/** redactPaths() of the built-in dialects, for loggers made before buildApp (server.ts). */
export const REDACT = redactPaths()

export async function buildApp (opts: AppOptions = {}): Promise<App> {
  const log: FastifyBaseLogger = opts.logger && typeof (opts.logger as FastifyBaseLogger).child === 'function'
    ? opts.logger as FastifyBaseLogger
    : pino(opts.logger === false ? { enabled: false } : { level: process.env.LOG_LEVEL ?? 'info', redact: redactPaths(), ...(opts.logger as pino.LoggerOptions | undefined) }) as unknown as FastifyBaseLogger

  const httpLimits = resolveHttpLimits(opts.http)
  const db = await createDatabase({ url: opts.databaseUrl, dataDir: opts.dataDir, schema: opts.dbSchema, timeouts: opts.databaseTimeouts, log })
  const closers: Array<() => Promise<unknown> | unknown> = [() => db.close()]
  try {
    if (opts.migrate !== false) await migrateToLatest(db.db, db.schema)

    const redisPrefix = opts.redisPrefix ?? 'vst'
    let redis: Redis | null = null
    let census: NodeCensus = SINGLE_NODE
    let queue: Queue | null = null
    let runner: InProcessMailRunner | null = null
    const transport: MailTransport = createMailTransport({ smtpUrl: opts.smtpUrl, outboxDir: opts.outboxDir, log, logLinks: opts.logMailLinks })
    closers.unshift(() => transport.close())
    if (opts.redisUrl) {
      // Producers fail fast (no offline queue): a request must not hang on Redis; the outbox relay covers it.
      redis = new Redis(opts.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true })
      redis.on('error', (err) => log.warn({ err: err.message }, 'redis'))
      // Start even when Redis is down: mail waits in the outbox, readiness says what is missing.
      await redis.connect().catch((err: Error) => log.error({ err: err.message }, 'redis is not reachable at start; retrying in the background'))
      redis.once('ready', () => { void warnOnUnsafeRedis(redis!, log) })
      if (redis.status === 'ready') void warnOnUnsafeRedis(redis, log)
      queue = new Queue(EMAIL_QUEUE, { connection: redis, prefix: redisPrefix })
      queue.on('error', (err) => log.warn({ err: err.message }, 'email queue'))
      closers.unshift(() => queue!.close(), () => redis!.quit().catch(() => redis!.disconnect()))
      census = startNodeCensus(redis, redisPrefix, opts.nodeHeartbeatMs)
      closers.unshift(() => census.close())
      if (opts.runWorkers) {
        const workers = await startWorkers({ redisUrl: opts.redisUrl, prefix: redisPrefix, db: db.db, transport, log, schedule: opts.schedule, observe: observeJob })
        closers.unshift(() => workers.close())
      }
    } else {
      log.warn('REDIS_URL is not set: single-node mode (jobs run in this process, rate limits are per process)')
      if (opts.runWorkers !== false) {
        runner = new InProcessMailRunner({ db: db.db, transport, log, observe: observeJob, leaseSeconds: opts.schedule?.claimLeaseSeconds })
        const cleanup = startInProcessCleanup(db.db, log, opts.schedule?.cleanupEveryMs, opts.schedule?.cleanup)
        closers.unshift(() => runner!.close(), () => cleanup.close())
      }
    }
    const mail = createMailOutbox({ queue, runner, log })
    const emailQueue = queue
    setQueueDepthSource(emailQueue
      ? async () => Object.entries(await emailQueue.getJobCounts('waiting', 'active', 'delayed', 'failed'))
        .map(([state, count]) => ({ queue: EMAIL_QUEUE, state, count }))
      : async () => {
        const r = await db.db.selectFrom('email_outbox').select((eb) => eb.fn.countAll<string>().as('n')).where('sent_at', 'is', null).executeTakeFirstOrThrow()
        return [{ queue: 'outbox', state: 'pending', count: Number(r.n) }]
      })

    let publicBaseUrl = opts.publicBaseUrl ?? ''
    // trustProxy as the tenants have it: the admin sign-in limit is per client address.
    const opsApp: FastifyInstance = Fastify({ loggerInstance: log.child({ tenant: null }), logController: quietRequests, trustProxy: opts.trustProxy ?? false })
    // Process pages (queue dashboard, dev demo) run scripts of their own: never framed, no referrer, nosniff.
    await opsApp.register(securityHeaders, { csp: PAGE_CSP })
    const checks: Record<string, () => Promise<unknown>> = { database: () => ping(db.db) }
    if (redis) checks.redis = () => redis!.ping()
    await opsApp.register(ops, { checks, metricsToken: opts.metricsToken, metricsOpen: opts.metricsOpen, tenants: () => tenantReport() })
    await opsApp.register(docsAssets, { base: DOCS_ASSETS_PREFIX })
    if (queue && opts.admin) {
      const maintenanceQueue = new Queue(MAINTENANCE_QUEUE, { connection: redis!, prefix: redisPrefix })
      maintenanceQueue.on('error', () => { /* reported by the email queue's listener */ })
      closers.unshift(() => maintenanceQueue.close())
      const webhookQueue = new Queue(WEBHOOK_QUEUE, { connection: redis!, prefix: redisPrefix })
      webhookQueue.on('error', () => { /* reported by the email queue's listener */ })
      closers.unshift(() => webhookQueue.close())
      await opsApp.register(queueBoard, { queues: [queue, maintenanceQueue, webhookQueue], user: opts.admin.user, password: opts.admin.password, redis: redis!, keyPrefix: redisPrefix, failures: opts.adminFailures })
    }
    closers.unshift(() => opsApp.close())

    const router = new TenantRouter({
      db: db.db, mail, redis, redisPrefix, nodes: census.count, log, publicBaseUrl: () => publicBaseUrl, trustProxy: opts.trustProxy ?? false, version: VERSION
    }, (req, res) => opsApp.routing(req, res), ['/healthz', '/readyz', '/metrics'])
    closers.unshift(() => router.close())

    const tenantErrors: TenantError[] = []
    const tenantReport = () => ({
      served: router.ids().length,
      refused: [...new Map(tenantErrors.map((e) => [`${e.file} ${e.path}`, { file: path.basename(e.file), path: e.path || '/' }])).values()]
    })
    if (opts.tenants) {
      for (const [i, doc] of opts.tenants.entries()) {
        const res = parseTenant(`inline[${i}]`, JSON.stringify(doc))
        if (!res.config) throw new TenantConfigError(res.errors)
        await router.upsert(res.config)
      }
    }
    const reloadChannel = `${redisPrefix}:tenants:reload`
    const reloadTenants = async ({ broadcast = false } = {}): Promise<TenantError[]> => {
      if (!opts.tenantsDir) return []
      if (broadcast && redis) {
        await redis.publish(reloadChannel, String(process.pid)).catch((err: Error) => log.warn({ err: err.message }, 'could not tell other nodes to reload tenants'))
      }
      const { tenants, errors } = await loadTenantDir(opts.tenantsDir)
      const wasRefused = new Set(tenantErrors.map((e) => e.file))
      const seen = new Set<string>()
      for (const t of tenants) {
        seen.add(t.config.id)
        try {
          const r = await router.upsert(t.config, t.file)
          if (r !== 'unchanged') log.info({ tenant: t.config.id, file: t.file }, `tenant ${r}`)
          else if (wasRefused.has(t.file)) log.info({ tenant: t.config.id, file: t.file }, 'tenant file is valid again; serving it')
        } catch (err) {
          errors.push({ file: t.file, path: '', message: `cannot build: ${(err as Error).message}` })
        }
      }
      const badFiles = new Set(errors.map((e) => e.file))
      for (const id of router.ids()) {
        const file = router.fileOf(id)
        // A tenant whose file turned bad keeps its last good config; one whose file is gone stops.
        if (!seen.has(id) && file && !badFiles.has(file)) { router.remove(id); log.info({ tenant: id }, 'tenant removed') }
      }
      for (const e of errors) log.error({ file: e.file, path: e.path }, `tenant refused: ${formatTenantError(e)}`)
      tenantErrors.splice(0, tenantErrors.length, ...errors)
      tenantFiles.set({ state: 'served' }, tenants.length)
      tenantFiles.set({ state: 'refused' }, badFiles.size)
      return errors
    }
    await reloadTenants()
    if (redis && opts.tenantsDir) {
      // Other nodes announce config changes here; each node re-reads its own copy of the folder.
      const sub = redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null })
      sub.on('error', (err) => log.warn({ err: err.message }, 'tenant reload subscriber'))
      sub.on('message', () => { void reloadTenants() })
      await sub.subscribe(reloadChannel).catch((err: Error) => log.warn({ err: err.message }, 'cannot subscribe to tenant reloads yet'))
      closers.unshift(() => sub.quit().catch(() => sub.disconnect()))
    }
    await opsApp.register(adminApi, { ...opts.adminApi, db: db.db, router, redis, redisPrefix, log, publicBaseUrl: () => publicBaseUrl, trustProxy: opts.trustProxy ?? false, version: VERSION })
    if (opts.eagerTenants?.length) await router.warm(opts.eagerTenants)
    let webhooks: WebhookDispatcher | null = null
    if (opts.webhooks?.run !== false) {
      const { run: _run, ...settings } = opts.webhooks ?? {}
      webhooks = new WebhookDispatcher({
        db: db.db,
        log,
        settings,
        lookup: async (id) => {
          const c = await router.lookup(id)
          return c ? { webhooks: c.webhooks ?? [], retentionDays: c.events?.retentionDays ?? DEFAULT_RETENTION_DAYS } : undefined
        },
        redis: redis && opts.redisUrl ? { url: opts.redisUrl, producer: redis, prefix: redisPrefix } : undefined
      })
      const w = webhooks
      closers.unshift(() => w.close())
    }
    const demo = opts.demoPages ? router.get('demo') : undefined
    if (demo && demo.clients[0]) await opsApp.register(demoPages, { clientKey: demo.clients[0].id, tenant: demo })
    await opsApp.ready()

    const server = createHttpServer(httpLimits, router.handle)
    closers.unshift(() => new Promise<void>((resolve) => {
      if (!server.listening) { resolve(); return }
      server.close(() => resolve())
      server.closeIdleConnections()
    }))

    let closed: Promise<void> | null = null
    return {
      server, router, db, log, redis, census, mail, webhooks, tenantErrors, reloadTenants,
      setPublicBaseUrl (url) { publicBaseUrl = url.replace(/\/$/, '') },
      publicBaseUrl: () => publicBaseUrl,
      async listen ({ port = 3000, host = '127.0.0.1' } = {}) {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject)
          server.listen(port, host, () => { server.off('error', reject); resolve() })
        })
        const addr = server.address() as AddressInfo
        const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`
        if (!publicBaseUrl) publicBaseUrl = url
        return url
      },
      close () {
        closed ??= (async () => { for (const c of closers) { try { await c() } catch (err) { log.warn({ err }, 'error while closing') } } })()
        return closed
      }
    }
  } catch (err) {
    for (const c of closers) { try { await c() } catch { /* already failing */ } }
    throw err
  }
}
