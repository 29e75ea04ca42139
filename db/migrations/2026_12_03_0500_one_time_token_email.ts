// The normalised address a magic link was mailed to, in the clear beside the sealed data: it redeems
// nothing (users.email holds addresses in the clear too), and it lets the magic-link login consume the
// link, find or create the account, record the event and issue the session in one statement.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE one_time_tokens ADD COLUMN email text`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE one_time_tokens DROP COLUMN email`.execute(db)
}
