// build(t): the app on real PostgreSQL (a fresh schema per call, dropped on teardown) or on PGlite,
// listening on loopback; plus small HTTP helpers. Every test file isolates itself this way.
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import pg from 'pg'
import { buildApp, type App, type AppOptions } from '../../app.ts'
import { createDatabase, migrateToLatest, type DatabaseHandle } from '../../db/index.ts'

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

export type Engine = 'postgres' | 'pglite'
interface Teardown { teardown (fn: () => unknown): void }

export function uniqueName (prefix = 't'): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`
}

async function dropSchema (schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await c.connect()
  try { await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`) } finally { await c.end() }
}

/** A migrated database on either engine, removed on teardown. */
export async function testDatabase (t: Teardown, engine: Engine = 'postgres', opts: { poolSize?: number, preparedStatements?: boolean } = {}): Promise<DatabaseHandle> {
  if (engine === 'pglite') {
    const h = await createDatabase({ dataDir: 'memory://' })
    await migrateToLatest(h.db)
    t.teardown(() => h.close())
    return h
  }
  const schema = uniqueName('vst')
  const h = await createDatabase({ url: TEST_DATABASE_URL, schema, poolSize: opts.poolSize ?? 20, preparedStatements: opts.preparedStatements })
  await migrateToLatest(h.db, schema)
  t.teardown(async () => { await h.close(); await dropSchema(schema) })
  return h
}

export interface Built {
  app: App
  url: string
  /** fetch relative to the server root, e.g. api('/t/demo/openapi.json'). */
  api (path: string, init?: RequestInit): Promise<Response>
  schema: string | null
  redisPrefix: string
}

export async function build (t: Teardown, opts: AppOptions & { engine?: Engine, /** Another node of the same deployment: same schema and Redis prefix. */ nodeOf?: Built } = {}): Promise<Built> {
  const { engine = 'postgres', nodeOf, ...appOpts } = opts
  const schema = nodeOf ? nodeOf.schema : engine === 'postgres' ? uniqueName('vst') : null
  const redisPrefix = nodeOf ? nodeOf.redisPrefix : uniqueName('vsttest')
  const app = await buildApp({
    logger: process.env.TEST_LOG ? { level: process.env.TEST_LOG } : false,
    ...(engine === 'postgres' ? { databaseUrl: TEST_DATABASE_URL, dbSchema: schema! } : { dataDir: 'memory://' }),
    outboxDir: `.data/test-outbox/${schema ?? uniqueName('pgl')}`,
    redisPrefix, // queues and limits of parallel test files never meet
    ...appOpts
  })
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(async () => {
    await app.close()
    if (schema && !nodeOf) await dropSchema(schema)
  })
  return { app, url, schema, redisPrefix, api: (path, init) => fetch(url + path, init) }
}

/** A minimal valid tenant document; override what a test needs. */
export function tenantDoc (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, email: { from: `${id} <no-reply@${id}.test>` }, ...extra }
}

/** The Cookie header a browser would send back for a response's Set-Cookie lines (names and values only; a
 *  cookie being removed, `Max-Age=0`, is left out). */
export function cookiesFrom (res: { headers: Headers }): string {
  return res.headers.getSetCookie()
    .filter((c) => !/;\s*max-age=0\b/i.test(c))
    .map((c) => c.split(';')[0])
    .join('; ')
}

/** JSON POST helper. */
export function postJson (body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }
}

/** Form-encoded POST helper. */
export function postForm (body: Record<string, string>, headers: Record<string, string> = {}): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(body).toString() }
}

/** A request through node:http, for what fetch forbids (a Host header of our choice). */
export function rawRequest (url: string, opts: { method?: string, headers?: Record<string, string>, body?: string, /** Source address, e.g. 127.0.0.2 to be another client. */ localAddress?: string } = {}): Promise<{ status: number, headers: Record<string, string | string[] | undefined>, text: string, json: () => any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, localAddress: opts.localAddress }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c) => { text += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) }))
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}
