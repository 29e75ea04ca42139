// Process entry: `serve` (default), `worker`, `migrate`, `tenants check [dir]`, `openapi --tenant <id>`.
// Reads the environment once, builds through app.ts, and owns signals and the one shutdown path.
import { statSync, watch, writeFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { parseArgs } from 'node:util'
import http from 'node:http'
import closeWithGrace from 'close-with-grace'
import pino from 'pino'
import { buildApp, REDACT, VERSION } from './app.ts'
import { tenantOpenApi } from './tenants/openapi.ts'
import { dialectManifests } from './tenants/dialects.ts'
import { tenantPublicUrl } from './tenants/mount.ts'
import type { DemoIdp, DemoIdpClient } from './plugins/providers/demo-idp.ts'
import { createDatabase, migrateToLatest } from './db/index.ts'
import { observeJob, registry } from './plugins/metrics.ts'
import { formatTenantError, loadTenantDir } from './tenants/loader.ts'
import { startWorkers } from './workers/index.ts'
import { WORKER_CONCURRENCY } from './workers/email.worker.ts'
import { createMailTransport } from './workers/mail-transport.ts'
import { keyringFromEnv } from './db/sealing.ts'
import { BootError, checkDatabaseUrl, describeBootError, watchParent } from './boot.ts'

const env = {
  port: Number(process.env.PORT ?? 3000),
  host: process.env.HOST ?? '127.0.0.1',
  databaseUrl: process.env.DATABASE_URL || undefined,
  redisUrl: process.env.REDIS_URL || undefined,
  redisPrefix: process.env.REDIS_PREFIX || 'vst',
  smtpUrl: process.env.SMTP_URL || undefined,
  dataDir: process.env.DATA_DIR || '.data',
  tenantsDir: process.env.TENANTS_DIR ?? 'tenants',
  publicBaseUrl: process.env.PUBLIC_BASE_URL || undefined,
  trustProxy: parseTrustProxy(process.env.TRUST_PROXY),
  production: process.env.NODE_ENV === 'production',
  runWorkers: process.env.RUN_WORKERS,
  databaseTimeouts: {
    connectMs: intEnv('DATABASE_CONNECT_TIMEOUT_MS'),
    statementMs: intEnv('DATABASE_STATEMENT_TIMEOUT_MS'),
    idleInTransactionMs: intEnv('DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS'),
    queryMs: intEnv('DATABASE_QUERY_TIMEOUT_MS')
  },
  schedule: dropUndefined({
    claimLeaseSeconds: intEnv('MAIL_CLAIM_LEASE_SECONDS'),
    relayEveryMs: intEnv('MAIL_RELAY_EVERY_MS'),
    relayAfterSeconds: intEnv('MAIL_RELAY_AFTER_SECONDS')
  }),
  http: {
    requestTimeoutMs: intEnv('HTTP_REQUEST_TIMEOUT_MS'),
    headersTimeoutMs: intEnv('HTTP_HEADERS_TIMEOUT_MS'),
    keepAliveTimeoutMs: intEnv('HTTP_KEEP_ALIVE_TIMEOUT_MS'),
    maxConnections: intEnv('HTTP_MAX_CONNECTIONS')
  }
}

/** A non-negative integer from the environment (milliseconds, counts); unset → undefined (the default applies). */
function intEnv (name: string): number | undefined {
  const v = process.env[name]
  if (v === undefined || v === '') return undefined
  if (!/^\d+$/.test(v.trim())) fail(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`)
  return Number(v)
}

function dropUndefined<T extends object> (o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

function parseTrustProxy (v: string | undefined): boolean | string | string[] {
  if (!v || v === 'false') return false
  if (v === 'true') return true
  return v.includes(',') ? v.split(',').map((s) => s.trim()) : v
}

/** Mail bodies and token data are sealed with VESTIBULE_SECRET_KEY: read it at boot (production requires it). */
function requireSecretKeys (): void {
  process.env.DATA_DIR ||= env.dataDir
  try {
    keyringFromEnv(process.env, { developmentKey: true, notice: (m) => log.warn(m) })
  } catch (err) {
    fail((err as Error).message)
  }
}

function fail (message: string): never {
  console.error(message)
  process.exit(1)
}

// Readable lines for a person at a terminal (pino-pretty), JSON for everything else; LOG_FORMAT=json|pretty decides instead.
const pretty = process.env.LOG_FORMAT ? process.env.LOG_FORMAT === 'pretty' : Boolean(process.stdout.isTTY) && !env.production
const logOptions = { level: process.env.LOG_LEVEL ?? 'info', redact: REDACT }
const log = pretty
  ? pino(logOptions, (await import('pino-pretty')).default({ colorize: Boolean(process.stdout.isTTY), translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }))
  : pino(logOptions)
const [command = 'serve', sub, arg] = process.argv.slice(2)

if (env.schedule.claimLeaseSeconds === 0) fail('MAIL_CLAIM_LEASE_SECONDS must be at least 1')
if (env.schedule.relayEveryMs !== undefined && env.schedule.relayEveryMs < 100) fail('MAIL_RELAY_EVERY_MS must be at least 100')
if (!Number.isInteger(env.port) || env.port < 0 || env.port > 65535) fail(`PORT must be a port number, got ${JSON.stringify(process.env.PORT)}`)

try {
  switch (command) {
    case 'serve': await serve(); break
    case 'worker': await worker(); break
    case 'migrate': await migrate(); break
    case 'openapi': await openapi(process.argv.slice(3)); break
    case 'tenants':
      if (sub !== 'check') fail('usage: server.ts tenants check [dir]')
      await tenantsCheck(arg ?? env.tenantsDir)
      break
    default: fail(`unknown command ${JSON.stringify(command)}: use serve | worker | migrate | tenants check [dir] | openapi --tenant <id> [--out file]`)
  }
} catch (err) {
  // A failure at start is one line saying what is wrong and what to do; the stack helps nobody here.
  fail(`${command}: ${describeBootError(err, { port: env.port, host: env.host, databaseUrl: env.databaseUrl, tenantsDir: env.tenantsDir })}`)
}

async function serve (): Promise<void> {
  requireSecretKeys()
  // Tenant files may say ${PUBLIC_BASE_URL} and ${DEMO_IDP_URL} (the demo does): give them this
  // process's own addresses when the operator set none, so PORT=4000 npm start keeps the demo working.
  process.env.PUBLIC_BASE_URL ||= env.publicBaseUrl ?? `http://${env.host}:${env.port}`
  process.env.DEMO_IDP_URL ||= `http://127.0.0.1:${process.env.DEMO_IDP_PORT ?? 3001}`
  checkDatabaseUrl(env.databaseUrl)
  checkTenantsDir(env.tenantsDir)
  // Before the database opens: a second start on a taken port says so, and touches no data.
  await assertPortFree(env.port, env.host)
  const app = await buildApp({
    databaseUrl: env.databaseUrl,
    databaseTimeouts: env.databaseTimeouts,
    http: env.http,
    schedule: env.schedule,
    dataDir: `${env.dataDir}/pglite`,
    outboxDir: `${env.dataDir}/outbox`,
    redisUrl: env.redisUrl,
    redisPrefix: env.redisPrefix,
    smtpUrl: env.smtpUrl,
    tenantsDir: env.tenantsDir,
    publicBaseUrl: env.publicBaseUrl,
    trustProxy: env.trustProxy,
    metricsToken: process.env.METRICS_TOKEN || undefined,
    // /metrics names every tenant: production serves it only with METRICS_TOKEN, unless explicitly opened.
    metricsOpen: !env.production || process.env.METRICS_ALLOW_UNAUTHENTICATED === '1',
    admin: process.env.ADMIN_PASSWORD ? { user: process.env.ADMIN_USER || 'admin', password: process.env.ADMIN_PASSWORD } : undefined,
    // With Redis, production runs `npm run worker` separately; development keeps one process.
    runWorkers: env.runWorkers !== undefined ? env.runWorkers === '1' || env.runWorkers === 'true' : !env.production,
    logger: log as never,
    demoPages: !env.production,
    logMailLinks: !env.production
  })
  if (env.production && !process.env.METRICS_TOKEN) {
    log.warn(process.env.METRICS_ALLOW_UNAUTHENTICATED === '1'
      ? 'METRICS_ALLOW_UNAUTHENTICATED=1: /metrics (which lists every tenant) is open to anyone who reaches any host'
      : 'METRICS_TOKEN is not set: /metrics answers 403 (set it, and give Prometheus the bearer token)')
  }
  const url = await app.listen({ port: env.port, host: env.host })
  const demoIdp = env.production || process.env.DEMO_IDP === '0' ? null : await startDemoIdpFor(app)
  log.info({ url, tenants: app.router.ids().length, refused: app.tenantErrors.length }, `Vestibule listening on ${url} (try ${url}/t/demo/openapi.json)`)

  let pending: NodeJS.Timeout | null = null
  const reload = (why: string) => {
    if (pending) clearTimeout(pending)
    pending = setTimeout(() => { pending = null; log.info(`reloading tenants (${why})`); void app.reloadTenants({ broadcast: true }) }, 150)
  }
  process.on('SIGHUP', () => reload('SIGHUP'))
  // A safety net for shared folders whose change events do not reach every node (NFS, config sync).
  const poll = Number(process.env.TENANTS_POLL_SECONDS ?? 0)
  if (poll > 0) setInterval(() => { void app.reloadTenants() }, poll * 1000).unref()
  if (process.env.TENANTS_WATCH !== '0') {
    try { watch(env.tenantsDir, { persistent: false }, () => reload('file change')) } catch (err) { log.warn({ err }, 'cannot watch the tenants folder; use SIGHUP to reload') }
  }
  // SIGHUP reloads (above), so it is not one of the shutdown signals.
  const grace = closeWithGrace({ delay: Number(process.env.SHUTDOWN_GRACE_MS ?? 10_000), skip: ['SIGHUP'] }, async ({ signal, err, manual }) => {
    if (err) log.error({ err }, 'shutting down after an error')
    else log.info({ signal: signal ?? (manual ? 'parent exited' : undefined) }, 'shutting down')
    await app.close()
    await demoIdp?.close()
  })
  watchParent(() => { log.warn({ ppid: process.ppid }, 'the parent process exited (was npm stopped?); shutting down'); void grace.close() })
}

function checkTenantsDir (dir: string): void {
  let ok = false
  try { ok = statSync(dir).isDirectory() } catch { /* reported below */ }
  if (!ok) throw new BootError(`TENANTS_DIR ${JSON.stringify(dir)} is not a folder${path.isAbsolute(dir) ? '' : ` (relative to ${process.cwd()})`}; create it or point TENANTS_DIR at the folder of tenant files`)
}

/** Fails with EADDRINUSE (described by describeBootError) when something already listens on the port. */
function assertPortFree (port: number, host: string): Promise<void> {
  if (port === 0) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once('error', reject)
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()))
  })
}

/** Development: when a tenant has a provider of type `demo`, run the local demo OpenID provider for it,
 *  registering the callback URLs Vestibule builds for that provider as its redirect URIs. */
async function startDemoIdpFor (app: Awaited<ReturnType<typeof buildApp>>): Promise<DemoIdp | null> {
  const clients = new Map<string, DemoIdpClient>()
  for (const id of app.router.ids()) {
    const config = app.router.get(id)!
    const base = tenantPublicUrl(config, { publicBaseUrl: () => app.publicBaseUrl() })
    for (const [key, p] of Object.entries(config.providers)) {
      if (p.type !== 'demo') continue
      const c = clients.get(p.clientId) ?? { clientId: p.clientId, clientSecret: p.clientSecret, redirectUris: [] }
      c.redirectUris.push(...dialectManifests().flatMap((m) => m.callbackPaths?.(key) ?? []).map((p) => base + p))
      clients.set(p.clientId, c)
    }
  }
  if (clients.size === 0) return null
  try {
    // Loaded only here: oidc-provider is a development dependency of the quickstart, not of serving.
    const { DEMO_IDP_DEFAULT_PORT, startDemoIdp } = await import('./plugins/providers/demo-idp.ts')
    const idp = await startDemoIdp({ port: Number(process.env.DEMO_IDP_PORT ?? DEMO_IDP_DEFAULT_PORT), clients: [...clients.values()] })
    log.info({ issuer: idp.issuer }, `demo identity provider running; try ${app.publicBaseUrl()}/_vestibule/demo`)
    return idp
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'could not start the demo identity provider (set DEMO_IDP=0 to skip it)')
    return null
  }
}

async function worker (): Promise<void> {
  requireSecretKeys()
  if (!env.redisUrl) fail('npm run worker needs REDIS_URL; without Redis the server runs jobs in-process')
  checkDatabaseUrl(env.databaseUrl)
  const db = await createDatabase({ url: env.databaseUrl, dataDir: `${env.dataDir}/pglite`, timeouts: env.databaseTimeouts, applicationName: 'vestibule-worker', log })
  const transport = createMailTransport({ smtpUrl: env.smtpUrl, outboxDir: `${env.dataDir}/outbox`, log, logLinks: !env.production, maxConnections: intEnv('SMTP_MAX_CONNECTIONS') })
  const workers = await startWorkers({ redisUrl: env.redisUrl!, prefix: env.redisPrefix, db: db.db, transport, log, concurrency: Number(process.env.WORKER_CONCURRENCY ?? WORKER_CONCURRENCY), observe: observeJob, schedule: env.schedule })
  log.info('worker started: email delivery, token cleanup, outbox relay')
  // A worker has no HTTP server of its own; METRICS_PORT gives Prometheus its job counters.
  let metricsServer: http.Server | null = null
  if (process.env.METRICS_PORT) {
    metricsServer = http.createServer((req, res) => {
      if (req.url !== '/metrics') { res.writeHead(404).end(); return }
      registry.metrics().then((body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body), () => res.writeHead(500).end())
    }).listen(Number(process.env.METRICS_PORT), env.host)
  }
  // A worker reads no tenant files: SIGHUP is logged and otherwise ignored (not a shutdown).
  process.on('SIGHUP', () => log.info('SIGHUP: a worker has no tenant config to reload'))
  const grace = closeWithGrace({ delay: Number(process.env.SHUTDOWN_GRACE_MS ?? 30_000), skip: ['SIGHUP'] }, async ({ signal, err, manual }) => {
    if (err) log.error({ err }, 'worker shutting down after an error')
    else log.info({ signal: signal ?? (manual ? 'parent exited' : undefined) }, 'worker shutting down')
    metricsServer?.close()
    await workers.close()
    transport.close()
    await db.close()
  })
  watchParent(() => { log.warn({ ppid: process.ppid }, 'the parent process exited; worker shutting down'); void grace.close() })
}

async function migrate (): Promise<void> {
  checkDatabaseUrl(env.databaseUrl)
  // No statement or query bound: a migration may rewrite a large table (connecting is still bounded).
  const db = await createDatabase({ url: env.databaseUrl, dataDir: `${env.dataDir}/pglite`, timeouts: { connectMs: env.databaseTimeouts.connectMs, statementMs: 0, idleInTransactionMs: 0, queryMs: 0 }, applicationName: 'vestibule-migrate' })
  try {
    const ran = await migrateToLatest(db.db)
    console.log(ran.length ? `applied: ${ran.join(', ')}` : 'database is up to date')
  } finally { await db.close() }
}

async function openapi (args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { tenant: { type: 'string' }, out: { type: 'string' }, dir: { type: 'string' } } })
  if (!values.tenant) fail('usage: npm run openapi -- --tenant <id> [--out file] [--dir tenants-folder]')
  const dir = values.dir ?? env.tenantsDir
  const { tenants, errors } = await loadTenantDir(dir)
  const found = tenants.find((x) => x.config.id === values.tenant)
  if (!found) {
    const bad = errors.filter((e) => e.file.includes(values.tenant!))
    fail(bad.length ? bad.map(formatTenantError).join('\n') : `no tenant "${values.tenant}" in ${dir}`)
  }
  const doc = await tenantOpenApi(found.config, env.publicBaseUrl ?? `http://${env.host}:${env.port}`, VERSION)
  const text = JSON.stringify(doc, null, 2) + '\n'
  if (values.out) { writeFileSync(values.out, text); console.error(`wrote ${values.out}`) } else process.stdout.write(text)
}

async function tenantsCheck (dir: string): Promise<void> {
  let result
  try { result = await loadTenantDir(dir) } catch (err) { fail(`cannot read ${dir}: ${(err as Error).message}`) }
  for (const t of result.tenants) console.log(`ok     ${t.file} (${t.config.id})`)
  for (const e of result.errors) console.error(`error  ${formatTenantError(e)}`)
  if (result.errors.length) process.exit(1)
  console.log(`${result.tenants.length} tenant(s) valid`)
}
