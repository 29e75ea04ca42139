// Delivers one outbox row. Claim → send → mark sent: a job that runs twice (or two workers racing)
// sends the mail once, because only one of them can claim the row.
import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/index.ts'
import { BLANK_BODIES, openOutboxRow } from '../plugins/mail/sealed.ts'
import type { MailTransport } from './mail-transport.ts'

export type DeliveryResult = 'sent' | 'already-sent' | 'claimed-elsewhere' | 'missing'

/** How long a claim protects a row before another worker may retry it (a worker that died mid-send). */
export const CLAIM_LEASE_SECONDS = 120

export async function deliverOutboxRow (db: Kysely<Database>, transport: MailTransport, id: string): Promise<DeliveryResult> {
  const row = await db.updateTable('email_outbox')
    .set({ claimed_at: sql`now()`, attempts: sql`attempts + 1` })
    .where('id', '=', id)
    .where('sent_at', 'is', null)
    .where((eb) => eb.or([eb('claimed_at', 'is', null), eb('claimed_at', '<', sql<Date>`now() - make_interval(secs => ${CLAIM_LEASE_SECONDS})`)]))
    .returningAll()
    .executeTakeFirst()
  if (!row) {
    const seen = await db.selectFrom('email_outbox').select(['sent_at']).where('id', '=', id).executeTakeFirst()
    return !seen ? 'missing' : seen.sent_at ? 'already-sent' : 'claimed-elsewhere'
  }
  try {
    await transport.send(openOutboxRow(row)) // the bodies are sealed at rest (plugins/mail/sealed.ts)
  } catch (err) {
    await db.updateTable('email_outbox').set({ claimed_at: null, last_error: String((err as Error).message ?? err).slice(0, 500) })
      .where('id', '=', id).execute()
    throw err
  }
  await db.updateTable('email_outbox').set({ sent_at: sql`now()`, last_error: null, ...BLANK_BODIES }).where('id', '=', id).execute()
  return 'sent'
}

/** Ids of rows nobody delivered (Redis lost the job, or a process died): for the relay. */
export async function pendingOutboxIds (db: Kysely<Database>, olderThanSeconds: number, limit: number): Promise<string[]> {
  const rows = await db.selectFrom('email_outbox').select('id')
    .where('sent_at', 'is', null)
    .where('created_at', '<', sql<Date>`now() - make_interval(secs => ${olderThanSeconds})`)
    .where((eb) => eb.or([eb('claimed_at', 'is', null), eb('claimed_at', '<', sql<Date>`now() - make_interval(secs => ${CLAIM_LEASE_SECONDS})`)]))
    .orderBy('id').limit(limit).execute()
  return rows.map((r) => r.id)
}
