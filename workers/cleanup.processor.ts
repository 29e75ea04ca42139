// Token cleanup: deletes expired one-time tokens, dead sessions, sent outbox rows, audit events past their tenant's
// retention and finished webhook deliveries in bounded batches, each its own short statement, so a million
// expired rows never hold locks or a transaction for long.
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
  /** Days audit events are kept for a tenant event_settings does not name (tenant `events.retentionDays` default). */
  eventRetentionDays?: number
  /** Stop after this many batches per table in one run (the next run continues). */
  maxBatches?: number
  /** Pause between batches, to leave the database to the hot paths. */
  pauseMs?: number
}

export interface CleanupResult { oneTimeTokens: number, sessions: number, outbox: number, events: number, webhookDeliveries: number, batches: number }

/** Tenant `events.retentionDays` when unset (plugins/events/schema.ts shows it in the tenant schema). */
export const DEFAULT_EVENT_RETENTION_DAYS = 90

export async function cleanupExpired (db: Kysely<Database>, opts: CleanupOptions = {}): Promise<CleanupResult> {
  const batchSize = opts.batchSize ?? 5000
  const tokenKeep = opts.tokenRetentionSeconds ?? 3600
  const sessionKeep = opts.sessionRetentionSeconds ?? 86400
  const outboxKeep = opts.outboxRetentionSeconds ?? 7 * 86400
  const maxBatches = opts.maxBatches ?? 1000
  const pauseMs = opts.pauseMs ?? 10
  const eventDays = opts.eventRetentionDays ?? DEFAULT_EVENT_RETENTION_DAYS
  const result: CleanupResult = { oneTimeTokens: 0, sessions: 0, outbox: 0, events: 0, webhookDeliveries: 0, batches: 0 }

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
  // Audit events past their tenant's retention (event_settings, which the webhook relay keeps from the tenant
  // configs this process does not read). The shortest retention bounds the index range each batch scans.
  const shortest = await sql<{ d: number | null }>`SELECT min(retention_days)::int AS d FROM event_settings`.execute(db)
  const floorDays = Math.min(eventDays, shortest.rows[0]?.d ?? eventDays)
  result.events = await drain(() => sql`
    WITH doomed AS (
      SELECT a.id FROM audit_events a LEFT JOIN event_settings s ON s.tenant_id = a.tenant_id
      WHERE a.created_at < now() - make_interval(days => ${floorDays})
        AND a.created_at < now() - make_interval(days => COALESCE(s.retention_days, ${eventDays}))
      LIMIT ${batchSize} FOR UPDATE OF a SKIP LOCKED
    )
    DELETE FROM audit_events e USING doomed WHERE e.id = doomed.id`)
  // Finished webhook deliveries (delivered or given up) go after the outbox's retention; owed ones stay.
  result.webhookDeliveries = await drain(() => sql`
    WITH doomed AS (
      SELECT id FROM webhook_deliveries
      WHERE (delivered_at IS NOT NULL OR dead_at IS NOT NULL) AND COALESCE(delivered_at, dead_at) < now() - make_interval(secs => ${outboxKeep})
      LIMIT ${batchSize} FOR UPDATE SKIP LOCKED
    )
    DELETE FROM webhook_deliveries d USING doomed WHERE d.id = doomed.id`)
  return result
}
