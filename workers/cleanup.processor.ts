// Token cleanup: deletes expired one-time tokens, dead sessions and sent outbox rows in bounded batches, each its own
// short statement, so a million expired rows never hold locks or a transaction for long.
import { sql, type Kysely, type RawBuilder } from 'kysely'
import type { Database } from '../db/index.ts'

export interface CleanupOptions {
  /** Rows per DELETE statement. */
  batchSize?: number
  /** Keep consumed/expired one-time tokens this long (replay detection answers "replayed" meanwhile). */
  tokenRetentionSeconds?: number
  /** Keep revoked or expired sessions this long (audit, refresh-token replay detection). */
  sessionRetentionSeconds?: number
  /** Keep sent outbox rows (recipient, subject, when; their bodies are blanked at send) this long. */
  outboxRetentionSeconds?: number
  /** Stop after this many batches per table in one run (the next run continues). */
  maxBatches?: number
  /** Pause between batches, to leave the database to the hot paths. */
  pauseMs?: number
}

export interface CleanupResult { oneTimeTokens: number, sessions: number, outbox: number, batches: number }

export async function cleanupExpired (db: Kysely<Database>, opts: CleanupOptions = {}): Promise<CleanupResult> {
  const batchSize = opts.batchSize ?? 5000
  const tokenKeep = opts.tokenRetentionSeconds ?? 3600
  const sessionKeep = opts.sessionRetentionSeconds ?? 86400
  const outboxKeep = opts.outboxRetentionSeconds ?? 7 * 86400
  const maxBatches = opts.maxBatches ?? 1000
  const pauseMs = opts.pauseMs ?? 10
  const result: CleanupResult = { oneTimeTokens: 0, sessions: 0, outbox: 0, batches: 0 }

  // One short statement per batch until a batch finds nothing; not `n < batchSize`: SKIP LOCKED (another
  // cleaner holding rows) can make a batch short while rows remain.
  const drain = async (batch: () => RawBuilder<unknown>): Promise<number> => {
    let total = 0
    for (let i = 0; i < maxBatches; i++) {
      const n = Number((await batch().execute(db)).numAffectedRows ?? 0)
      total += n
      result.batches++
      if (n === 0) break
      if (pauseMs) await new Promise((resolve) => setTimeout(resolve, pauseMs))
    }
    return total
  }
  result.oneTimeTokens = await drain(() => sql`
    WITH doomed AS (
      SELECT id FROM one_time_tokens
      WHERE expires_at < now() - make_interval(secs => ${tokenKeep})
      LIMIT ${batchSize} FOR UPDATE SKIP LOCKED
    )
    DELETE FROM one_time_tokens t USING doomed WHERE t.id = doomed.id`)
  result.sessions = await drain(() => sql`
    WITH doomed AS (
      SELECT id FROM sessions
      WHERE (expires_at IS NOT NULL AND expires_at < now() - make_interval(secs => ${sessionKeep}))
         OR (revoked_at IS NOT NULL AND revoked_at < now() - make_interval(secs => ${sessionKeep}))
      LIMIT ${batchSize} FOR UPDATE SKIP LOCKED
    )
    DELETE FROM sessions s USING doomed WHERE s.id = doomed.id`)
  // Unsent rows stay (the relay still owes them a delivery); their bodies are sealed meanwhile.
  result.outbox = await drain(() => sql`
    WITH doomed AS (
      SELECT id FROM email_outbox
      WHERE sent_at IS NOT NULL AND sent_at < now() - make_interval(secs => ${outboxKeep})
      LIMIT ${batchSize} FOR UPDATE SKIP LOCKED
    )
    DELETE FROM email_outbox o USING doomed WHERE o.id = doomed.id`)
  return result
}
