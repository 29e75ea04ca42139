// Mail sent once across worker crashes: each outbox row gets a stable Message-ID (the same on every
// attempt, so receivers can de-duplicate the one resend a crash can cause), the token of the claim
// that is sending it, and the SMTP server's answer once sent. Frozen once landed.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  // Added without a default first (no table rewrite), then the default for new rows. Rows written
  // before this migration keep a NULL message_id; the transport derives their old id from row id and
  // tenant, as it always did, so a resend of one of them still carries the id of its first attempt.
  await db.schema.alterTable('email_outbox')
    .addColumn('message_id', 'text')
    .addColumn('claim_token', 'text')
    .addColumn('sent_response', 'text')
    .execute()
  await sql`ALTER TABLE email_outbox ALTER COLUMN message_id SET DEFAULT '<' || gen_random_uuid()::text || '@vestibule>'`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('email_outbox').dropColumn('message_id').dropColumn('claim_token').dropColumn('sent_response').execute()
}
