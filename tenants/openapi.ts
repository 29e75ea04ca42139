// A tenant's OpenAPI document without a running server (npm run openapi): builds the tenant's instance
// with services that are never called — documenting a tenant touches no database, queue or mailbox.
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import pino from 'pino'
import type { FastifyBaseLogger } from 'fastify'
import type { Database } from '../db/index.ts'
import { createMailOutbox } from '../plugins/mail/index.ts'
import { buildTenantApp } from './mount.ts'
import type { TenantConfig } from './schema.ts'

export async function tenantOpenApi (config: TenantConfig, publicBaseUrl: string, version: string): Promise<unknown> {
  const log = pino({ level: 'warn' }) as unknown as FastifyBaseLogger
  // pg connects lazily: this pool is never used, so no database is needed.
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ max: 1 }) }) })
  const app = await buildTenantApp(config, {
    db, mail: createMailOutbox({ log }), redis: null, redisPrefix: 'vst', log, publicBaseUrl: () => publicBaseUrl, trustProxy: false, version
  })
  try {
    return app.swagger()
  } finally {
    await app.close()
    await db.destroy()
  }
}
