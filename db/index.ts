// The storage door: a Kysely<Database> on PostgreSQL (DATABASE_URL) or on embedded PGlite,
// plus the migrator. Both return int8 as string and timestamptz as Date, so callers see one shape.
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Kysely, Migrator, PostgresDialect, sql, type Migration, type MigrationProvider } from 'kysely'
import pg from 'pg'
import type { Database } from './database.ts'
import { lockDataDir } from './pglite-lock.ts'

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
}

export interface DatabaseHandle {
  db: Kysely<Database>
  engine: 'postgres' | 'pglite'
  /** The schema the tables live in, when not the default. */
  schema?: string
  close (): Promise<void>
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
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 10,
      // search_path per connection keeps every query (and the migrator) inside the run's schema.
      options: opts.schema ? `-c search_path=${opts.schema}` : undefined
    })
    pool.on('error', () => { /* idle client errors surface on the next query */ })
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
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
