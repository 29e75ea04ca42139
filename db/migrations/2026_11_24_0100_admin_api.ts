// The operator admin API: hashed admin tokens; tenants stored in the database next to tenant files (the
// current document, every numbered version, and the hosts each claims, unique across tenants); blocked users.
// Frozen once landed: later changes go in a new migration.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('admin_tokens')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text')
    .addColumn('scopes', sql`text[]`, (c) => c.notNull())
    // null: every tenant; else the one tenant this token may see.
    .addColumn('tenant_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz')
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .execute()

  // Secrets inside `doc` are sealed (AES-256-GCM, db/sealing.ts); `doc` is the document as given, before defaults.
  await db.schema.createTable('tenant_configs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('doc', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  // Every version ever stored, deletions included (doc null): history, rollback, and what a poll compares.
  await db.schema.createTable('tenant_config_versions')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull()) // create | update | restore | delete
    .addColumn('doc', 'jsonb')
    .addColumn('actor', 'text') // admin token id, or the CLI
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('tenant_config_versions_pk', ['tenant_id', 'version'])
    .execute()

  // One row per host a stored tenant claims (lower-cased): two nodes cannot give one host to two tenants,
  // and a node can resolve a host with one indexed lookup.
  await db.schema.createTable('tenant_hosts')
    .addColumn('host', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenant_configs.id').onDelete('cascade'))
    .execute()
  await db.schema.createIndex('tenant_hosts_tenant_idx').on('tenant_hosts').column('tenant_id').execute()

  // A blocked account: every session revoked when set, and every sign-in refused while set.
  await db.schema.alterTable('users').addColumn('disabled_at', 'timestamptz').execute()
  await db.schema.createIndex('users_tenant_created_idx').on('users').columns(['tenant_id', 'created_at']).execute()
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('users_tenant_created_idx').ifExists().execute()
  await db.schema.alterTable('users').dropColumn('disabled_at').execute()
  for (const t of ['tenant_hosts', 'tenant_config_versions', 'tenant_configs', 'admin_tokens']) {
    await db.schema.dropTable(t).ifExists().execute()
  }
}
