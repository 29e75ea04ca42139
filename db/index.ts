// The storage door: a Kysely<Database> on PostgreSQL (DATABASE_URL) or on embedded PGlite,
// plus the migrator. Both return int8 as string and timestamptz as Date, so callers see one shape.
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Kysely, Migrator, PostgresDialect, sql, type Migration, type MigrationProvider } from 'kysely'
import pg from 'pg'
import type { Database } from './database.ts'
import { lockDataDir } from './pglite-lock.ts'
import { preparedName, preparedStatementsFromEnv } from './prepared.ts'

export type { Database } from './database.ts'
export * from './database.ts'

export interface DatabaseOptions {
  /** postgres:// URL; when absent the embedded PGlite engine is used. */
  url?: string
  /** PGlite data directory (default `.data/pglite`); `memory://` for a throwaway database. */
  dataDir?: string
  /** PostgreSQL schema to work in (tests use one per run for isolation); created if missing. */
  schema?: string
  /** Pool size for PostgreSQL. */
  poolSize?: number
  /** PostgreSQL timeouts (ms; 0 turns one off); see resolveTimeouts for the defaults. PGlite ignores them. */
  timeouts?: Partial<DatabaseTimeouts>
  /** application_name when neither the URL nor PGAPPNAME names one (default `vestibule`). */
  applicationName?: string
  /** Run the registered hot statements (db/prepared.ts) as named prepared statements on PostgreSQL.
   *  Default: DATABASE_PREPARED_STATEMENTS (`on` unless `off`); see db/prepared.ts for PgBouncer. */
  preparedStatements?: boolean
  /** Where lost connections are reported (they are not errors of any one caller). */
  log?: { warn: (o: object, m?: string) => void }
}

export interface DatabaseTimeouts {
  /** Waiting for a pool connection (a new one, or a free one when all are busy). */
  connectMs: number
  /** statement_timeout on every connection: the server cancels a statement running longer. */
  statementMs: number
  /** idle_in_transaction_session_timeout on every connection: a transaction left open is ended. */
  idleInTransactionMs: number
  /** Client-side bound on one query's answer, for a server that stops answering altogether (paused,
   *  network cut) where statement_timeout cannot fire; the connection is dropped when it passes.
   *  Default: statementMs + 5 s (off when statementMs is). */
  queryMs: number
}

export const DATABASE_TIMEOUTS: Omit<DatabaseTimeouts, 'queryMs'> = { connectMs: 10_000, statementMs: 15_000, idleInTransactionMs: 60_000 }

export function resolveTimeouts (t: Partial<DatabaseTimeouts> = {}): DatabaseTimeouts {
  const statementMs = t.statementMs ?? DATABASE_TIMEOUTS.statementMs
  return {
    connectMs: t.connectMs ?? DATABASE_TIMEOUTS.connectMs,
    statementMs,
    idleInTransactionMs: t.idleInTransactionMs ?? DATABASE_TIMEOUTS.idleInTransactionMs,
    queryMs: t.queryMs ?? (statementMs > 0 ? statementMs + 5000 : 0)
  }
}

export interface DatabaseHandle {
  db: Kysely<Database>
  engine: 'postgres' | 'pglite'
  /** The schema the tables live in, when not the default. */
  schema?: string
  close (): Promise<void>
}

export type PoolQuery = <R>(text: string, values: unknown[]) => Promise<R[]>
const poolQueries = new WeakMap<object, PoolQuery>()

/**
 * For a database made by createDatabase on PostgreSQL, a function running one statement on its pool (a
 * registered text as its named statement); undefined for PGlite, a transaction, or anything else.
 */
export function poolQueryOf (db: object): PoolQuery | undefined {
  return poolQueries.get(db)
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

export async function createDatabase (opts: DatabaseOptions = {}): Promise<DatabaseHandle> {
  if (opts.schema !== undefined && !SCHEMA_NAME.test(opts.schema)) {
    throw new Error(`invalid schema name ${JSON.stringify(opts.schema)}`)
  }
  if (opts.url) {
    if (opts.schema) {
      const admin = new pg.Client({ connectionString: opts.url })
      await admin.connect()
      try { await admin.query(`CREATE SCHEMA IF NOT EXISTS "${opts.schema}"`) } finally { await admin.end() }
    }
    const timeouts = resolveTimeouts(opts.timeouts)
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 10,
      // search_path per connection keeps every query (and the migrator) inside the run's schema.
      options: opts.schema ? `-c search_path=${opts.schema}` : undefined,
      // The URL's application_name or PGAPPNAME win over this one.
      fallback_application_name: opts.applicationName ?? 'vestibule',
      connectionTimeoutMillis: timeouts.connectMs || undefined,
      // Sent in the startup packet: set on every connection the pool makes, before any query.
      statement_timeout: timeouts.statementMs || undefined,
      idle_in_transaction_session_timeout: timeouts.idleInTransactionMs || undefined
    } as pg.PoolConfig)
    guardConnections(pool, timeouts.queryMs, opts.log)
    if (opts.preparedStatements ?? preparedStatementsFromEnv(process.env.DATABASE_PREPARED_STATEMENTS)) prepareRegistered(pool)
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
    // The hot statements outside a transaction go to the pool itself (statementRows): one pool round trip,
    // without Kysely's connection provider and its promises around each query.
    const named = opts.preparedStatements ?? preparedStatementsFromEnv(process.env.DATABASE_PREPARED_STATEMENTS)
    poolQueries.set(db, async <R>(text: string, values: unknown[]) => {
      const name = named ? preparedName(text) : undefined
      return (await pool.query<R & pg.QueryResultRow>(name === undefined ? { text, values } : { name, text, values })).rows
    })
    return { db, engine: 'postgres', schema: opts.schema, close: () => db.destroy() }
  }
  const { PGlite, types } = await import('@electric-sql/pglite')
  const { PGliteDialect } = await import('kysely-pglite-dialect')
  const dataDir = opts.dataDir ?? '.data/pglite'
  if (!dataDir.includes('://')) await fs.mkdir(dataDir, { recursive: true })
  // PGlite is single-process: a second process refuses the folder instead of aborting inside it.
  const unlock = dataDir.includes('://') ? () => {} : lockDataDir(dataDir)
  const client = new PGlite(dataDir, {
    // Same shapes as node-postgres: int8 stays a string (ids), timestamptz becomes Date.
    parsers: { [types.INT8]: (v: string) => v }
  })
  await client.waitReady.catch((err) => { unlock(); throw err })
  if (opts.schema) {
    await client.exec(`CREATE SCHEMA IF NOT EXISTS "${opts.schema}"; SET search_path TO "${opts.schema}"`)
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect(client) })
  return {
    db,
    engine: 'pglite',
    schema: opts.schema,
    async close () { await db.destroy(); if (!client.closed) await client.close(); unlock() }
  }
}

/**
 * A connection that dies (terminated backend, restarted server, cut network) emits 'error' on its
 * client. pg-pool listens only while the client is idle; a checked-out client with no listener turns
 * the error into an uncaught exception, which ends the process. Every client gets a listener for its
 * whole life: the query under way fails with the error (its caller answers 5xx or retries), the client
 * is no longer queryable, and the pool drops it on release and makes a new one for the next caller.
 */
function guardConnections (pool: pg.Pool, queryMs: number, log?: DatabaseOptions['log']): void {
  pool.on('error', () => { /* an idle client's error: logged by the client's own listener below */ })
  pool.on('connect', (client) => {
    client.on('error', (err) => log?.warn({ err: err.message }, 'database connection lost'))
  })
  if (queryMs > 0) boundQueries(pool, queryMs)
}

/** Every connection sends a registered statement text (db/prepared.ts) under its name: planned once per connection. */
function prepareRegistered (pool: pg.Pool): void {
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown
    ;(client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const name = typeof args[0] === 'string' && Array.isArray(args[1]) && args.length === 2 ? preparedName(args[0]) : undefined
      return name === undefined ? query(...args) : query({ name, text: args[0], values: args[1] })
    }
  })
}

/** The query a pg client is running now (pg 8 keeps it behind _getActiveQuery; null when idle or unknown). */
function activeQueryOf (client: pg.PoolClient): object | null {
  const c = client as unknown as { _getActiveQuery?: () => object | null, _activeQuery?: object | null }
  return c._getActiveQuery?.() ?? c._activeQuery ?? null
}

/**
 * A query unanswered after `queryMs` fails, and its connection is destroyed: pg's own query_timeout
 * fails the query but leaves it running on the connection, so the next caller handed that connection
 * would wait behind it. One sweep per pool, every quarter of the bound (at most a second), looks at each
 * connection's running query: one seen running on two sweeps `queryMs` apart is failed, so a query is
 * bounded at between `queryMs` and `queryMs` plus one sweep, at no cost per query (no timer, no promise).
 */
function boundQueries (pool: pg.Pool, queryMs: number): void {
  const seen = new Map<pg.PoolClient, { query: object | null, since: number }>()
  pool.on('connect', (client) => { seen.set(client, { query: null, since: 0 }) })
  pool.on('remove', (client) => { seen.delete(client) })
  const sweep = setInterval(() => {
    const now = performance.now()
    for (const [client, s] of seen) {
      const query = activeQueryOf(client)
      if (query === null || query !== s.query) { s.query = query; s.since = now; continue }
      if (now - s.since < queryMs) continue
      seen.delete(client)
      const stream = (client as unknown as { connection?: { stream?: { destroy (err?: Error): void } } }).connection?.stream
      // The error reaches the running query (pg fails every query of a connection whose socket errs).
      stream?.destroy(Object.assign(new Error(`database query unanswered after ${queryMs} ms; connection dropped`), { code: 'VST_DB_QUERY_TIMEOUT' }))
    }
  }, Math.max(25, Math.min(1000, Math.floor(queryMs / 4))))
  sweep.unref()
  const end = pool.end.bind(pool) as () => Promise<void>
  ;(pool as unknown as { end: () => Promise<void> }).end = () => { clearInterval(sweep); return end() }
}

const migrationsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations')

/** Loads migrations from db/migrations, in file-name order. */
class DirectoryMigrationProvider implements MigrationProvider {
  async getMigrations (): Promise<Record<string, Migration>> {
    const files = (await fs.readdir(migrationsDir)).filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts')).sort()
    const out: Record<string, Migration> = {}
    for (const f of files) out[f.replace(/\.(ts|js)$/, '')] = await import(path.join(migrationsDir, f))
    return out
  }
}

/** Runs pending migrations. Name the schema when not the default: Kysely otherwise finds another
 *  schema's migration tables by name and skips creating its own. */
export async function migrateToLatest (db: Kysely<Database>, schema?: string): Promise<string[]> {
  // A schema chosen through search_path (e.g. ?options=-c search_path=… in DATABASE_URL) counts too.
  const tableSchema = schema ?? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]?.s
  const migrator = new Migrator({ db, provider: new DirectoryMigrationProvider(), migrationTableSchema: tableSchema })
  let { error, results } = await migrator.migrateToLatest()
  // Kysely's introspection reads every schema's catalog; one dropped meanwhile (another app or test run
  // sharing the database) fails it with 3F000, 42P01 or 42703 naming that schema's objects. Nothing of
  // ours changed: try again.
  // Bounded by time, not by a count: under heavy churn on a loaded machine several introspections in a
  // row can each meet a schema dropped mid-read (seen: six in a row at a load average of 17).
  const giveUpAt = Date.now() + 10_000
  for (let attempt = 1; isOtherSchemaGone(error, tableSchema) && Date.now() < giveUpAt; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(25 * attempt, 250) + Math.random() * 25))
    ;({ error, results } = await migrator.migrateToLatest())
  }
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')
    throw new Error(`migration ${failed?.migrationName ?? '?'} failed: ${(error as Error).message ?? error}`, { cause: error })
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}

// What a schema, table or column dropped mid-introspection looks like: invalid_schema_name,
// undefined_table, undefined_column.
const VANISHED = new Set(['3F000', '42P01', '42703'])

function isOtherSchemaGone (error: unknown, ours: string | undefined): boolean {
  const e = error as { code?: string, message?: string } | undefined
  if (!e || !VANISHED.has(e.code ?? '')) return false
  return ours === undefined || !String(e.message ?? '').includes(`"${ours}"`)
}

export async function ping (db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db)
}
