// Usernames are unique per tenant, case-insensitively (dialects such as syncano show them as logins).
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await sql`CREATE UNIQUE INDEX users_tenant_username_uq ON users (tenant_id, lower(username)) WHERE username IS NOT NULL`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS users_tenant_username_uq`.execute(db)
}
