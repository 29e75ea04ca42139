// Webhooks and retention of audit events (issue 22). Every audit event carries the id of the transaction that
// wrote it (`tx`), so the webhook relay can read events in commit-safe order: it takes only rows whose transaction
// is older than every transaction still running (pg_snapshot_xmin), which no later commit can precede.
// Frozen once landed: later changes go in a new migration.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  // Added without a default first (no table rewrite); rows from before it stay null and are never relayed.
  await sql`ALTER TABLE audit_events ADD COLUMN tx xid8`.execute(db)
  await sql`ALTER TABLE audit_events ALTER COLUMN tx SET DEFAULT pg_current_xact_id()`.execute(db)
  await sql`CREATE INDEX IF NOT EXISTS audit_events_tx_idx ON audit_events (tx, id) WHERE tx IS NOT NULL`.execute(db)
  // IF NOT EXISTS: a large deployment may build it first with CREATE INDEX CONCURRENTLY (docs/events.md).
  await db.schema.createIndex('audit_events_created_idx').ifNotExists().on('audit_events').column('created_at').execute()

  // One row: how far the relay has read (the last event it turned into deliveries).
  await db.schema.createTable('webhook_relay')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('cursor_tx', sql`xid8`, (c) => c.notNull())
    .addColumn('cursor_id', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await sql`INSERT INTO webhook_relay (id, cursor_tx, cursor_id) VALUES (1, '0'::xid8, 0)`.execute(db)

  // The outbox: one row per (event, endpoint) the event is for.
  await db.schema.createTable('webhook_deliveries')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('endpoint', 'text', (c) => c.notNull())
    .addColumn('event_id', 'bigint', (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('claimed_at', 'timestamptz')
    .addColumn('claim_token', 'text')
    .addColumn('delivered_at', 'timestamptz')
    .addColumn('dead_at', 'timestamptz')
    .addColumn('last_status', 'integer')
    .addColumn('last_error', 'text')
    .addUniqueConstraint('webhook_deliveries_once', ['tenant_id', 'endpoint', 'event_id'])
    .execute()
  await sql`CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (next_attempt_at) WHERE delivered_at IS NULL AND dead_at IS NULL`.execute(db)
  await sql`CREATE INDEX webhook_deliveries_user_idx ON webhook_deliveries (tenant_id, endpoint, user_id, event_id) WHERE delivered_at IS NULL AND dead_at IS NULL`.execute(db)
  await sql`CREATE INDEX webhook_deliveries_done_idx ON webhook_deliveries ((COALESCE(delivered_at, dead_at))) WHERE delivered_at IS NOT NULL OR dead_at IS NOT NULL`.execute(db)

  // Health of each endpoint: failures in a row, and whether it is marked failing (and for which config).
  await db.schema.createTable('webhook_endpoints')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('endpoint', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('consecutive_failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('first_failure_at', 'timestamptz')
    .addColumn('last_success_at', 'timestamptz')
    .addColumn('failing_at', 'timestamptz')
    .addColumn('failing_config', 'text')
    .addPrimaryKeyConstraint('webhook_endpoints_pk', ['tenant_id', 'endpoint'])
    .execute()

  // What the maintenance worker needs of each tenant's config (it reads no tenant files): written by the relay.
  await db.schema.createTable('event_settings')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey())
    .addColumn('retention_days', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
}

export async function down (db: Kysely<any>): Promise<void> {
  for (const t of ['event_settings', 'webhook_endpoints', 'webhook_deliveries', 'webhook_relay']) await db.schema.dropTable(t).ifExists().execute()
  await db.schema.dropIndex('audit_events_created_idx').ifExists().execute()
  await db.schema.dropIndex('audit_events_tx_idx').ifExists().execute()
  await sql`ALTER TABLE audit_events DROP COLUMN IF EXISTS tx`.execute(db)
}
