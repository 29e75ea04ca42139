// Delivers one outbox row: claim → send → record. A claim is a token and a time on the row, taken by
// one conditional UPDATE, so a job that runs twice (or two workers racing) sends the mail once; a claim
// older than its lease (its worker died) may be taken again. The outcome is recorded idempotently and
// retried while the lease lasts, so a lost database connection after the send does not resend.
// What "once" means at the one instant no process can know is in docs/operations.md (Mail).
// Batched: the claims (and the records) that the concurrent deliveries of one process make in the same
// turn of the event loop go to PostgreSQL as one statement over unnest()ed ids (claimBatch/recordBatch),
// so a worker running 64 deliveries at once pays a few statements per batch, not three per mail; each
// row keeps its own claim token, lease and outcome, exactly as when claimed alone.
import { randomUUID } from 'node:crypto'
import { sql, type Kysely } from 'kysely'
import type { Database, OutboxRow } from '../db/index.ts'
import { BLANK_BODIES, openOutboxRow } from '../plugins/mail/sealed.ts'
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
    receipt = await transport.send(openOutboxRow(row)) // the bodies are sealed at rest (plugins/mail/sealed.ts)
  } catch (err) {
    // Not accepted (or not known to be): the claim goes, so the job's retry may send at once.
    await releaseClaim(db, id, token, err).catch(() => { /* the lease runs out instead */ })
    throw err
  }
  await recordSent(db, id, token, receipt?.response ?? null, claimedAt + leaseSeconds * 1000, opts.log)
  return 'sent'
}

/** Most rows one batched statement claims or records. */
export const BATCH_MAX = 256

/**
 * Collects calls made in one turn of the event loop and runs them as one call of `run` (at most
 * BATCH_MAX items); each caller gets its own answer, or the batch's error.
 */
class Batcher<I, O> {
  #pending: Array<{ item: I, resolve: (o: O) => void, reject: (e: unknown) => void }> = []
  #scheduled = false
  constructor (readonly run: (items: I[]) => Promise<O[]>) {}
  push (item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject })
      if (this.#pending.length >= BATCH_MAX) this.#flush()
      else if (!this.#scheduled) { this.#scheduled = true; setImmediate(() => this.#flush()) }
    })
  }
  #flush (): void {
    this.#scheduled = false
    const batch = this.#pending.splice(0, BATCH_MAX)
    if (this.#pending.length > 0 && !this.#scheduled) { this.#scheduled = true; setImmediate(() => this.#flush()) }
    if (batch.length === 0) return
    this.run(batch.map((b) => b.item)).then(
      (outs) => { for (let i = 0; i < batch.length; i++) batch[i].resolve(outs[i]) },
      (err) => { for (const b of batch) b.reject(err) }
    )
  }
}

interface Claim { id: string, token: string }
interface SentRecord { id: string, response: string | null }

/** One claim batcher per database and lease, one record batcher per database. */
const claimers = new WeakMap<Kysely<Database>, Map<number, Batcher<Claim, OutboxRow | undefined>>>()
const recorders = new WeakMap<Kysely<Database>, Batcher<SentRecord, { claimToken: string | null } | undefined>>()

function claimerOf (db: Kysely<Database>, leaseSeconds: number): Batcher<Claim, OutboxRow | undefined> {
  let byLease = claimers.get(db)
  if (!byLease) { byLease = new Map(); claimers.set(db, byLease) }
  let b = byLease.get(leaseSeconds)
  if (!b) {
    // Two claims of one row in a batch: the UPDATE changes the row once; the token it returns says whose it is.
    b = new Batcher(async (claims) => {
      const rows = (await sql<OutboxRow>`update email_outbox o
        set claimed_at = now(), claim_token = v.token, attempts = o.attempts + 1
        from unnest(${claims.map((c) => c.id)}::bigint[], ${claims.map((c) => c.token)}::text[]) as v(id, token)
        where o.id = v.id and o.sent_at is null
          and (o.claimed_at is null or o.claimed_at < now() - make_interval(secs => ${leaseSeconds}))
        returning o.*`.execute(db)).rows
      const won = new Map(rows.map((r) => [`${r.id}|${r.claim_token}`, r]))
      return claims.map((c) => won.get(`${c.id}|${c.token}`))
    })
    byLease.set(leaseSeconds, b)
  }
  return b
}

function recorderOf (db: Kysely<Database>): Batcher<SentRecord, { claimToken: string | null } | undefined> {
  let b = recorders.get(db)
  if (!b) {
    b = new Batcher(async (records) => {
      const rows = (await sql<{ id: string, claim_token: string | null }>`update email_outbox o
        set sent_at = now(), sent_response = v.response, last_error = null,
          text_body = ${BLANK_BODIES.text_body}, html_body = ${BLANK_BODIES.html_body}
        from unnest(${records.map((r) => r.id)}::bigint[], ${records.map((r) => r.response)}::text[]) as v(id, response)
        where o.id = v.id and o.sent_at is null
        returning o.id, o.claim_token`.execute(db)).rows
      const byId = new Map(rows.map((r) => [String(r.id), r.claim_token]))
      return records.map((r) => (byId.has(r.id) ? { claimToken: byId.get(r.id) ?? null } : undefined))
    })
    recorders.set(db, b)
  }
  return b
}

/** Takes the row for this delivery, or nothing when it is sent or under another live claim. */
async function claimRow (db: Kysely<Database>, id: string, token: string, leaseSeconds: number): Promise<OutboxRow | undefined> {
  return claimerOf(db, leaseSeconds).push({ id, token })
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
      const r = await recorderOf(db).push({ id, response: response?.slice(0, 500) ?? null })
      // Another claim holds the row: this send outlived its lease, and the other may send it too.
      if (r && r.claimToken !== token) log?.warn({ outboxId: id }, 'a mail was sent after its claim expired; it may arrive twice (same Message-ID)')
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
