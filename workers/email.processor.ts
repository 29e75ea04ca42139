// Delivers one outbox row: claim → send → record. A claim is a token and a time on the row, taken by
// one conditional UPDATE, so a job that runs twice (or two workers racing) sends the mail once; a claim
// older than its lease (its worker died) may be taken again. The outcome is recorded idempotently and
// retried while the lease lasts, so a lost database connection after the send does not resend.
// What "once" means at the one instant no process can know is in docs/operations.md (Mail).
import { randomUUID } from 'node:crypto'
import { sql, type Kysely } from 'kysely'
import type { Database, OutboxRow } from '../db/index.ts'
import { BLANK_BODIES, openOutboxRow } from '../workers/mail-bodies.ts'
import type { MailTransport } from './mail-transport.ts'

export type DeliveryResult = 'sent' | 'already-sent' | 'claimed-elsewhere' | 'missing'

/** How long a claim protects a row before another worker may retry it (a worker that died mid-send). */
export const CLAIM_LEASE_SECONDS = 120

export interface DeliveryOptions {
  /** Lease of a claim (default CLAIM_LEASE_SECONDS); keep it well above the longest SMTP send. */
  leaseSeconds?: number
  log?: { warn: (o: object, m?: string) => void }
}

export async function deliverOutboxRow (db: Kysely<Database>, transport: MailTransport, id: string, opts: DeliveryOptions = {}): Promise<DeliveryResult> {
  const leaseSeconds = opts.leaseSeconds ?? CLAIM_LEASE_SECONDS
  const claimedAt = Date.now()
  const token = randomUUID()
  const row = await claimRow(db, id, token, leaseSeconds)
  if (!row) {
    const seen = await db.selectFrom('email_outbox').select(['sent_at']).where('id', '=', id).executeTakeFirst()
    return !seen ? 'missing' : seen.sent_at ? 'already-sent' : 'claimed-elsewhere'
  }
  let receipt: Awaited<ReturnType<MailTransport['send']>>
  try {
    receipt = await transport.send(openOutboxRow(row)) // the bodies are sealed at rest (workers/mail-bodies.ts)
  } catch (err) {
    // Not accepted (or not known to be): the claim goes, so the job's retry may send at once.
    await releaseClaim(db, id, token, err).catch(() => { /* the lease runs out instead */ })
    throw err
  }
  await recordSent(db, id, token, receipt?.response ?? null, claimedAt + leaseSeconds * 1000, opts.log)
  return 'sent'
}

/** Takes the row for this delivery, or nothing when it is sent or under another live claim. */
async function claimRow (db: Kysely<Database>, id: string, token: string, leaseSeconds: number): Promise<OutboxRow | undefined> {
  return db.updateTable('email_outbox')
    .set({ claimed_at: sql`now()`, claim_token: token, attempts: sql`attempts + 1` })
    .where('id', '=', id)
    .where('sent_at', 'is', null)
    .where((eb) => eb.or([eb('claimed_at', 'is', null), eb('claimed_at', '<', sql<Date>`now() - make_interval(secs => ${leaseSeconds})`)]))
    .returningAll()
    .executeTakeFirst()
}

async function releaseClaim (db: Kysely<Database>, id: string, token: string, err: unknown): Promise<void> {
  await db.updateTable('email_outbox')
    .set({ claimed_at: null, claim_token: null, last_error: String((err as Error).message ?? err).slice(0, 500) })
    .where('id', '=', id).where('claim_token', '=', token).where('sent_at', 'is', null)
    .execute()
}

/**
 * Marks the row sent. Idempotent (a repeat changes nothing), so it is retried on any error until the
 * lease would run out: while the claim is live no one else sends this row, and a record that lands
 * in that time means no resend. Past it, the error is thrown and the row may be sent again.
 */
async function recordSent (db: Kysely<Database>, id: string, token: string, response: string | null, leaseEndsAt: number, log?: DeliveryOptions['log']): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await db.updateTable('email_outbox')
        .set({ sent_at: sql`now()`, sent_response: response?.slice(0, 500) ?? null, last_error: null, ...BLANK_BODIES })
        .where('id', '=', id).where('sent_at', 'is', null)
        .returning('claim_token')
        .executeTakeFirst()
      // Another claim holds the row: this send outlived its lease, and the other may send it too.
      if (r && r.claim_token !== token) log?.warn({ outboxId: id }, 'a mail was sent after its claim expired; it may arrive twice (same Message-ID)')
      return
    } catch (err) {
      const wait = Math.min(100 * 2 ** (attempt - 1), 2000)
      if (Date.now() + wait > leaseEndsAt - 1000) throw err
      log?.warn({ outboxId: id, err: (err as Error).message, attempt }, 'could not record a sent mail yet; retrying')
      await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }
}

/** Ids of rows nobody delivered (Redis lost the job, or a process died): for the relay. */
export async function pendingOutboxIds (db: Kysely<Database>, olderThanSeconds: number, limit: number, leaseSeconds = CLAIM_LEASE_SECONDS): Promise<string[]> {
  return (await pendingOutboxRows(db, olderThanSeconds, limit, leaseSeconds)).map((r) => r.id)
}

/** Rows pending for `olderThanSeconds` that no live claim holds, oldest first. */
export async function pendingOutboxRows (db: Kysely<Database>, olderThanSeconds: number, limit: number, leaseSeconds = CLAIM_LEASE_SECONDS): Promise<Array<{ id: string, attempts: number }>> {
  return db.selectFrom('email_outbox').select(['id', 'attempts'])
    .where('sent_at', 'is', null)
    .where('created_at', '<', sql<Date>`now() - make_interval(secs => ${olderThanSeconds})`)
    .where((eb) => eb.or([eb('claimed_at', 'is', null), eb('claimed_at', '<', sql<Date>`now() - make_interval(secs => ${leaseSeconds})`)]))
    .orderBy('id').limit(limit).execute()
}
