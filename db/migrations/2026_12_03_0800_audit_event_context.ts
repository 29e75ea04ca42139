// Audit events carry where they came from (issue 22): dialect, provider, client, request id, client address
// (truncated per tenant) and user agent, and the indexes the admin query API pages and filters by.
// Frozen once landed: later changes go in a new migration.
import type { Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('audit_events')
    .addColumn('dialect', 'text')
    .addColumn('provider', 'text')
    .addColumn('client_id', 'text')
    .addColumn('request_id', 'text')
    .addColumn('client_address', 'text')
    .addColumn('user_agent', 'text')
    .execute()
  await db.schema.createIndex('audit_events_tenant_id_idx').on('audit_events').columns(['tenant_id', 'id']).execute()
  await db.schema.createIndex('audit_events_tenant_user_idx').on('audit_events').columns(['tenant_id', 'user_id', 'id']).execute()
  await db.schema.createIndex('audit_events_tenant_type_idx').on('audit_events').columns(['tenant_id', 'type', 'id']).execute()
}

export async function down (db: Kysely<any>): Promise<void> {
  for (const i of ['audit_events_tenant_type_idx', 'audit_events_tenant_user_idx', 'audit_events_tenant_id_idx']) await db.schema.dropIndex(i).ifExists().execute()
  await db.schema.alterTable('audit_events')
    .dropColumn('dialect').dropColumn('provider').dropColumn('client_id').dropColumn('request_id').dropColumn('client_address').dropColumn('user_agent')
    .execute()
}
